# Draws hardware/placement.svg and hardware/placement.png: where each sensor sits on the hand, from firmware/glove/config.py.
#
#     python hardware/placement.py
#
# One row per hand the board carries (config.HANDS), palm side and back (knuckle side).
# Each sensor is drawn to scale (FSR 402: 18.3 mm disc, 12.7 mm active; FSR 406: 43.7 mm
# square, 38.1 mm active) and labelled with its channel name and multiplexer input; its
# tail is drawn as it is routed (to the side of the finger, never across a crease), with
# the crimp connector at its end. The hand outline is a typical adult hand in millimetres.
from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import design  # noqa: E402

SVG_PATH = design.HARDWARE_DIR / "placement.svg"
PNG_PATH = design.HARDWARE_DIR / "placement.png"

# --- A right hand seen from the palm side (thumb on the viewer's right), in mm ----------
# Origin at the middle of the wrist crease, y towards the fingertips. Other views mirror x.
# finger: (base x, base y, tilt in degrees, positive leaning to -x, length, width)
FINGERS = {
    "little": (-31.0, 84.0, 9.0, 55.0, 16.0),
    "ring": (-11.0, 92.0, 3.0, 70.0, 17.5),
    "middle": (9.0, 95.0, -1.0, 77.0, 18.0),
    "index": (29.0, 90.0, -6.0, 70.0, 17.5),
    "thumb": (34.0, 34.0, -46.0, 70.0, 22.0),
}
PALM = [(-30, 0), (28, 0), (38, 18), (44, 48), (40, 80), (37, 96), (-20, 100), (-39, 90),
        (-42, 55), (-38, 18)]
CUFF = [(-31, -30), (29, -30), (28, 0), (-30, 0)]

# Sensor sites: view ("palm" or "back"); position as (finger, distance from the finger's
# base along it, mm) or a point; the side its tail leaves towards (+1: the thumb side of
# the finger, -1: away from it; the tail then runs along the side of the finger, towards
# the hand, where bending stretches the skin least); and where its label goes (x, y).
SITE_LAYOUT = {
    "thumb": ("palm", ("thumb", 56.0), +1, (80.0, 118.0)),
    "index": ("palm", ("index", 59.0), +1, (54.0, 178.0)),
    "middle": ("palm", ("middle", 66.0), +1, (10.0, 190.0)),
    "ring": ("palm", ("ring", 59.0), -1, (-34.0, 178.0)),
    "little": ("palm", ("little", 44.0), -1, (-74.0, 150.0)),
    "knuckle_index": ("back", ("index", 21.0), +1, (58.0, 160.0)),
    "knuckle_middle": ("back", ("middle", 22.0), -1, (5.0, 180.0)),
    "palm_heel": ("palm", (0.0, 27.0), -1, (42.0, -40.0)),
}
MOTOR_AT = (4.0, 52.0)          # back of the hand, over the third metacarpal
CABLE_EXIT_AT = (0.0, -22.0)    # on the back of the cuff

SIZE_MM = {"fsr402": (18.3, 12.7), "fsr406": (43.7, 38.1)}   # overall, active


def _finger_frame(name):
    bx, by, tilt, length, width = FINGERS[name]
    a = math.radians(tilt)
    ux, uy = -math.sin(a), math.cos(a)          # along the finger
    return bx, by, ux, uy, length, width


def _capsule(name, n=24):
    """Outline of a finger: a rectangle with a round tip."""
    bx, by, ux, uy, length, width = _finger_frame(name)
    px, py = uy, -ux                            # across the finger (to +x when upright)
    r = width / 2
    tipx, tipy = bx + ux * (length - r), by + uy * (length - r)
    pts = [(bx - px * r, by - py * r), (tipx - px * r, tipy - py * r)]
    a0 = math.atan2(-py, -px)
    for i in range(1, n):
        t = a0 - math.pi * i / n
        pts.append((tipx + r * math.cos(t), tipy + r * math.sin(t)))
    pts += [(tipx + px * r, tipy + py * r), (bx + px * r, by + py * r)]
    return pts


