"""`massage-glove review LOG` and `massage-glove progress DIR`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import GloveError
from ..privatefile import write_private


def register(sub) -> None:
    s = sub.add_parser("review", help="review a session log: regions, strokes, habits, score, advice")
    s.add_argument("log", help="a session log (.mglog)")
    s.add_argument("--html", metavar="OUT", help="also write the report as one HTML file")
    s.add_argument("--json", action="store_true", help="print the review as JSON instead of text")
    s.add_argument("--against", metavar="DEMO_LOG", help="compare with an instructor's demonstration log")
    s.set_defaults(func=cmd_review)
    s = sub.add_parser("progress", help="a trainee's scores over sessions")
    s.add_argument("dir", nargs="?", help="directory of session logs (default: the sessions directory)")
    s.add_argument("--trainee", help="only this trainee's sessions")
    s.add_argument("--html", metavar="OUT", help="also write the table and plot as HTML")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_progress)


def _review(path: str, html_out: str | None, against: str | None = None) -> dict:
    from .report import Session, compare, load_settings, review_session
    from ..log import load
    p = Path(path)
    if not p.exists():
        raise GloveError(f"no log file {path}: see `massage-glove progress` for the sessions there are")
    slog = load(p)
    if slog.samples.seq.shape[0] == 0:
        raise GloveError(f"{path}: the log holds no samples to review")
    S = Session(slog)
    rev = review_session(S, load_settings())
    cmp = None
    if against:
        D = Session(load(against))
        cmp = compare(S, D)
        rev["comparison"] = cmp
    if html_out:
        from .html import render_html
        out = Path(html_out)
        try:
            write_private(out, render_html(S, rev, cmp))
        except OSError as e:
            raise GloveError(f"cannot write the report {out}: {e.strerror or e}") from None
        rev["html"] = str(out)
    return rev


def cmd_review(args) -> int:
    from .report import render_text
    rev = _review(args.log, args.html, args.against)
    if args.json:
        print(json.dumps(rev, indent=1, default=str))
    else:
        print(render_text(rev))
        if rev.get("comparison"):
            print("Against the instructor (hand force while on the body, median / 90th percentile, N):")
            for _, d in rev["comparison"].items():
                t, i = d["trainee"] or {}, d["instructor"] or {}
                print(f"  {d['name'][:30]:30s} trainee {t.get('median_n', '-')!s:>6} / {t.get('p90_n', '-')!s:>6}"
                      f"   instructor {i.get('median_n', '-')!s:>6} / {i.get('p90_n', '-')!s:>6}")
    if args.html:
        print(f"report: {args.html}", file=sys.stderr)
    return 0


def review_after_practice(log_path: str, html_out: str) -> int:
    """The review printed after `massage-glove practice`, with its HTML next to the log."""
    from .report import render_text
    try:
        rev = _review(log_path, html_out)
    except GloveError as e:
        print(f"massage-glove: the review could not be made: {e}", file=sys.stderr)
        return 1
    print(render_text(rev))
    print(f"report: {html_out}", file=sys.stderr)
    return 0


def progress_rows(paths) -> tuple[list[dict], list[str]]:
    """One row per reviewable log (date, score, parts); sentences for logs that are not."""
    from .report import review_log
    rows, skipped = [], []
    for p in paths:
        try:
            r = review_log(p)
        except GloveError as e:
            skipped.append(f"{p.name}: {e}")
            continue
        rows.append({"log": str(p), "start_time": r["start_time"], "trainee": r["trainee"],
                     "minutes": round(r["duration_s"] / 60, 1), "score": r["score"]["total"],
                     "alerts": len(r["alerts"]),
                     "parts": {k: b["points"] for k, b in r["score"]["breakdown"].items()}})
    rows.sort(key=lambda x: str(x["start_time"]))
    return rows, skipped


def cmd_progress(args) -> int:
    from ..log import list_sessions, sessions_dir
    d = Path(args.dir) if args.dir else sessions_dir(create=False)
    if not d.is_dir():
        raise GloveError(f"no directory {d}: give the directory your session logs are in")
    paths = list_sessions(d)
    if args.trainee:
        paths = [p for p in paths if p.stem.endswith("-" + args.trainee)]
    rows, skipped = progress_rows(paths)
    for s in skipped:
        print(f"skipped {s}", file=sys.stderr)
    if not rows:
        raise GloveError(f"no session logs to review in {d}")
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        parts = list(rows[0]["parts"])
        print(f"{'start':25s} {'min':>5s} {'score':>6s} {'alerts':>6s} " + " ".join(f"{p[:8]:>8s}" for p in parts))
        for r in rows:
            print(f"{str(r['start_time'])[:25]:25s} {r['minutes']:5.1f} {r['score']:6.1f} {r['alerts']:6d} "
                  + " ".join(f"{(r['parts'][p] if r['parts'][p] is not None else float('nan')):8.1f}" for p in parts))
    if args.html:
        write_private(args.html, progress_html(rows))
        print(f"report: {args.html}", file=sys.stderr)
    return 0


def progress_html(rows: list[dict]) -> str:
    import html as H
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from .html import CSS, _png
    x = list(range(1, len(rows) + 1))
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(x, [r["score"] for r in rows], "o-", lw=2, color="#222", label="score")
    for p in rows[0]["parts"]:
        ax.plot(x, [r["parts"][p] if r["parts"][p] is not None else float("nan") for r in rows], ".-", lw=0.8, label=p)
    ax.set_xlabel("session")
    ax.set_ylabel("points")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, ncol=5)
    ax.grid(alpha=0.3)
    img = _png(fig)
    trs = "".join(f"<tr><td>{i}</td><td>{H.escape(str(r['start_time']))}</td><td>{r['minutes']}</td>"
                  f"<td><b>{r['score']:.0f}</b></td><td>{r['alerts']}</td></tr>" for i, r in zip(x, rows))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Progress</title><style>{CSS}</style></head>"
            f"<body><h1>Progress</h1>{img}<table><tr><th>#</th><th>start</th><th>min</th><th>score</th>"
            f"<th>alerts</th></tr>{trs}</table></body></html>")
