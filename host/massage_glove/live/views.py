"""Which live view to open: the window where there is a display and a GUI toolkit, else the terminal."""
from __future__ import annotations

import os
import sys

# GUI backends to try, in order, when matplotlib has no interactive backend chosen already.
GUI_BACKENDS = ("TkAgg", "QtAgg", "GTK4Agg", "GTK3Agg", "WXAgg", "MacOSX")


def short_control(what: str) -> str:
    """A control's description in a word or two for a key legend: "pause / resume" -> "pause",
    "mark: receiver said ouch" -> "said ouch", "zero the sensors (hands off)" -> "zero"."""
    what = what.split(" (")[0].strip()
    if ":" in what:
        return what.split(":", 1)[1].replace("receiver ", "").strip()
    return what.split()[0] if what else what


def display_available() -> tuple[bool, str]:
    """Whether windows can be shown here, and why (or why not)."""
    if sys.platform == "darwin":
        return True, "macOS"
    if sys.platform.startswith("win"):
        return True, "Windows"
    if os.environ.get("WAYLAND_DISPLAY"):
        return True, f"WAYLAND_DISPLAY={os.environ['WAYLAND_DISPLAY']}"
    if os.environ.get("DISPLAY"):
        return True, f"DISPLAY={os.environ['DISPLAY']}"
    return False, "no display (DISPLAY and WAYLAND_DISPLAY are not set)"


def load_gui_backend() -> tuple[str | None, str]:
    """Switch matplotlib to a GUI backend that works here; (name, "") or (None, why not)."""
    import matplotlib
    from matplotlib import pyplot as plt

    current = matplotlib.get_backend()
    candidates = list(GUI_BACKENDS)
    if os.environ.get("MPLBACKEND"):
        candidates.insert(0, os.environ["MPLBACKEND"])
    elif current.lower() not in ("agg", "template", "pdf", "ps", "svg", "cairo"):
        candidates.insert(0, current)
    errors = []
    for name in dict.fromkeys(candidates):
        try:
            # fails when the toolkit is missing, and (on Linux) when the display cannot be
            # reached, e.g. a stale DISPLAY
            plt.switch_backend(name)
        except Exception as e:
            errors.append(f"{name}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
            continue
        return name, ""
    plt.switch_backend("Agg")
    if any("headless" in e for e in errors):
        return None, "the display cannot be reached"
    return None, "no GUI toolkit loads (" + errors[0][:100] + ")"


def choose_view(source, headless: bool, *, stream=None, quiet: bool = False, speak: bool = False):
    """The window (MplView) when a display and a GUI backend are available, else TermView.

    Says which view and why in one line on `stream` (stderr by default). Both views play
    the session's sound cues (live/sound.py) unless `quiet`; `speak` adds spoken prompts.
    """
    out = stream if stream is not None else sys.stderr
    from .sound import make_sound
    sound = make_sound(source, quiet=quiet, speak=speak)
    if headless:
        view, why = _term(source, sound), "terminal view (--headless)"
    else:
        ok, where = display_available()
        if not ok:
            view, why = _term(source, sound), f"terminal view: {where}"
        else:
            name, problem = load_gui_backend()
            if name is None:
                view, why = _term(source, sound), f"terminal view: {where}, but {problem}"
            else:
                from .view_mpl import MplView
                view, why = MplView(source, sound=sound), f"live window ({name} on {where})"
    print(why + ("" if sound is not None else ", no sound (--quiet)"), file=out, flush=True)
    return view


def _term(source, sound=None):
    from .view_term import TermView
    return TermView(source, sound=sound)
