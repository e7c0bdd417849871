"""`massage-glove live` and `massage-glove practice`: practise with feedback, then review.

live:      one or two gloves (`--port` twice, or `--simulate`), a region or a guided
           routine, the live view (window, or terminal without a display), a log.
practice:  the guided routine against the simulated glove, then the review of its log.
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from .. import cliargs
from ..errors import GloveError

log = logging.getLogger(__name__)

SIM_TRAINEES = ("good", "heavy", "rushed", "novice")
# How long the simulated trainee waits, hands off, before starting the routine (signal
# seconds). A free-running glove's clock races ahead until the host starts the stream
# (several seconds of signal, more on a loaded machine), so it waits longer there.
SIM_LEAD_IN_S = {"realtime": 2.0, "free": 120.0}


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def add_session_arguments(s, *, practice: bool = False) -> None:
    if not practice:
        src = s.add_mutually_exclusive_group(required=True)
        src.add_argument("--port", action="append", metavar="URL",
                         help="the glove's serial port or URL; twice for a left and a right glove")
        src.add_argument("--simulate", action="store_true",
                         help="practise against the simulated glove (real firmware in MicroPython)")
    else:
        s.add_argument("--simulate", action="store_true", default=True,
                       help="against the simulated glove (the default, and the only source here)")
    s.add_argument("--trainee", default="trainee", help="whose session this is (names the log)")
    s.add_argument("--region", type=cliargs.region, help="region to start in (keys switch regions while practising)")
    s.add_argument("--skill", choices=("novice", "trained"), default="trained",
                   help="novice caps every region at medium, as the guidance says without "
                        "professional training (default: trained)")
    s.add_argument("--sensitivity", default="normal", type=cliargs.sensitivity,
                   help="the receiver: normal, sensitive, or a factor on every band edge")
    s.add_argument("--routine", default="demo" if practice else None, type=cliargs.routine,
                   help="guided routine (data/routines.json): " + ("default demo" if practice
                                                                  else "e.g. demo, back"))
    s.add_argument("--profile", metavar="FILE", type=cliargs.existing_file,
                   help="band edges learned from an instructor (massage-glove learn)")
    s.add_argument("--calibration-dir", type=cliargs.existing_dir, default=None,
                   help="where <glove-id>.json calibrations are (default: ./calibration if "
                        "there is one; the simulated glove's own calibration ships with the package)")
    s.add_argument("--log-dir", type=cliargs.writable_dir,
                   help="where session logs go (default: the sessions directory)")
    s.add_argument("--no-log", action="store_true", help="do not record this session")
    s.add_argument("--headless", action="store_true",
                   help="no window: the terminal view (or nothing with --json)")
    s.add_argument("--duration", type=cliargs.seconds, default=None,
                   help="stop after this many seconds (default: end of the routine, or Ctrl-C / q)")
    s.add_argument("--json", action="store_true",
                   help="print the alerts and band summary as JSON at the end")
    s.add_argument("--window", type=cliargs.seconds, default=10.0, help="seconds of trace shown")
    s.add_argument("--no-buzz", action="store_true", help="do not buzz the glove on alerts")
    s.add_argument("--no-bell", action="store_true", help="no terminal bell on alerts")
    s.add_argument("--quiet", action="store_true",
                   help="no sound: no cues, no spoken prompts, no terminal bell")
    s.add_argument("--speak", action="store_true",
                   help="also say prompts aloud (needs the speech extra: pip install 'massage-glove[speech]')")
    s.add_argument("--lsl", action="store_true",
                   help="stream forces, bands and markers to Lab Streaming Layer (pylsl)")
    g = s.add_argument_group("simulated glove")
    g.add_argument("--sim-trainee", choices=SIM_TRAINEES, default="good",
                   help="how the simulated trainee works (heavy presses too hard, rushed goes too fast)")
    g.add_argument("--sim-seed", type=int, default=1)
    g.add_argument("--sim-mode", choices=("realtime", "free"), default="realtime",
                   help="free: the simulated glove runs as fast as the host keeps up")
    g.add_argument("--sim-fault", action="append", default=[], metavar="KIND:CHANNEL:T0:T1",
                   type=cliargs.sim_fault,
                   help="inject a sensor fault, e.g. saturated:R_index:20:30 or open:L_thumb:5:60")


def register(sub) -> None:
    s = sub.add_parser("live", help="practise with live pressure feedback and alerts")
    add_session_arguments(s)
    s.set_defaults(func=cmd_live)
    s = sub.add_parser("practice", help="a guided routine on the simulated glove, then its review")
    add_session_arguments(s, practice=True)
    s.add_argument("--html", metavar="OUT", help="write the review as HTML here "
                   "(default: next to the log)")
    s.add_argument("--no-review", action="store_true")
    s.set_defaults(func=cmd_practice)


def _parse_faults(specs: list) -> list[dict]:
    out = []
    for spec in specs:
        if isinstance(spec, dict):             # already checked by cliargs.sim_fault
            out.append(spec)
            continue
        parts = spec.split(":")
        if len(parts) != 4:
            raise GloveError(f"--sim-fault {spec!r}: expected KIND:CHANNEL:T0:T1, "
                             f"e.g. saturated:R_index:20:30")
        try:
            t0, t1 = float(parts[2]), float(parts[3])
        except ValueError:
            raise GloveError(f"--sim-fault {spec!r}: T0 and T1 are seconds") from None
        out.append({"kind": parts[0], "channel": parts[1], "start_s": t0, "end_s": t1})
    return out


def _routine(args, profile_set):
    if not args.routine:
        return None
    from .routine import load_routine
    return load_routine(args.routine, regions=set(profile_set.regions))


def _profile_set(args):
    from ..signal import default_profile_set
    ps = default_profile_set()
    if args.profile:
        from ..signal import load_profile
        ps = ps.with_learned(load_profile(args.profile))
    return ps


def _sim_script(args, routine, profile_set):
    from ..sim import scripts
    plan = routine.plan() if routine is not None else None
    cap = profile_set.skills[args.skill].cap_band
    if plan is not None:
        # a simulated trainee who follows the routine keeps within their skill's cap
        bands = ("light", "medium", "firm", "too_much")
        plan = [dict(st, band=bands[min(bands.index(st["band"]), cap)]) if st.get("band") else st
                for st in plan]
    lead_in = SIM_LEAD_IN_S[args.sim_mode]
    return scripts.routine_script(plan, seed=args.sim_seed, trainee=args.sim_trainee,
                                  lead_in_s=lead_in, faults=_parse_faults(args.sim_fault))


def _calibration_dir(args, simulated: bool):
    """--calibration-dir; else ./calibration if there is one; else, for the simulated glove,
    the calibration that ships with the package (fitted by `calibrate --auto` against it)."""
    if args.calibration_dir:
        return args.calibration_dir
    if Path("calibration").is_dir() and (not simulated or Path("calibration", "sim-glove.json").is_file()):
        return "calibration"
    if simulated:
        from ..paths import sim_calibration_dir
        d = sim_calibration_dir()
        return str(d) if d is not None else None
    return None


def run_session(args, *, practice: bool = False) -> dict:
    """Open the gloves (or the simulated one), run the session with its view, return the summary."""
    from ..link import GloveLink
    from .session import LiveSession, SessionOptions

    profile_set = _profile_set(args)
    routine = _routine(args, profile_set)
    skill = args.skill
    if not args.no_log and not args.log_dir:
        # the log's directory is checked before any glove starts
        from ..log.paths import sessions_dir
        d = sessions_dir()
        if not d.is_dir():
            raise GloveError(f"the sessions directory {d} does not exist: create it "
                             f"(mkdir -p '{d}') or choose another one with --log-dir")
    sims, links = [], []
    routine_start = None
    try:
        if getattr(args, "port", None):
            if len(args.port) > 2:
                raise GloveError("at most two gloves (a left and a right): give --port once or twice")
            for url in args.port:
                links.append(GloveLink.open(url))
            # a URL device that knows when its trainee starts (sim://, replay://) says so
            routine_start = getattr(links[0].serial_port, "routine_start", None)
        else:
            from ..sim.glove import SimGlove
            script = _sim_script(args, routine, profile_set)
            sim = SimGlove(script, mode=args.sim_mode, glove_id="sim-glove")
            sims.append(sim)
            port = sim.start()
            _say(f"simulated glove on {port} (real firmware in MicroPython; "
                 f"trainee: {args.sim_trainee}, seed {args.sim_seed})")
            links.append(GloveLink.open(port))
            lead_in = script["segments"][0]["duration_s"] if script["segments"] else 0.0

            def routine_start(link, lead_in=lead_in, offset=sim.offset_us):
                # the simulated trainee starts the routine lead_in seconds after boot
                t0_model_s = ((link.device_t0_us - offset) % (1 << 30)) * 1e-6
                if t0_model_s > lead_in - 1.0:
                    log.warning("the simulated trainee started %.1f s before the stream did: "
                                "the first stage is cut short", t0_model_s - lead_in)
                return lead_in - t0_model_s

        hands = [h for link in links for h in link.info.hands]
        if len(hands) != len(set(hands)):
            raise GloveError(f"both gloves are for the same hand ({', '.join(hands)}): "
                             f"connect a left and a right glove")
        opts = SessionOptions(
            trainee=args.trainee, region=args.region, skill=skill, sensitivity=args.sensitivity,
            routine=routine, calibration_dir=_calibration_dir(args, simulated=bool(sims)),
            profile_set=profile_set, profile_name=Path(args.profile).stem if args.profile else None,
            log_dir=args.log_dir, log=not args.no_log, window_s=args.window,
            bell=not (args.no_bell or args.quiet), buzz=not args.no_buzz, routine_start=routine_start,
            extra={"simulated": bool(sims), "sim_trainee": args.sim_trainee if sims else None})
        if routine is None and args.region is None:
            _say("no --region and no --routine: press a region key to choose where you work")
        session = LiveSession(links, opts)
        for g in session.gloves:
            _say(_calibration_line(g, opts.calibration_dir))
        if getattr(args, "lsl", False):
            from ..lsl import LslTap
            session.opt.taps = (LslTap(session),)
        session.start()
        for g in session.gloves:
            if g.writer is not None:
                _say(f"logging to {g.writer.path}")
        try:
            if args.json and args.headless:
                session.wait(args.duration)
            else:
                from .views import choose_view
                view = choose_view(session, headless=args.headless, quiet=args.quiet,
                                   speak=args.speak)
                if args.duration is not None:
                    import threading
                    threading.Thread(target=session.wait, args=(args.duration,), daemon=True).start()
                view.run()
        except KeyboardInterrupt:
            pass
        finally:
            summary = session.close()
        return summary
    finally:
        for link in links:
            link.close()
        for sim in sims:
            sim.close()


def _calibration_line(g, directory) -> str:
    """Which calibration a glove's forces come from, said before the session starts: a
    file picked up without being named (./calibration, the simulated glove's own) is
    always named."""
    from ..signal.calibration import calibration_path
    from .session import calibration_file
    path = calibration_file(g.calibration)
    if path:
        return f"glove {g.label}: forces from the calibration file {path}"
    where = (f"no calibration file {calibration_path(g.info.glove_id, directory)}" if directory
             else "no calibration folder (./calibration or --calibration-dir)")
    return f"glove {g.label}: {where}: forces from nominal FSR curves (may be off by 30 % or more)"


def _report(summary: dict, args) -> None:
    if args.json:
        print(json.dumps(summary, indent=1))
        return
    _say(f"session {summary['session_id']}: {summary['duration_s']:.0f} s, "
         f"{len(summary['alerts'])} alerts, {summary['marks']} marks")
    for p in summary["problems"]:
        _say(f"  problem: {p}")
    for g in summary["gloves"]:
        if g["log"]:
            _say(f"  log: {g['log']}")


def cmd_live(args) -> int:
    summary = run_session(args)
    _report(summary, args)
    return 0 if not summary["problems"] else 1


def cmd_practice(args) -> int:
    summary = run_session(args, practice=True)
    _report(summary, args)
    if args.no_review or args.no_log:
        return 0
    logs = [g["log"] for g in summary["gloves"] if g["log"]]
    from ..review import command as review_command
    rc = 0
    for path in logs:
        html = args.html or str(Path(path).with_suffix(".html"))
        rc |= review_command.review_after_practice(path, html) or 0
    return rc
