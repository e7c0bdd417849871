"""A screenshot as a person with red-green colour blindness would see it (colorspacious).

    python docs/screenshots/simulate_cvd.py in.png out.png deuteranomaly|protanomaly [--severity 100]

The same simulation (Machado et al. 2009, in colorspacious' "sRGB1+CVD" space) that
tests/live/test_view_colours.py uses to check the band colours.
"""
from __future__ import annotations

import argparse

import numpy as np
from colorspacious import cspace_convert
from PIL import Image


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("cvd_type", choices=("deuteranomaly", "protanomaly", "tritanomaly"))
    ap.add_argument("--severity", type=float, default=100)
    a = ap.parse_args()
    rgb = np.asarray(Image.open(a.src).convert("RGB"), float) / 255.0
    space = {"name": "sRGB1+CVD", "cvd_type": a.cvd_type, "severity": a.severity}
    sim = np.clip(cspace_convert(rgb, space, "sRGB1"), 0, 1)
    Image.fromarray((sim * 255).round().astype(np.uint8)).save(a.out)


if __name__ == "__main__":
    main()
