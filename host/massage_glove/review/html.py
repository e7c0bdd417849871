"""The review as one self-contained HTML file: Jinja2 templates (package data,
review/templates/) with autoescape on, matplotlib figures embedded as PNG.

Every name in the page (trainee, glove, regions, sensors, hands, alert texts, marks)
came from a log, a device or a data file: it is data, escaped by the template, never
markup. Figure labels are drawn as plain text (matplotlib's mathtext is off for them).
"""
from __future__ import annotations

import base64
import io

import jinja2
import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..backmap import REGION_SHAPES, back_svg  # noqa: E402
from ..live.state import BAND_COLOURS, BAND_TEXT_COLOURS  # noqa: E402
from ..signal.bands import BANDS  # noqa: E402
from . import debrief as D  # noqa: E402

SEV_COLOUR = {"info": "#555555", "warning": "#b86e00", "danger": "#c0141c"}
HAND_STYLE = [("#1b1b1b", "-"), ("#6a3d9a", "-")]
STAGE_COLOURS = ["#4f8fd6", "#2e9e4f", "#f0a020", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
                 "#bcbd22", "#9467bd", "#d62728"]
BAND_ALPHA = 0.22            # the bands behind the force: the live view's colours, pale
MAX_POINTS = 4000            # points per line in the timeline (min/max of each bucket kept)

_ENV = None


def environment() -> jinja2.Environment:
    """The templates' environment: autoescape always on, undefined names are errors."""
    global _ENV
    if _ENV is None:
        _ENV = jinja2.Environment(loader=jinja2.PackageLoader("massage_glove", "review/templates"),
                                  autoescape=True, undefined=jinja2.StrictUndefined,
                                  trim_blocks=True, lstrip_blocks=True)
        _ENV.filters["num"] = _fmt_num
        _ENV.filters["pc"] = _fmt_pc
        _ENV.filters["sevclass"] = D.severity_class
    return _ENV


def _fmt_num(x, digits: int = 0, unit: str = "") -> str:
    if x is None or x == "" or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    return f"{x:.{digits}f}{(' ' + unit) if unit else ''}"


def _fmt_pc(x) -> str:
    """A fraction 0..1 as a whole percentage."""
    return "-" if x is None else f"{100 * x:.0f} %"


def _text(s) -> str:
    """A label for a figure: plain text (a $ would switch matplotlib to mathtext)."""
    return str(s).replace("$", r"\$")


