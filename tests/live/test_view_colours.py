"""The band colours stay apart for colour-blind eyes: deuteranopia and protanopia (and
tritanopia) simulated with colorspacious, distances in CAM02-UCS."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from massage_glove.live.state import BAND_COLOURS, BAND_LETTERS, BAND_TEXT_COLOURS, BANDS

colorspacious = pytest.importorskip("colorspacious")

# CAM02-UCS distance below which two of the four band colours would be too alike. One unit
# is about one just-noticeable difference; categorical palettes aim for 20 or more; 30 is
# met here with some margin, for every vision tested.
MIN_DISTANCE = 30.0
VISIONS = {"normal": None, "deuteranopia": "deuteranomaly", "protanopia": "protanomaly",
           "tritanopia": "tritanomaly"}


def rgb(hex_colour):
    return np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])


def seen(colour, cvd_type):
    if cvd_type is None:
        return colour
    space = {"name": "sRGB1+CVD", "cvd_type": cvd_type, "severity": 100}   # 100: full dichromacy
    return np.clip(colorspacious.cspace_convert(colour, space, "sRGB1"), 0, 1)


def distance(a, b):
    ja = colorspacious.cspace_convert(a, "sRGB1", "CAM02-UCS")
    jb = colorspacious.cspace_convert(b, "sRGB1", "CAM02-UCS")
    return float(np.linalg.norm(ja - jb))


@pytest.mark.parametrize("vision", list(VISIONS))
def test_the_four_band_colours_stay_apart(vision):
    cols = {b: seen(rgb(BAND_COLOURS[b]), VISIONS[vision]) for b in BANDS}
    worst = min((distance(cols[a], cols[b]), a, b) for a, b in itertools.combinations(BANDS, 2))
    assert worst[0] >= MIN_DISTANCE, f"{vision}: {worst[1]} and {worst[2]} are {worst[0]:.1f} apart"


def test_the_simulation_can_fail():
    # the palette this one replaced: too much (red) and medium (green) look alike to a deuteranope
    old = {"medium": "#2e9e4f", "too_much": "#d62728"}
    d = distance(seen(rgb(old["medium"]), "deuteranomaly"), seen(rgb(old["too_much"]), "deuteranomaly"))
    assert d < MIN_DISTANCE


def test_lightness_orders_the_bands_and_text_on_them_is_readable():
    # a second cue that survives any colour vision: light is the lightest, medium and too much
    # dark, and the label colour on each band has a contrast ratio of at least 4.5 (WCAG AA)
    def luminance(c):
        c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return float(c @ [0.2126, 0.7152, 0.0722])

    for b in BANDS:
        lb, lt = luminance(rgb(BAND_COLOURS[b])), luminance(rgb(BAND_TEXT_COLOURS[b]))
        hi, lo = max(lb, lt), min(lb, lt)
        assert (hi + 0.05) / (lo + 0.05) >= 4.5, b
    assert len({BAND_LETTERS[b] for b in BANDS}) == 4 and all(BAND_LETTERS[b] for b in BANDS)
