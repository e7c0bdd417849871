"""Make docs/class-view.png: the class view's window (TkAgg) under Xvfb, six simulated
trainees replaying a heavy trainee's recorded session on loopback LSL, taken once one of
them is in too much.

    python docs/class_screenshot.py LOG [--out docs/class-view.png]

Starts its own Xvfb on a free display and stops it (and every trainee) at the end.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np
from pathlib import Path

NAMES = ("Ana", "Ben", "Chloé", "Dev", "Eli", "<b>Fay</b>")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "class-view.png"))
    ap.add_argument("--display", default=None, help="default: the first free from :90")
    a = ap.parse_args(argv)
    if a.display is None:
        n = next(n for n in range(90, 200) if not os.path.exists(f"/tmp/.X{n}-lock"))
        a.display = f":{n}"
    xvfb = subprocess.Popen(["Xvfb", a.display, "-screen", "0", "1600x900x24", "-nolisten", "tcp"],
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        os.environ["DISPLAY"] = a.display
        from massage_glove.lsl_config import use_loopback
        use_loopback(f"massage-glove-shot-{os.getpid()}")
        import matplotlib
        matplotlib.use("TkAgg")
        import matplotlib.pyplot as plt
        from massage_glove.classview.source import LslClass
        from massage_glove.classview.trainees import Trainee
        from massage_glove.classview.views import ClassFigure
        from massage_glove.log import load
        from massage_glove.replay import logged_alerts
        slog = load(a.log)
        t0 = float(slog.samples.t_device_s[0])
        tm = [x["t_device_s"] - t0 for x in logged_alerts(slog) if x["rule"] == "too_much"]
        first_stage = min(e.t_device_s for e in slog.events if e.kind == "stage") - t0
        # one trainee a few seconds before a too-much moment; the others where nothing
        # too much happens around the time of the picture
        dur = float(slog.samples.t_device_s[-1]) - t0
        calm = [x for x in np.arange(first_stage + 2, dur - 30, 7.0)
                if not any(x - 10 <= m <= x + 40 for m in tm)]
        starts = [tm[len(tm) // 2] - 6.0] + calm[::max(1, len(calm) // (len(NAMES) - 1))][:len(NAMES) - 1]
        trainees = [Trainee(slog, n, start_s=s).start() for n, s in zip(NAMES, starts)]
        while not all(t.session.position_s() >= t.start_s for t in trainees):
            time.sleep(0.1)
        src = LslClass().start()
        with plt.rc_context({"toolbar": "None"}):
            fig = plt.figure(figsize=(12, 5.6), dpi=100)
        try:
            fig.canvas.manager.set_window_title("massage-glove class")
        except Exception:
            pass
        cf = ClassFigure(fig)
        state = {"t0": time.monotonic(), "shot": False}
        timer = fig.canvas.new_timer(interval=100)

        def tick():
            tiles = src.tiles()
            cf.draw(tiles, time.monotonic())
            fig.canvas.draw_idle()
            ready = len(tiles) == len(NAMES) and any(t.reason == "too much" for t in tiles) \
                and all(t.hand_band for t in tiles) and time.monotonic() - state["t0"] > 4
            if (ready and not state["shot"]) or time.monotonic() - state["t0"] > 90:
                state["shot"] = True
                fig.canvas.flush_events()
                w = fig.canvas.get_tk_widget()
                top = w.winfo_toplevel()
                geo = f"{top.winfo_width()}x{top.winfo_height()}+{top.winfo_rootx()}+{top.winfo_rooty()}"
                subprocess.run(["import", "-window", "root", "-crop", geo, a.out], check=False)
                timer.stop()
                plt.close(fig)
        timer.add_callback(tick)
        timer.start()
        plt.show(block=True)
        src.close()
        for t in trainees:
            t.stop()
        print(a.out)
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
