"""The review as one self-contained HTML file (matplotlib figures embedded as PNG)."""
from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..live.state import BAND_COLOURS  # noqa: E402
from ..signal.bands import BANDS  # noqa: E402

E = html.escape
SEV_COLOUR = {"info": "#555", "warning": "#b86e00", "danger": "#c0141c"}


def _pc(x) -> str:
    return "-" if x is None else f"{100 * x:.0f} %"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _timeline(S, review) -> str:
    """Force of each hand over time, the allowed band's edge shaded, regions and alerts."""
    H = len(S.hands)
    fig, axes = plt.subplots(H, 1, figsize=(12, 2.6 * H), sharex=True, squeeze=False)
    step = max(1, S.n // 6000)              # at most ~6000 points per line, min/max kept
    for h, hand in enumerate(S.hands):
        ax = axes[h, 0]
        cols = S.hand_of == h
        f = np.nan_to_num(S.force[:, cols]).max(axis=1) if S.n else np.zeros(0)
        t = S.t
        if step > 1:
            m = (len(f) // step) * step
            fr = f[:m].reshape(-1, step)
            t = t[:m:step]
            f = fr.max(axis=1)
        ax.plot(t, f, color="#222", lw=0.7, label="highest sensor")
        # the region's limit over time (lowest limit of the hand's sensors)
        lim = np.array([S.edges[r].limit_n[cols].min() if r in S.edges else np.nan
                        for r in S.region[:len(f) * step:step]])
        ax.fill_between(t, lim, np.nanmax(np.r_[f, lim, 1.0]) * 1.05, color=BAND_COLOURS["too_much"],
                        alpha=0.12, step="post", label="over the region's limit")
        ax.plot(t, lim, color=BAND_COLOURS["too_much"], lw=0.8, ls="--", drawstyle="steps-post")
        for a in review["alerts"]:
            if hand in (a.get("sensor") or "").lower() or (a.get("sensor") or "").startswith(hand[0].upper() + "_"):
                ax.axvline(a["t_s"], color=SEV_COLOUR.get(a["severity"], "#b86e00"), lw=0.6, alpha=0.6)
        ax.set_ylabel(f"{hand} hand, N")
        ax.grid(alpha=0.3)
    # region labels along the top
    ax0 = axes[0, 0]
    if S.n:
        lab = S.region
        change = np.flatnonzero(lab[1:] != lab[:-1]) + 1
        starts = [0, *change.tolist()]
        ends = [*change.tolist(), S.n]
        for a, b in zip(starts, ends):
            if lab[a] is None:
                continue
            for h in range(H):
                axes[h, 0].axvline(S.t[a], color="#888", lw=0.6)
            ax0.text((S.t[a] + S.t[b - 1]) / 2, 1.02, str(lab[a]).replace("_", " "), transform=ax0.get_xaxis_transform(),
                     ha="center", va="bottom", fontsize=7, rotation=20)
    axes[-1, 0].set_xlabel("session time, s (vertical lines: alerts)")
    axes[0, 0].legend(loc="upper right", fontsize=7)
    return _png(fig)


def _band_bars(review) -> str:
    regs = list(review["regions"].items())
    fig, ax = plt.subplots(figsize=(10, 0.45 * max(3, len(regs)) + 1))
    y = np.arange(len(regs))
    left = np.zeros(len(regs))
    for b in BANDS:
        v = np.array([d["pct_by_band"][b] for _, d in regs])
        ax.barh(y, v, left=left, color=BAND_COLOURS[b], label=b.replace("_", " "))
        left += v
    for i, (_, d) in enumerate(regs):
        ax.text(101, i, f"allowed: {d['allowed']}", va="center", fontsize=8)
    ax.set_yticks(y, [d["name"] for _, d in regs])
    ax.set_xlim(0, 125)
    ax.set_xlabel("% of hands-on time in each band")
    ax.invert_yaxis()
    ax.legend(ncol=4, fontsize=8, loc="lower right")
    return _png(fig)


def _stroke_peaks(review) -> str:
    fig, ax = plt.subplots(figsize=(12, 3))
    for hand, p in review["strokes"]["peaks"].items():
        ax.plot(p["t_s"], p["peak_n"], ".", ms=3, label=f"{hand} hand")
    ax.set_xlabel("session time, s")
    ax.set_ylabel("stroke peak (hand total), N")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def _score_bars(review) -> str:
    bd = [(p, b) for p, b in review["score"]["breakdown"].items() if b["points"] is not None]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(bd) + 1))
    y = np.arange(len(bd))
    ax.barh(y, [b["max"] for _, b in bd], color="#ddd", label="possible")
    ax.barh(y, [b["points"] for _, b in bd], color="#2e9e4f", label="scored")
    ax.set_yticks(y, [p.replace("_", " ") for p, _ in bd])
    ax.invert_yaxis()
    ax.set_xlabel("points")
    ax.legend(fontsize=8)
    return _png(fig)


