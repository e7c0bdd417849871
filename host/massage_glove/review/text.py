"""The review as plain text for the terminal: display names, alert episodes, the reason
for every lost point. Every string that came from a log or a device is cleaned of control
characters (an escape sequence in a trainee's or a sensor's name is shown, not obeyed)."""
from __future__ import annotations

import re

from ..signal.bands import BANDS
from . import debrief as D

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean(s) -> str:
    """A string safe for a terminal: control characters (C0, C1, DEL, bidirectional
    overrides) replaced by '?'; newlines and tabs become spaces."""
    return _CONTROL.sub("?", str(s).replace("\n", " ").replace("\t", " "))


def _n(x, digits=0, unit="") -> str:
    if x is None:
        return "-"
    return f"{x:.{digits}f}{(' ' + unit) if unit else ''}"


def render_text(review: dict, names: D.Names | None = None) -> str:
    """The review as plain text (names from the data files, everything outside cleaned)."""
    r = review
    N = names or D.Names.for_review(r)
    c = clean
    L = []
    head = (f"Session review: {c(r['trainee'])}, {c(r['start_time'])}, {r['duration_s'] / 60:.1f} min, "
            f"glove {c(r['glove_id'])}, skill {c(N.ps.skills[r['skill']].name if r['skill'] in N.ps.skills else r['skill'])}")
    if r.get("routine"):
        head += f", routine {c(N.routine_name(r['routine']))}"
    L.append(head)
    L.append(f"SCORE {r['score']['total']:.0f} / 100")
    reasons = D.lost_reasons(r, N)
    for p, b in r["score"]["breakdown"].items():
        if b.get("points") is None:
            continue
        line = f"  {N.part(p)[:30]:30s} {b['points']:5.1f} / {b['max']:4.1f}"
        if b.get("lost"):
            line += f"  -{b['lost']:.1f}: {c(reasons.get(p, ''))}"
        L.append(line)
    gate = D.gate_row(r)
    if gate:
        L.append(f"  {'Too-much episodes':30s} x {gate['factor']:.2f} of {gate['parts_total']:.1f}  "
                 f"-{gate['lost']:.1f}: {c(gate['reason'])}")
    if r["score"].get("not_scored"):
        L.append("  not scored: " + ", ".join(N.part(p) for p in r["score"]["not_scored"]))
    L.append("Next time:")
    for i, a in enumerate(r.get("advice") or [], 1):
        L.append(f"  {i}. {c(a)}")
    L.append("Regions (time, hands on, in the allowed band; share of contact in "
             + "/".join(N.band(b).lower() for b in BANDS) + "):")
    for k, d in r["regions"].items():
        pb = d["pct_by_band"]
        L.append(f"  {c(N.region(k))[:30]:30s} {d['seconds']:5.0f} s {d['hands_on_s']:5.0f} s  "
                 f"{_n(d.get('pct_in_allowed'), 1, '%'):>7s} (up to {N.band(d['allowed']).lower()})  "
                 + "/".join(f"{pb.get(b, 0):.0f}" for b in BANDS) + " %")
    sc = r["strokes"]
    L.append("Strokes: " + ", ".join(f"{c(N.hand(h)).lower()} {n}" for h, n in sc["count"].items()))
    for s in sc["segments"]:
        flags = [f for f, on in (("RUSHING", s.get("rushing")), ("inconsistent pressure", s.get("inconsistent_pressure")),
                                 ("irregular rhythm", s.get("irregular_rhythm"))) if on]
        L.append(f"  {c(N.stage(s.get('stage')))[:28]:28s} {c(N.hand(s['hand'])).lower()[:10]:10s} {s['strokes']:4d} strokes "
                 f"{_n(s.get('rate_per_min')):>4s}/min  rhythm {_n((s.get('rhythm_cv') or 0) * 100):>3s} %  "
                 f"peaks {_n((s.get('peak_cv') or 0) * 100):>3s} %  {' '.join(flags)}")
    w = r["warm_up"]
    L.append(f"Warm-up: {w['done_s']:.0f} s before the first firm pressure (needs {w['needed_s']:.0f} s): "
             + ("ok" if w["ok"] else "too deep too fast"))
    cool = r["cool_down"]
    L.append(f"Hands on: {100 * r['hands_on']['fraction']:.0f} %   balance: one hand {r['balance']['ratio']:.2f} x the other   "
             f"coverage: {len(r['coverage']['covered'])} of {len(r['coverage']['targets'])} regions   "
             f"cool-down: {'ok' if cool.get('ok') else 'missing' if cool.get('light_fraction') is not None else 'too short to tell'}")
    if r["coverage"].get("missed"):
        L.append("  regions missed: " + ", ".join(c(N.region(m)) for m in r["coverage"]["missed"]))
    if r["fatigue"].get("late_to_early_peak_ratio"):
        L.append(f"Fatigue: late stroke peaks {100 * r['fatigue']['late_to_early_peak_ratio']:.0f} % of early ones")
    for h in r.get("holds") or []:
        if h.get("too_long"):
            L.append(f"Hold too long: {h['seconds']:.0f} s on {c(N.region_text(h.get('region')))} "
                     f"(longest advised {_n(h.get('limit_s'))} s) at {h['t0_s']:.0f} s")
    eps = D.alert_episodes(r["alerts"], N)
    L.append(f"Alerts: {len(r['alerts'])} in {len(eps)} episode{'s' if len(eps) != 1 else ''}")
    for e in eps[:20]:
        span = (f"{e.t0_s:6.1f}-{e.t1_s:.1f} s" if e.count > 1 else f"{e.t0_s:6.1f} s").ljust(16)
        L.append(f"  {span} {c(N.severity(e.severity)):8s} {c(N.rule(e.rule))}"
                 + (f", {c(N.hand(e.hand)).lower()}" if e.hand else "")
                 + f" ({e.count} alert{'s' if e.count != 1 else ''}): {c(e.text)}")
    if len(eps) > 20:
        L.append(f"  ... and {len(eps) - 20} more episodes (see the HTML report)")
    for m in r.get("marks") or []:
        tag = m.get("tag")
        L.append(f"Mark at {m['t_s']:.1f} s: {c(tag) + ' ' if tag else ''}{c(m.get('text', ''))}")
    for note in r.get("notes") or []:
        L.append(f"Note: {c(note)}")
    return "\n".join(L)
