"""Render the debrief of a good, a heavy and a rushed simulated session to docs/review-*.png.

    python docs/review_screenshots.py            (or: make review-pngs)

Each session is recorded from the simulated glove (real firmware, the demo routine, free
running), reviewed to HTML by `massage-glove review --html`, and the page is drawn by
headless Chromium (Debian's `chromium`), cropped to its content and reduced to 256 colours.
"""
from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from massage_glove import cli

DOCS = Path(__file__).resolve().parent
TRAINEES = ("good", "heavy", "rushed")
SEED = 4
WIDTH, MAX_HEIGHT = 1200, 12000


def record(trainee: str, d: Path) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        cli.main(["live", "--simulate", "--headless", "--json", "--sim-mode", "free", "--routine", "demo",
                  "--sim-trainee", trainee, "--sim-seed", str(SEED), "--trainee", f"simulated {trainee} trainee",
                  "--log-dir", str(d), "--no-bell"])
    return json.loads(buf.getvalue())["gloves"][0]["log"]


def shoot(html: Path, png: Path, chromium: str) -> tuple[int, int]:
    raw = png.with_suffix(".raw.png")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--window-size={WIDTH},{MAX_HEIGHT}", f"--screenshot={raw}", html.as_uri()],
                   check=True, capture_output=True, timeout=180)
    im = Image.open(raw).convert("RGB")
    a = np.asarray(im)
    rows = np.flatnonzero((a < 250).any(axis=(1, 2)))
    im = im.crop((0, 0, im.size[0], int(rows[-1]) + 24))
    # fast octree keeps the small legend patches their colour (median cut merged them)
    im.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(png, optimize=True)
    raw.unlink()
    return im.size


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("needs headless Chromium: apt-get install chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for t in TRAINEES:
            d = Path(tmp) / t
            d.mkdir()
            log = record(t, d)
            html = d / "review.html"
            with contextlib.redirect_stdout(io.StringIO()):
                assert cli.main(["review", log, "--html", str(html)]) == 0
            size = shoot(html, DOCS / f"review-{t}.png", chromium)
            print(f"docs/review-{t}.png {size[0]}x{size[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