def _comparison(cmp: dict) -> str:
    rows = [(r, d) for r, d in cmp.items() if d["trainee"] or d["instructor"]]
    fig, ax = plt.subplots(figsize=(10, 0.5 * max(3, len(rows)) + 1))
    y = np.arange(len(rows))
    for k, (who, col) in enumerate((("trainee", "#4f8fd6"), ("instructor", "#f0a020"))):
        med = [d[who]["median_n"] if d[who] else 0 for _, d in rows]
        p90 = [d[who]["p90_n"] if d[who] else 0 for _, d in rows]
        ax.barh(y + (k - 0.5) * 0.38, p90, height=0.36, color=col, alpha=0.35)
        ax.barh(y + (k - 0.5) * 0.38, med, height=0.36, color=col, label=f"{who} (median; pale: 90th percentile)")
    ax.set_yticks(y, [d["name"] for _, d in rows])
    ax.invert_yaxis()
    ax.set_xlabel("hand total force while on the body, N")
    ax.legend(fontsize=8)
    return _png(fig)


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:0}.sub{color:#666}.score{font-size:3em;font-weight:700}
table{border-collapse:collapse;margin:.5em 0}td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left;font-size:.92em}
.warn{color:#b86e00}.danger{color:#c0141c}.ok{color:#2e7d32}li{margin:.3em 0}img{max-width:100%}"""


def render_html(S, review: dict, comparison: dict | None = None) -> str:
    r = review
    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>Session review {E(str(r['trainee']))}</title>"
         f"<style>{CSS}</style></head><body>"]
    h.append(f"<h1>Session review: {E(str(r['trainee']))}</h1><p class='sub'>{E(str(r['start_time']))} · "
             f"{r['duration_s'] / 60:.1f} min · glove {E(r['glove_id'])} · skill {E(r['skill'])}"
             + (f" · routine {E(r['routine'])}" if r["routine"] else "") + "</p>")
    h.append(f"<section id='score'><h2>Score</h2><div class='score'>{r['score']['total']:.0f}<small>/100</small></div>")
    h.append("<h3>Next time</h3><ol>" + "".join(f"<li>{E(a)}</li>" for a in r["advice"]) + "</ol>")
    h.append(_score_bars(r))
    h.append("<table><tr><th>part</th><th>points</th><th>of</th></tr>" + "".join(
        f"<tr><td>{p.replace('_', ' ')}</td><td>{b['points'] if b['points'] is not None else 'not scored'}</td><td>{b['max']}</td></tr>"
        for p, b in r["score"]["breakdown"].items()) + "</table></section>")
    h.append("<section id='timeline'><h2>Timeline</h2>" + _timeline(S, r) + "</section>")
    h.append("<section id='regions'><h2>Regions</h2>" + _band_bars(r))
    h.append("<table><tr><th>region</th><th>time</th><th>hands on</th><th>allowed</th><th>in allowed band</th>"
             "<th>light</th><th>medium</th><th>firm</th><th>too much</th><th>alerts</th></tr>")
    for _, d in r["regions"].items():
        pb = d["pct_by_band"]
        pct = f"{d['pct_in_allowed']:.1f} %" if d["pct_in_allowed"] is not None else "-"
        h.append(f"<tr><td>{E(d['name'])}</td><td>{d['seconds']:.0f} s</td><td>{d['hands_on_s']:.0f} s</td>"
                 f"<td>{d['allowed']}</td><td>{pct}</td>" + "".join(f"<td>{pb[b]:.0f} %</td>" for b in BANDS)
                 + f"<td>{len(d['alerts'])}</td></tr>")
    h.append("</table></section>")
    h.append("<section id='strokes'><h2>Strokes</h2>" + _stroke_peaks(r))
    h.append("<table><tr><th>hand</th><th>region</th><th>technique</th><th>strokes</th><th>rate /min</th>"
             "<th>usual</th><th>rhythm variation</th><th>peak variation</th><th></th></tr>")
    for s in r["strokes"]["segments"]:
        flags = ", ".join(f for f, on in (("rushing", s["rushing"]), ("inconsistent pressure", s["inconsistent_pressure"]),
                                          ("irregular rhythm", s["irregular_rhythm"])) if on)
        h.append(f"<tr><td>{s['hand']}</td><td>{E(str(s['region']))}</td><td>{E(str(s['technique']))}</td>"
                 f"<td>{s['strokes']}</td><td>{s['rate_per_min'] or '-'}</td><td>{s['usual_rate_per_min'] or '-'}</td>"
                 f"<td>{_pc(s['rhythm_cv'])}</td><td>{_pc(s['peak_cv'])}</td>"
                 f"<td class='warn'>{flags}</td></tr>")
    h.append("</table></section>")
    w, c = r["warm_up"], r["cool_down"]
    h.append("<section id='habits'><h2>Habits</h2><table>")
    rows = [
        ("Warm-up", f"{w['done_s']:.0f} s of light to medium before the first firm pressure (needs {w['needed_s']:.0f} s); "
                    f"light rising to medium: {'yes' if w['light_rising_to_medium'] else 'no'}", w["ok"]),
        ("Hands on the person", f"{100 * r['hands_on']['fraction']:.0f} % of {r['hands_on']['working_s']:.0f} s", r["score"]["breakdown"]["hands_on"]["lost"] < 0.5),
        ("Left/right balance", f"ratio {r['balance']['ratio']:.2f} ({', '.join(f'{k} {v:.0f} N·s' for k, v in r['balance']['work_ns'].items())})", r["score"]["breakdown"]["balance"]["lost"] < 0.5),
        ("Coverage", f"{len(r['coverage']['covered'])} of {len(r['coverage']['targets'])} regions" + (f"; missed: {', '.join(r['coverage']['missed'])}" if r['coverage']['missed'] else ""), not r["coverage"]["missed"]),
        ("Fatigue", "not enough strokes to tell" if r["fatigue"]["late_to_early_peak_ratio"] is None else f"late stroke peaks {100 * r['fatigue']['late_to_early_peak_ratio']:.0f} % of early ones", not r["fatigue"]["tiring"]),
        ("Cool-down", "session too short to tell" if c["light_fraction"] is None else f"light {100 * c['light_fraction']:.0f} % of the last part; lighter: {c['lighter']}; slower: {c['slower']}", c["ok"]),
    ]
    for name, text, ok in rows:
        h.append(f"<tr><td>{name}</td><td class='{'ok' if ok else 'warn'}'>{'✓' if ok else '✗'}</td><td>{E(text)}</td></tr>")
    h.append("</table>")
    if r["holds"]:
        h.append("<h3>Holds</h3><table><tr><th>hand</th><th>region</th><th>at</th><th>length</th><th>limit</th><th>steadiness (variation)</th></tr>")
        for x in r["holds"]:
            h.append(f"<tr><td>{x['hand']}</td><td>{E(str(x['region']))}</td><td>{x['t0_s']:.0f} s</td>"
                     f"<td class='{'warn' if x['too_long'] else ''}'>{x['seconds']:.1f} s</td><td>{x['limit_s'] or '-'}</td>"
                     f"<td>{_pc(x['steadiness_cv'])}</td></tr>")
        h.append("</table>")
    h.append("</section>")
    h.append(f"<section id='alerts'><h2>Alerts ({len(r['alerts'])})</h2><table><tr><th>time</th><th>severity</th><th>what</th></tr>")
    for a in r["alerts"]:
        h.append(f"<tr><td>{a['t_s']:.1f} s</td><td class='{'danger' if a['severity'] == 'danger' else 'warn'}'>"
                 f"{a['severity']}</td><td>{E(a['text'])}</td></tr>")
    h.append("</table>")
    if r["marks"]:
        h.append("<h3>Marks</h3><ul>" + "".join(f"<li>{m['t_s']:.1f} s: {E(m['text'])}</li>" for m in r["marks"]) + "</ul>")
    h.append("</section>")
    if comparison is not None:
        h.append("<section id='comparison'><h2>Against the instructor's demonstration</h2>" + _comparison(comparison))
        h.append("<table><tr><th>region</th><th>trainee median</th><th>trainee 90 %</th><th>instructor median</th><th>instructor 90 %</th></tr>")
        for _, d in comparison.items():
            t, i = d["trainee"] or {}, d["instructor"] or {}
            h.append(f"<tr><td>{E(d['name'])}</td><td>{t.get('median_n', '-')}</td><td>{t.get('p90_n', '-')}</td>"
                     f"<td>{i.get('median_n', '-')}</td><td>{i.get('p90_n', '-')}</td></tr>")
        h.append("</table></section>")
    if r["notes"] or r["link"]:
        h.append("<section id='notes'><h2>About this recording</h2><ul>"
                 + "".join(f"<li>{E(n)}</li>" for n in r["notes"])
                 + "".join(f"<li>{E(x['kind'])} at {x['t_s'] if x['t_s'] is not None else '?'} s "
                           f"{E(str(x.get('text', '')))}</li>" for x in r["link"]) + "</ul></section>")
    h.append("</body></html>")
    return "\n".join(h)