def _png(fig) -> str:
    """A figure as a data: URI (PNG)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _envelope(t: np.ndarray, f: np.ndarray, n_max: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ~n_max points: each bucket's max (peaks are what the limit is about)."""
    step = max(1, len(f) // n_max)
    if step == 1:
        return t, f
    m = (len(f) // step) * step
    return t[:m:step], np.nanmax(f[:m].reshape(-1, step), axis=1)


# --- figures ---------------------------------------------------------------------------

def timeline_figure(S, names: D.Names, episodes, marks):
    """One panel per sensor class: each hand's highest sensor of that class, against that
    class's own band edges for the region of the moment (bands shaded behind, the allowed
    limit as a red line); alert episodes as spans, marks as triangles with force and region."""
    classes = list(dict.fromkeys(c.sensor_class for c in S.device.channels))
    fig, axes = plt.subplots(len(classes), 1, figsize=(14.2, 2.9 * len(classes) + 0.6),
                             sharex=True, squeeze=False)
    runs = [(a, b) for a, b in D.label_runs(S.region)]
    t_start, t_end = D.work_span(S)
    for k, cls in enumerate(classes):
        ax = axes[k, 0]
        cols = np.array([c.sensor_class == cls for c in S.device.channels])
        top = 1.0
        for a, b in runs:
            r = S.region[a]
            P = S.edges.get(r)
            t0, t1 = float(S.t[a]), float(S.t[b - 1])
            if P is None:
                continue
            e = P.edges_n[cols].min(axis=0)
            lim = float(P.limit_n[cols].min())
            top = max(top, float(e[-1]) * 1.35, lim * 1.35)
            lo = 0.0
            for j, band in enumerate(BANDS):
                hi = float(e[j]) if j < len(e) else float(e[-1]) * 10
                ax.fill_between([t0, t1], lo, hi, color=BAND_COLOURS[band], alpha=BAND_ALPHA, lw=0)
                lo = hi
            ax.plot([t0, t1], [lim, lim], color=BAND_COLOURS["too_much"], lw=1.3, ls="--")
        for h, hand in enumerate(S.hands):
            hc = cols & (S.hand_of == h)
            if not hc.any() or not S.n:
                continue
            f = np.where(S.fault[:, hc] != 0, np.nan, S.force[:, hc])
            f = np.nanmax(np.where(np.isnan(f), -np.inf, f), axis=1)
            f = np.where(np.isfinite(f), f, np.nan)
            t, fe = _envelope(S.t, f)
            top = max(top, float(np.nanmax(fe)) * 1.25 if np.isfinite(fe).any() else 0.0)
            colour, ls = HAND_STYLE[h % len(HAND_STYLE)]
            ax.plot(t, fe, color=colour, ls=ls, lw=0.8, label=_text(names.hand(hand)))
        # alert episodes: a strip along the top of the panel per severity (danger on top),
        # so the bands and the force stay readable underneath
        for ep in episodes:
            cl = [names.sensor_classes_of(x) for x in ep.sensors]
            if all(c is not None for c in cl) and cls not in set().union(*cl):
                continue            # an episode of the other class's sensors only
            sc = D.severity_class(ep.severity)
            y0 = {"danger": 0.94, "warning": 0.88, "info": 0.82}[sc]
            ax.axvspan(ep.t0_s, max(ep.t1_s, ep.t0_s + 0.5), ymin=y0, ymax=y0 + 0.055,
                       color=SEV_COLOUR[sc], alpha=0.9, lw=0)
        ax.set_ylim(0, top)
        for m in marks:
            fm = max(m["force_n"].values()) if m["force_n"] else 0.0
            ax.axvline(m["t_s"], color="#000", lw=0.8, ls=":")
            ax.plot([m["t_s"]], [top * 0.78], marker="v", color="#000", ms=7)
            if k == 0:
                label = (m["tag"] or m["text"] or "mark")
                ax.annotate(_text(f"{label}: {fm:.0f} N\n{m['region_name']}"), (m["t_s"], top * 0.78),
                            xytext=(4, -2), textcoords="offset points", fontsize=7, va="top",
                            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#999", "alpha": 0.9})
        ax.set_ylabel(_text(names.sensor_class(cls).replace(" (", "\n(")) + ", N", fontsize=8)
        ax.grid(alpha=0.25)
        ax.set_xlim(t_start, t_end)
    ax0 = axes[0, 0]
    shown = 0
    for a, b in runs:
        if S.region[a] is None:
            continue
        for k in range(len(classes)):
            axes[k, 0].axvline(S.t[a], color="#666", lw=0.6)
        # the region's name over the middle of its time, two lines, in two staggered rows
        mid = (max(float(S.t[a]), t_start) + float(S.t[b - 1])) / 2
        ax0.text(mid, 1.03 + 0.2 * (shown % 2), _text(names.region(S.region[a]).replace(" (", "\n(")),
                 transform=ax0.get_xaxis_transform(), ha="center", va="bottom", fontsize=7, linespacing=1.0)
        shown += 1
    from matplotlib.patches import Patch
    from matplotlib.lines import Line2D
    handles, _ = ax0.get_legend_handles_labels()
    handles += [Line2D([], [], color=BAND_COLOURS["too_much"], ls="--", label="the region's limit")]
    handles += [Patch(color=BAND_COLOURS[b], alpha=BAND_ALPHA * 1.5, label=_text(names.band(b))) for b in BANDS]
    handles += [Patch(color=SEV_COLOUR[s], alpha=0.9, label=_text(names.severity(s) + " episode (top strip)"))
                for s in ("danger", "warning") if any(D.severity_class(e.severity) == s for e in episodes)]
    if marks:
        handles.append(Line2D([], [], marker="v", color="#000", ls="", label="mark"))
    axes[-1, 0].legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=6, fontsize=8,
                       frameon=False)
    axes[-1, 0].set_xlabel("session time, s")
    return fig


def band_time_figure(S, names: D.Names, seconds: dict):
    regs = list(seconds.items())
    fig, ax = plt.subplots(figsize=(12.6, 0.5 * max(3, len(regs)) + 1.2))
    y = np.arange(len(regs))
    left = np.zeros(len(regs))
    for b in ("none", *BANDS):
        v = np.array([d[b] for _, d in regs])
        ax.barh(y, v, left=left, color=BAND_COLOURS[b], label=_text(names.band(b if b != "none" else None)))
        for i in range(len(regs)):
            if v[i] >= 4:
                ax.text(left[i] + v[i] / 2, i, f"{v[i]:.0f}", ha="center", va="center", fontsize=7,
                        color=BAND_TEXT_COLOURS.get(b, "#1a1a1a"))
        left += v
    xmax = float(left.max()) if len(left) else 1.0
    for i, (_, d) in enumerate(regs):
        ax.text(left[i] + xmax * 0.01, i, _text(f"allowed up to {names.band(d['allowed']).lower()}")
                if d["allowed"] else "", va="center", fontsize=8)
    ax.set_yticks(y, [_text(names.region(r)) for r, _ in regs])
    ax.set_xlim(0, xmax * 1.28 + 1)
    ax.set_xlabel("seconds in each band (the higher of the two hands in contact)")
    ax.invert_yaxis()
    ax.legend(ncol=5, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    return fig


def stroke_peaks_figure(S, names: D.Names, groups: list[dict]):
    fig, ax = plt.subplots(figsize=(14.2, 3.4))
    stages = list(dict.fromkeys(g["stage"] for g in groups))
    colour = {s: STAGE_COLOURS[i % len(STAGE_COLOURS)] for i, s in enumerate(stages)}
    markers = ["o", "^", "s", "D"]
    seen = set()
    for g in groups:
        h = S.hands.index(g["hand"]) if g["hand"] in S.hands else 0
        lab = None
        if g["stage"] not in seen:
            seen.add(g["stage"])
            lab = _text(names.stage(g["stage"]))
        ax.plot(g["t_s"], g["peak_n"], markers[h % 4], ms=3, color=colour[g["stage"]], label=lab, alpha=0.8)
        if len(g["t_s"]) >= 2:
            ax.plot([g["t_s"][0], g["t_s"][-1]], [g["median_n"]] * 2, color=colour[g["stage"]], lw=1.5)
    ax.set_xlabel("session time, s  (line: the stage's median peak; " + ", ".join(
        f"{m} {names.hand(h).lower()}" for m, h in zip(("circles", "triangles"), S.hands)) + ")")
    ax.set_ylabel("stroke peak, N\n(hand total)")
    ax.grid(alpha=0.3)
    if S.n:
        ax.set_xlim(*D.work_span(S))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.3), frameon=False)
    return fig


def comparison_figure(cmp: dict, names: D.Names):
    rows = [(r, d) for r, d in cmp.items() if d["trainee"] or d["instructor"]]
    fig, ax = plt.subplots(figsize=(12.6, 0.5 * max(3, len(rows)) + 1))
    y = np.arange(len(rows))
    for k, (who, col) in enumerate((("trainee", "#4f8fd6"), ("instructor", "#f0a020"))):
        med = [d[who]["median_n"] if d[who] else 0 for _, d in rows]
        p90 = [d[who]["p90_n"] if d[who] else 0 for _, d in rows]
        ax.barh(y + (k - 0.5) * 0.38, p90, height=0.36, color=col, alpha=0.35)
        ax.barh(y + (k - 0.5) * 0.38, med, height=0.36, color=col, label=f"{who} (median; pale: 90th percentile)")
    ax.set_yticks(y, [_text(names.region(r)) for r, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("hand total force while on the body, N")
    ax.legend(fontsize=8)
    return fig


# --- the page --------------------------------------------------------------------------

def _yes(x) -> str:
    return "yes" if x else "no"


def _habits(r: dict, names: D.Names) -> list[dict]:
    w, c, bd = r["warm_up"], r["cool_down"], r["score"]["breakdown"]
    lost = lambda p: (bd.get(p) or {}).get("lost") or 0.0  # noqa: E731
    rows = [
        ("Warm-up", f"{w['done_s']:.0f} s of light to medium work before the first firm pressure"
                    + (f" (at {w['first_firm_s']:.0f} s)" if w.get("first_firm_s") is not None else " (no firm pressure)")
                    + f"; needs {w['needed_s']:.0f} s. Light rising to medium: {_yes(w.get('light_rising_to_medium'))}.",
         w["ok"]),
        ("Hands on the person", f"{100 * r['hands_on']['fraction']:.0f} % of the {r['hands_on']['working_s']:.0f} s of work.",
         lost("hands_on") < 0.5),
        ("Left/right balance", f"One hand did {r['balance']['ratio']:.2f} times the other's work ("
         + ", ".join(f"{names.hand(k).lower()} {v:.0f} N·s" for k, v in r["balance"]["work_ns"].items()) + ").",
         lost("balance") < 0.5),
        ("Coverage", f"{len(r['coverage']['covered'])} of {len(r['coverage']['targets'])} regions worked long enough"
         + (": missed " + ", ".join(names.region(m) for m in r["coverage"]["missed"]) if r["coverage"]["missed"] else "")
         + (f"; most of the time on {names.region_text(r['coverage']['largest'])}"
            if r["coverage"].get("lopsided") and r["coverage"].get("largest") else "") + ".",
         not r["coverage"]["missed"] and not r["coverage"].get("lopsided")),
        ("Fatigue", "Not enough strokes in the same stage early and late to tell."
         if r["fatigue"].get("late_to_early_peak_ratio") is None else
         f"Late stroke peaks were {100 * r['fatigue']['late_to_early_peak_ratio']:.0f} % of the early ones.",
         not r["fatigue"].get("tiring")),
        ("Cool-down", "The session was too short to tell." if c.get("light_fraction") is None else
         f"The last part was light {100 * c['light_fraction']:.0f} % of the time; lighter than the session: "
         f"{_yes(c.get('lighter'))}; slower: {_yes(c.get('slower'))}.", c.get("ok")),
    ]
    return [{"name": a, "text": b, "ok": bool(ok)} for a, b, ok in rows]


def _stroke_rows(S, r: dict, names: D.Names) -> list[dict]:
    """One row per stroke run (stage, region, technique), the hands' figures side by side
    ("right / left"), in time order."""
    hands = [h for h in S.hands if any(s["hand"] == h for s in r["strokes"]["segments"])]
    groups: dict = {}
    for s in sorted(r["strokes"]["segments"], key=lambda s: s["t0_s"]):
        key = (s.get("stage"), s.get("region"), s.get("technique"))
        g = groups.get(key)
        if g is None or any(x["hand"] == s["hand"] for x in g):
            key = key + (s["t0_s"],) if g is not None else key
            g = groups.setdefault(key, [])
        g.append(s)

    def per_hand(g, fn):
        by = {x["hand"]: x for x in g}
        return " / ".join(fn(by[h]) if h in by else "-" for h in hands)
    rows = []
    for g in groups.values():
        s0 = g[0]
        flags = []
        for x in g:
            f = [f for f, on in (("rushing", x.get("rushing")), ("inconsistent pressure", x.get("inconsistent_pressure")),
                                 ("irregular rhythm", x.get("irregular_rhythm"))) if on]
            if f:
                flags.append(f"{names.hand(x['hand']).lower()}: {', '.join(f)}")
        rows.append({"stage": names.stage(s0.get("stage")), "region": names.region(s0.get("region")),
                     "technique": names.technique(s0.get("technique")),
                     "strokes": per_hand(g, lambda x: str(x["strokes"])),
                     "rate": per_hand(g, lambda x: _fmt_num(x.get("rate_per_min"))),
                     "usual": _fmt_num(s0.get("usual_rate_per_min")),
                     "rhythm_cv": per_hand(g, lambda x: _fmt_pc(x.get("rhythm_cv"))),
                     "peak_cv": per_hand(g, lambda x: _fmt_pc(x.get("peak_cv"))),
                     "peak_median_n": per_hand(g, lambda x: _fmt_num(x.get("peak_median_n"), 1)),
                     "flags": "; ".join(flags)})
    return rows


def context(S, review: dict, comparison: dict | None = None) -> dict:
    """Everything the template shows, as plain values (strings and numbers)."""
    r = review
    names = D.Names.for_session(S)
    alerts = D.session_alerts(S)
    episodes = D.alert_episodes(alerts, names)
    mk = D.marks(S, names)
    reasons = D.lost_reasons(r, names)
    seconds = D.band_seconds_by_region(S)
    groups = D.stroke_peaks_by_stage(S, r)
    bd = r["score"]["breakdown"]
    top = max([float(b.get("max") or 0.0) for b in bd.values()] + [1e-9])
    score_rows = [{"name": names.part(p), "points": b.get("points"), "max": b.get("max"),
                   "lost": b.get("lost") or 0.0, "reason": reasons.get(p, ""),
                   # bar widths: numbers computed here, never text from the review
                   "track_pc": round(100.0 * float(b.get("max") or 0.0) / top, 1),
                   "fill_pc": round(100.0 * float(b.get("points") or 0.0) / float(b["max"]), 1)
                   if b.get("max") else 0.0} for p, b in bd.items()]
    regions = []
    for k, d in r["regions"].items():
        regions.append({"name": names.region(k), "seconds": d["seconds"], "hands_on_s": d["hands_on_s"],
                        "allowed": names.band(d["allowed"]), "pct_in_allowed": d.get("pct_in_allowed"),
                        "by_band": [d["pct_by_band"].get(b, 0.0) for b in BANDS],
                        "alerts": len(d.get("alerts") or [])})
    # the back with time and % in the allowed band per region (back_svg escapes every text; as
    # an <img>, an SVG runs no script whatever it holds)
    back = back_svg({k: {"seconds": float(d["seconds"]), "pct_in_band": d.get("pct_in_allowed")}
                     for k, d in r["regions"].items()},
                    {k: names.region(k) for k in [*REGION_SHAPES, *r["regions"]]})
    segments = _stroke_rows(S, r, names)
    holds = [{"hand": names.hand(x["hand"]), "region": names.region(x.get("region")),
              "technique": names.technique(x.get("technique")), "t0_s": x["t0_s"], "seconds": x["seconds"],
              "advised": (f"{x['min_s']:.0f}-{x['limit_s']:.0f} s" if x.get("min_s") and x.get("limit_s")
                          else f"up to {x['limit_s']:.0f} s" if x.get("limit_s") else "-"),
              "verdict": ("too long" if x.get("too_long") else "too short" if x.get("too_short")
                          else "released abruptly" if x.get("release_abrupt") else ""),
              "too_long": bool(x.get("too_long") or x.get("too_short")), "steadiness_cv": x.get("steadiness_cv")}
             for x in r.get("holds") or []]
    eps = [{"t0_s": e.t0_s, "t1_s": e.t1_s, "severity": names.severity(e.severity), "sevclass": D.severity_class(e.severity),
            "rule": names.rule(e.rule), "hand": names.hand(e.hand) if e.hand else "-",
            "sensors": ", ".join(names.site(x) if e.hand else names.sensor(x) for x in e.sensors),
            "regions": ", ".join(names.region(x) for x in e.regions), "count": e.count,
            "peak": (f"{e.peak_value:.1f} N" + (f" (limit {e.limit:.1f} N)" if e.limit is not None else ""))
            if e.peak_value is not None and e.units == "N" else "-", "text": e.text} for e in episodes]
    marks = [{"t_s": m["t_s"], "tag": m["tag"] or "-", "text": m["text"], "region": m["region_name"],
              "force": ", ".join(f"{names.hand(h).lower()} {v:.1f} N" for h, v in m["force_n"].items())} for m in mk]
    cmp_rows = None
    if comparison is not None:
        cmp_rows = [{"name": names.region(k), "trainee": d["trainee"] or {}, "instructor": d["instructor"] or {}}
                    for k, d in comparison.items()]
    link = [{"kind": str(x.get("kind", "")).replace("_", " "), "t_s": x.get("t_s"), "text": str(x.get("text", "") or "")}
            for x in r.get("link") or []]
    return {
        "trainee": str(r.get("trainee")), "start_time": str(r.get("start_time")),
        "minutes": r["duration_s"] / 60.0, "glove_id": str(r.get("glove_id")),
        "skill": S.ps.skills[S.skill].name if S.skill in S.ps.skills else str(r.get("skill")),
        "routine": names.routine_name(r["routine"]) if r.get("routine") else None,
        "score": r["score"]["total"], "advice": [str(a) for a in r.get("advice") or []],
        "not_scored": [names.part(p) for p in r["score"].get("not_scored") or []],
        "score_rows": score_rows, "gate": D.gate_row(r),
        "timeline_img": _png(timeline_figure(S, names, episodes, mk)),
        "band_img": _png(band_time_figure(S, names, seconds)) if seconds else None,
        "regions": regions, "back_img": "data:image/svg+xml;base64," + base64.b64encode(back.encode("utf-8")).decode("ascii"), "band_names": [names.band(b) for b in BANDS],
        "peaks_img": _png(stroke_peaks_figure(S, names, groups)) if groups else None,
        "segments": segments, "habits": _habits(r, names), "holds": holds,
        "stroke_hands": " / ".join(names.hand(h).split()[0].lower() for h in S.hands
                                   if any(x["hand"] == h for x in r["strokes"]["segments"])),
        "episodes": eps, "n_alerts": len(alerts), "marks": marks,
        "comparison": cmp_rows, "comparison_img": _png(comparison_figure(comparison, names)) if comparison else None,
        "notes": [str(n) for n in r.get("notes") or []], "link": link,
    }


def render_html(S, review: dict, comparison: dict | None = None) -> str:
    """The debrief page of a reviewed session (Session S, its review dict)."""
    return environment().get_template("report.html").render(**context(S, review, comparison))

