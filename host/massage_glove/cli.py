"""The `massage-glove` command line. Data goes to stdout, messages to stderr."""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time

from . import __version__, cliargs
from .errors import GloveError

log = logging.getLogger("massage_glove")


def _err(msg: str) -> None:
    from .protocol import printable
    # messages quote devices and files: nothing from them may drive the terminal
    print(f"massage-glove: {printable(msg, 2000)}", file=sys.stderr)


# --- signals --------------------------------------------------------------------------
# SIGINT (Ctrl-C), SIGTERM (kill, a service manager) and SIGHUP (the terminal closed, an
# ssh drop) all end a command the same way: KeyboardInterrupt unwinds it, so a session
# closes its log complete and the simulated glove is unplugged. Exit status 128 + the
# signal's number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP (docs/FAULTS.md).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """A stop signal arrived (signum)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


received_signal: int | None = None


def _on_stop_signal(signum, frame):
    global received_signal
    if received_signal is not None:
        return                       # already stopping: let the clean-up finish
    received_signal = signum
    raise Terminated(signum)


_saved_handlers: dict = {}


def _install_signal_handlers() -> None:
    global received_signal
    received_signal = None
    for sig in STOP_SIGNALS:
        try:
            _saved_handlers[sig] = signal.signal(sig, _on_stop_signal)
        except (ValueError, OSError):      # not the main thread: leave them be
            return


def _restore_signal_handlers() -> None:
    while _saved_handlers:
        sig, h = _saved_handlers.popitem()
        signal.signal(sig, h if h is not None else signal.SIG_DFL)


# --- ports / flash / simulate -------------------------------------------------------

def cmd_ports(args) -> int:
    from .ports import scan
    found = scan(probe=not args.no_probe, urls=args.urls)
    if args.json:
        print(json.dumps([p.__dict__ for p in found], indent=1))
        return 0
    if not found:
        print("no serial ports found: is the glove plugged in? (try another cable: some are "
              "charge-only)", file=sys.stderr)
        return 1
    for p in found:
        mark = "GLOVE" if p.glove else "     "
        detail = p.glove or p.problem.split(":", 1)[-1].strip()[:90] or p.description
        from .protocol import printable
        print(printable(f"{mark}  {p.device:28s} {detail}", 300))
    return 0


def cmd_flash(args) -> int:
    from .flash import flash
    from .link import GloveLink
    files = flash(args.port, compile=args.compile, reset=not args.no_reset)
    print(f"deployed {len(files)} files to {args.port}", file=sys.stderr)
    if args.no_reset or args.no_verify:
        return 0
    # the board reboots into the firmware: check it answers as a glove
    deadline = time.monotonic() + args.verify_timeout
    last = None
    while time.monotonic() < deadline:
        try:
            link = GloveLink.open(args.port, reconnect=False)
        except GloveError as e:
            last = e
            time.sleep(0.3)
            continue
        print(f"{args.port}: glove {link.info.glove_id}, firmware {link.info.firmware}, "
              f"{len(link.info.channels)} channels")
        link.close()
        return 0
    _err(f"the firmware was copied but the board does not answer as a glove: {last}")
    return 1


def _load_script(spec: str | None, seed: int):
    if spec is None or spec == "rest":
        return None
    if spec.endswith(".json"):
        from pathlib import Path
        from .errors import DataFileError
        try:
            return json.loads(Path(spec).read_text())
        except OSError as e:
            raise DataFileError(spec, "", "a readable force model script (JSON)", e.strerror) from None
        except json.JSONDecodeError as e:
            raise DataFileError(spec, "", "valid JSON", e.msg, line=e.lineno, col=e.colno) from None
    from .sim import scripts
    if spec == "routine":
        return scripts.routine_script(seed=seed)
    from .errors import GloveError
    raise GloveError(f"unknown force model script {spec!r}: use 'rest', 'routine' or a JSON file")


