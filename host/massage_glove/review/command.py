"""`massage-glove review LOG` and `massage-glove progress DIR`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import GloveError


def register(sub) -> None:
    s = sub.add_parser("review", help="review a session log: regions, strokes, habits, score, advice")
    s.add_argument("log", help="a session log (.mglog)")
    s.add_argument("--html", metavar="OUT", help="also write the report as one HTML file")
    s.add_argument("--csv", metavar="OUT", help="also write one row per sample: time, region, stage, "
                   "technique, each sensor's force (N) and band, each hand's band, faults")
    s.add_argument("--csv-stages", metavar="OUT", help="also write one row per stage with its metrics")
    s.add_argument("--json", action="store_true", help="print the review as JSON instead of text")
    s.add_argument("--against", metavar="DEMO_LOG", help="compare with an instructor's demonstration log")
    s.set_defaults(func=cmd_review)
    s = sub.add_parser("progress", help="scores over sessions: one trainee, or a class (a directory "
                       "holding several trainees' logs, in subdirectories or not)")
    s.add_argument("dir", nargs="?", help="directory of session logs (default: the sessions directory)")
    s.add_argument("--trainee", help="only this trainee's sessions")
    s.add_argument("--html", metavar="OUT", help="also write the tables and plots as HTML")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_progress)


def _write_private(out: Path, text: str, what: str) -> None:
    from ..log.export import open_private
    try:
        with open_private(out) as f:
            f.write(text)
    except OSError as e:
        raise GloveError(f"cannot write the {what} {out}: {e.strerror or e}") from None


def _review(path: str, html_out: str | None, against: str | None = None, csv_out: str | None = None,
            csv_stages: str | None = None) -> dict:
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
        _write_private(Path(html_out), render_html(S, rev, cmp), "report")
        rev["html"] = str(html_out)
    if csv_out or csv_stages:
        from ..log.export import write_csv
        from . import debrief
        names = debrief.Names.for_session(S)
        if csv_out:
            write_csv(csv_out, debrief.sample_columns(S, names), debrief.sample_rows(S, names))
            rev["csv"] = str(csv_out)
        if csv_stages:
            cols, rows = debrief.stage_table(S, rev, names)
            write_csv(csv_stages, cols, rows)
            rev["csv_stages"] = str(csv_stages)
    return rev


def cmd_review(args) -> int:
    from .report import render_text
    from .text import clean
    rev = _review(args.log, args.html, args.against, args.csv, args.csv_stages)
    if args.json:
        print(json.dumps(rev, indent=1, default=str))
    else:
        print(render_text(rev))
        if rev.get("comparison"):
            from .debrief import Names
            names = Names.for_review(rev)
            print("Against the instructor (hand force while on the body, median / 90th percentile, N):")
            for k, d in rev["comparison"].items():
                t, i = d["trainee"] or {}, d["instructor"] or {}
                print(f"  {clean(names.region(k))[:30]:30s} trainee {t.get('median_n', '-')!s:>6} / {t.get('p90_n', '-')!s:>6}"
                      f"   instructor {i.get('median_n', '-')!s:>6} / {i.get('p90_n', '-')!s:>6}")
    for key, what in (("html", "report"), ("csv", "samples"), ("csv_stages", "stages")):
        if rev.get(key):
            print(f"{what}: {rev[key]}", file=sys.stderr)
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


# --- progress ------------------------------------------------------------------------------

def find_logs(d: Path) -> list[Path]:
    """Session logs in a directory and its subdirectories (each trainee's app may keep its
    own folder), oldest file name first within each folder."""
    from ..log.paths import LOG_SUFFIX
    return sorted((p for p in d.rglob("*" + LOG_SUFFIX) if p.is_file()), key=lambda p: (str(p.parent), p.name))


def progress_rows(paths) -> tuple[list[dict], list[str]]:
    """One row per reviewable log (trainee, date, score, each part's points, maximum and
    share of its maximum); sentences for logs that are not reviewable."""
    from .report import review_log
    from .debrief import alert_episodes, Names
    rows, skipped = [], []
    names = None
    for p in paths:
        try:
            r = review_log(p)
        except GloveError as e:
            skipped.append(f"{p.name}: {e}")
            continue
        names = names or Names.for_review(r)
        eps = alert_episodes(r["alerts"], Names.for_review(r, names.ps))
        bd = r["score"]["breakdown"]
        rows.append({"log": str(p), "start_time": r["start_time"], "trainee": str(r["trainee"]),
                     "minutes": round(r["duration_s"] / 60, 1), "score": r["score"]["total"],
                     "alerts": len(r["alerts"]), "episodes": len(eps),
                     "danger_episodes": sum(1 for e in eps if e.severity == "danger"),
                     "parts": {k: b.get("points") for k, b in bd.items()},
                     "max": {k: b.get("max") for k, b in bd.items()},
                     "share": {k: b.get("fraction") for k, b in bd.items()},
                     "advice": (r.get("advice") or [None])[0]})
    rows.sort(key=lambda x: (x["trainee"], str(x["start_time"])))
    return rows, skipped


def by_trainee(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["trainee"], []).append(r)
    for v in out.values():
        v.sort(key=lambda x: str(x["start_time"]))
    return out


def class_summary(groups: dict[str, list[dict]], cfg: dict | None = None) -> list[dict]:
    """Per trainee: sessions, first, latest and best score, change, whether they improved,
    and the reasons they need attention (data/debrief.json "class")."""
    from .debrief import load_debrief_settings
    cfg = cfg or load_debrief_settings()
    out = []
    for who, rs in groups.items():
        first, last = rs[0], rs[-1]
        change = round(last["score"] - first["score"], 1) if len(rs) > 1 else None
        why = []
        if last["score"] < cfg["attention_score"]:
            why.append(f"latest score {last['score']:.0f} (under {cfg['attention_score']:.0f})")
        if last["danger_episodes"]:
            why.append(f"{last['danger_episodes']} danger episode"
                       f"{'s' if last['danger_episodes'] != 1 else ''} in the latest session")
        if len(rs) > 1 and rs[-2]["score"] - last["score"] >= cfg["attention_drop_points"]:
            why.append(f"score fell {rs[-2]['score'] - last['score']:.0f} points since the session before")
        out.append({"trainee": who, "sessions": len(rs), "first": first["score"], "latest": last["score"],
                    "best": max(r["score"] for r in rs), "change": change,
                    "improved": bool(change is not None and change >= cfg["improved_points"]),
                    "attention": why, "advice": last.get("advice")})
    out.sort(key=lambda x: (not x["attention"], x["latest"]))
    return out


def cmd_progress(args) -> int:
    from ..log import sessions_dir
    from .text import clean
    from .debrief import Names
    d = Path(args.dir) if args.dir else sessions_dir(create=False)
    if not d.is_dir():
        raise GloveError(f"no directory {d}: give the directory your session logs are in")
    paths = find_logs(d)
    rows, skipped = progress_rows(paths)
    if args.trainee:
        rows = [r for r in rows if r["trainee"] == args.trainee
                or Path(r["log"]).stem.endswith("-" + args.trainee)]
    for s in skipped:
        print(f"skipped {clean(s)}", file=sys.stderr)
    if not rows:
        raise GloveError(f"no session logs to review in {d}" + (f" for {args.trainee}" if args.trainee else ""))
    groups = by_trainee(rows)
    summary = class_summary(groups) if len(groups) > 1 else None
    if args.json:
        print(json.dumps({"trainees": groups, "class": summary}, indent=1))
    else:
        names = Names()
        parts = list(rows[0]["parts"])
        for who, rs in groups.items():
            print(f"{clean(who)}: {len(rs)} session{'s' if len(rs) != 1 else ''}")
            print(f"  {'#':>2s} {'start':25s} {'min':>5s} {'score':>5s} {'alerts':>6s} "
                  + " ".join(f"{names.part(p)[:9]:>9s}" for p in parts))
            for i, r in enumerate(rs, 1):
                print(f"  {i:2d} {clean(_when(r['start_time']))[:25]:25s} {r['minutes']:5.1f} {r['score']:5.0f} {r['alerts']:6d} "
                      + " ".join(f"{'-' if r['share'].get(p) is None else format(100 * r['share'][p], '.0f') + ' %':>9s}"
                                 for p in parts))
        if summary:
            print("Class summary:")
            for s in summary:
                ch = "" if s["change"] is None else f", {s['change']:+.0f} since the first"
                flag = ", improved" if s["improved"] else ""
                print(f"  {clean(s['trainee'])[:24]:24s} {s['sessions']:2d} sessions, latest {s['latest']:.0f}{ch}{flag}"
                      + (f"; NEEDS ATTENTION: {'; '.join(s['attention'])}" if s["attention"] else ""))
    if args.html:
        _write_private(Path(args.html), progress_html(groups, summary), "progress report")
        print(f"report: {args.html}", file=sys.stderr)
    return 0


def _when(start) -> str:
    """A session's start for a table: "2026-05-01 12:00" from the log's ISO time."""
    s = str(start)
    return s[:16].replace("T", " ") if len(s) >= 16 and s[10:11] == "T" else s


def progress_figure(rows: list[dict], names=None):
    """Score and each part as a share of its maximum (%) over the sessions, whole-number
    session ticks."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    from .debrief import Names
    from .html import _text
    names = names or Names()
    x = list(range(1, len(rows) + 1))
    fig, ax = plt.subplots(figsize=(14.2, 3.8))
    ax.plot(x, [r["score"] for r in rows], "o-", lw=2.4, color="#222", label="score (of 100)", zorder=5)
    colours = plt.get_cmap("tab10").colors + plt.get_cmap("Dark2").colors
    k = 0
    for p in rows[0]["share"]:
        ys = [100 * r["share"][p] if r["share"].get(p) is not None else float("nan") for r in rows]
        seen = {round(y, 1) for y in ys if y == y}
        if len(rows) > 1 and len(seen) <= 1:
            continue                      # a part that did not change: in the table, not drawn
        ax.plot(x, ys, ".-", lw=1.1, color=colours[k % len(colours)], label=_text(names.part(p)))
        k += 1
    ax.set_xlabel("session")
    ax.set_ylabel("% of the maximum")
    ax.set_ylim(-3, 103)
    ax.set_xlim(0.7, len(rows) + 0.3)
    if len(rows) <= 20:
        ax.set_xticks(x)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    ax.grid(alpha=0.3)
    return fig


def progress_html(groups: dict[str, list[dict]], summary: list[dict] | None) -> str:
    from .debrief import Names
    from .html import _png, environment
    names = Names()
    trainees = []
    for who, rs in groups.items():
        parts = list(rs[0]["share"])
        # sessions as columns, the score and each part as rows (a session has many parts)
        trainees.append({
            "name": who, "img": _png(progress_figure(rs, names)),
            "sessions": [{"i": i, "start": _when(r["start_time"]), "minutes": r["minutes"]} for i, r in enumerate(rs, 1)],
            "score": [r["score"] for r in rs], "alerts": [r["alerts"] for r in rs],
            "episodes": [r["episodes"] for r in rs],
            "parts": [{"name": names.part(p), "shares": [r["share"].get(p) for r in rs]} for p in parts]})
    return environment().get_template("progress.html").render(trainees=trainees, summary=summary)