def site_geometry(site, cls="fsr402"):
    """(view, centre, tail polyline, label position), all in the right-palm frame (mm)."""
    if site not in SITE_LAYOUT:
        raise KeyError("hardware/placement.py has no position for sensor site %r; add it to "
                       "SITE_LAYOUT" % site)
    view, where, side, label = SITE_LAYOUT[site]
    r = SIZE_MM[cls][0] / 2
    if isinstance(where[0], str):
        bx, by, ux, uy, _, _ = _finger_frame(where[0])
        c = (bx + ux * where[1], by + uy * where[1])
        px, py = uy * side, -ux * side         # across the finger, to the chosen side
        t0 = (c[0] + px * r, c[1] + py * r)
        t1 = (t0[0] + px * 2.5, t0[1] + py * 2.5)
        t2 = (t1[0] - ux * 17.0, t1[1] - uy * 17.0)   # along the side, towards the hand
        tail = [t0, t1, t2]
    else:
        c = where
        t0 = (c[0] + side * r, c[1])
        tail = [t0, (t0[0] + side * 10.0, t0[1])]
    return view, c, tail, label


def fingerprint(cfg):
    return design.fingerprint("placement", tuple(cfg.HANDS), tuple(cfg.SITES), tuple(cfg.channels()),
                              tuple(sorted(cfg.BUZZER_PINS.items())), SITE_LAYOUT, FINGERS,
                              MOTOR_AT)


def _panel(ax, cfg, hand, view, mirror):
    from matplotlib.patches import Circle, Polygon, Rectangle

    m = -1.0 if mirror else 1.0

    def X(p):
        return (m * p[0], p[1])

    skin, edge = "#f3ddc8", "#7a5a44"
    ax.add_patch(Polygon([X(p) for p in CUFF], closed=True, fc="#dfe6ee", ec="#7a8a99", lw=1))
    for f in FINGERS:
        ax.add_patch(Polygon([X(p) for p in _capsule(f)], closed=True, fc=skin, ec=edge, lw=1.2))
    ax.add_patch(Polygon([X(p) for p in PALM], closed=True, fc=skin, ec=edge, lw=1.2))

    rows = {r["site"]: r for r in design.channel_rows(cfg) if r["hand"] == hand}
    for site, cls in cfg.SITES:
        v, c, tail, label = site_geometry(site, cls)
        if v != view:
            continue
        r = rows[site]
        cx, cy = X(c)
        overall, active = SIZE_MM[cls]
        # tail: from the sensor's edge to its crimp connector
        tail = [X(p) for p in tail]
        ax.plot([p[0] for p in tail], [p[1] for p in tail], color="#2a6f97", lw=4,
                solid_joinstyle="round", zorder=5)
        te = tail[-1]
        ax.add_patch(Rectangle((te[0] - 3, te[1] - 3), 6, 6, fc="#444444", ec="k", zorder=6))
        if cls == "fsr406":
            ax.add_patch(Rectangle((cx - overall / 2, cy - overall / 2), overall, overall,
                                   fc="#cfe3f0", ec="#2a6f97", lw=1.2, zorder=4))
            ax.add_patch(Rectangle((cx - active / 2, cy - active / 2), active, active,
                                   fc="#9cc3dd", ec="#2a6f97", lw=0.8, ls="--", zorder=5))
        else:
            ax.add_patch(Circle((cx, cy), overall / 2, fc="#cfe3f0", ec="#2a6f97", lw=1.2,
                                zorder=4))
            ax.add_patch(Circle((cx, cy), active / 2, fc="#9cc3dd", ec="#2a6f97", lw=0.8,
                                ls="--", zorder=5))
        ax.plot([cx], [cy], marker="+", color="#1d3557", zorder=6)
        lx, ly = X(label)
        ax.annotate("%s\nch %d, mux %s\n%s" % (r["name"], r["index"], r["mux_label"].split(" (")[0],
                                                cls.upper().replace("FSR", "FSR ")),
                    xy=(cx, cy), xytext=(lx, ly), ha="center", va="center", fontsize=8.5,
                    bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="#1d3557", lw=0.8),
                    arrowprops=dict(arrowstyle="-", color="#1d3557", lw=0.8), zorder=7)
    if view == "back":
        mx, my = X(MOTOR_AT)
        ax.add_patch(Circle((mx, my), 5.0, fc="#e9c46a", ec="#8a6d1d", lw=1.2, zorder=4))
        ax.annotate("vibration motor\n(driver on GP%d)" % cfg.BUZZER_PINS[hand], xy=(mx, my),
                    xytext=(mx + m * -4, my - 30), ha="center", fontsize=8.5,
                    arrowprops=dict(arrowstyle="-", color="#8a6d1d", lw=0.8), zorder=7)
        ex, ey = X(CABLE_EXIT_AT)
        ax.add_patch(Rectangle((ex - 9, ey - 4), 18, 8, fc="#444444", ec="k", zorder=4))
        ax.annotate("cable to board\n(12-way, strain-relieved)", xy=(ex, ey - 4),
                    xytext=(ex, ey - 24), ha="center", va="top", fontsize=8.5,
                    arrowprops=dict(arrowstyle="-", color="k", lw=0.8), zorder=7)
    side = "palm side" if view == "palm" else "back (knuckle side)"
    ax.set_title("%s hand, %s" % (hand.capitalize(), side), fontsize=12)
    ax.set_xlim(-95, 95)
    ax.set_ylim(-62, 205)
    ax.set_aspect("equal")
    ax.axis("off")