def cmd_simulate(args) -> int:
    from .ports import register_sim
    from .sim.glove import SimGlove
    from .protocol import MetaError, check_glove_id
    try:
        check_glove_id(args.glove_id)       # the same rule a host applies to the glove's META
    except MetaError as e:
        raise GloveError(f"--glove-id: {e}") from None
    script = _load_script(args.script, args.seed)
    hands = ("right", "left") if args.hands == "both" else (args.hands,)
    sim = SimGlove(script, hands=hands, glove_id=args.glove_id, mode=args.mode,
                   offset_us=args.offset_us)
    sim.start()
    reg = register_sim(sim.port)
    print(sim.port, flush=True)
    print(f"simulated glove {args.glove_id} on {sim.port} (real firmware in MicroPython); "
          f"Ctrl-C to unplug it", file=sys.stderr)
    t0 = time.monotonic()
    try:
        while not (args.duration and time.monotonic() - t0 > args.duration):
            time.sleep(0.2)
    except KeyboardInterrupt:     # Ctrl-C, SIGTERM, SIGHUP (see STOP_SIGNALS)
        pass
    finally:
        sim.close()
        reg.unlink(missing_ok=True)
    return 0


# --- entry point -------------------------------------------------------------------

# Modules that add their own subcommands: each has register(subparsers), which adds its
# parser and sets `func` (args -> exit code).
COMMAND_MODULES: tuple[str, ...] = (
    "massage_glove.live.command",
    "massage_glove.review.command",
    "massage_glove.calibrate",
    "massage_glove.replay",
    "massage_glove.classview.views",
)


class _Parser(argparse.ArgumentParser):
    """A command-line mistake is one line on stderr and exit status 2 (argparse's usage
    block is left to --help)."""

    def error(self, message: str):
        # the message quotes what was typed: escape control characters for the terminal
        message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="massage-glove",
                                description="Pressure feedback for massage practice from a force-sensing glove.")
    p.add_argument("--version", action="version", version=f"massage-glove {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens on the link")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("ports", help="list serial ports and mark the gloves")
    s.add_argument("--json", action="store_true")
    s.add_argument("--no-probe", action="store_true", help="only list, do not talk to the ports")
    s.add_argument("urls", nargs="*", metavar="URL",
                   help="also probe these ports or URLs (socket://, rfc2217://...); without them "
                        "only this machine's serial devices are probed")
    s.set_defaults(func=cmd_ports)

    s = sub.add_parser("flash", help="deploy the firmware to a board with mpremote")
    s.add_argument("--port", required=True)
    s.add_argument("--compile", action="store_true", help="send .mpy compiled by mpy-cross -march=armv6m")
    s.add_argument("--no-reset", action="store_true")
    s.add_argument("--no-verify", action="store_true")
    s.add_argument("--verify-timeout", type=cliargs.seconds, default=10.0)
    s.set_defaults(func=cmd_flash)

    s = sub.add_parser("simulate", help="start the simulated glove on a pty and print its path")
    s.add_argument("--script", default="routine",
                   help="force model: 'rest', 'routine' (a trainee following the default routine) or a JSON file")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--hands", choices=("both", "right", "left"), default="both")
    s.add_argument("--glove-id", default="sim-glove")
    s.add_argument("--mode", choices=("realtime", "free"), default="realtime")
    s.add_argument("--offset-us", type=int, default=0, help="start the device clock this far in")
    s.add_argument("--duration", type=cliargs.seconds_or_zero, default=0,
                   help="unplug after this many seconds (0: when stopped)")
    s.set_defaults(func=cmd_simulate)

    import importlib
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _install_signal_handlers()
    try:
        rc = args.func(args) or 0
    except GloveError as e:
        try:
            _err(str(e))
        except OSError:            # the terminal is gone (SIGHUP)
            pass
        rc = 1
    except KeyboardInterrupt:
        rc = 130
    except BrokenPipeError:
        rc = 0
    except OSError:
        if received_signal is None:
            raise
        rc = 1                     # writing to a closed terminal after SIGHUP
    finally:
        _restore_signal_handlers()
    if received_signal is not None:
        return 128 + received_signal
    return rc


if __name__ == "__main__":
    sys.exit(main())