def render(cfg, svg_path=SVG_PATH, png_path=PNG_PATH):
    """Draw the sensor placement for board config `cfg` to SVG and PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    for site, _ in cfg.SITES:
        site_geometry(site)        # fails with a clear message for an unknown site
    plt.rcParams["svg.fonttype"] = "none"
    plt.rcParams["svg.hashsalt"] = "massage-glove"
    hands = list(cfg.HANDS)
    fig, axes = plt.subplots(len(hands), 2, figsize=(13, 8.2 * len(hands)), squeeze=False)
    for i, hand in enumerate(hands):
        # the palm view of a right hand has the thumb on the viewer's right
        right = hand == "right"
        _panel(axes[i][0], cfg, hand, "palm", mirror=not right)
        _panel(axes[i][1], cfg, hand, "back", mirror=right)
    handles = [Patch(fc="#cfe3f0", ec="#2a6f97", label="FSR, overall outline"),
               Patch(fc="#9cc3dd", ec="#2a6f97", ls="--", label="active area (centre the puck here)"),
               Line2D([], [], color="#2a6f97", lw=4, label="FSR tail (flat, no creases)"),
               Patch(fc="#444444", ec="k", label="crimp connector + bleed resistor, under heatshrink")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=10, frameon=False,
               bbox_to_anchor=(0.5, 0.005))
    fig.suptitle("massage-glove: sensor placement (to scale, mm)\n"
                 "channel names and multiplexer inputs from firmware/glove/config.py",
                 fontsize=14)
    fig.text(0.99, 0.003, "hardware/placement.py; config fingerprint %s" % fingerprint(cfg),
             ha="right", va="bottom", fontsize=7, color="#555555")
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    meta = {"Title": "massage-glove sensor placement",
            "Description": "config fingerprint %s" % fingerprint(cfg), "Date": None,
            "Creator": "hardware/placement.py"}
    fig.savefig(svg_path, metadata=meta)
    fig.savefig(png_path, dpi=90, metadata={"Title": meta["Title"],
                                           "Description": meta["Description"],
                                           "Software": "hardware/placement.py"})
    plt.close(fig)


def main(argv=None):
    render(design.load_config())
    print("wrote %s and %s" % (SVG_PATH, PNG_PATH), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
