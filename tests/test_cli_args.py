"""Every command-line mistake is one clear line on stderr and exit status 2, before anything
starts; a property-based test feeds random arguments to every subcommand."""
from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from massage_glove import cli

STARTED = []


def _parser():
    """The real parser with every command's work replaced by a note that it would start."""
    p = cli.build_parser()
    sub = next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, sp in sub.choices.items():
        sp.set_defaults(func=lambda args, name=name: STARTED.append(name) or 0)
    return p, sub.choices


def run(argv, monkeypatch=None):
    p, _ = _parser()
    err, out = io.StringIO(), io.StringIO()
    code = None
    orig = cli.build_parser
    cli.build_parser = lambda: p
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                code = cli.main(list(argv))
            except SystemExit as e:
                code = e.code
    finally:
        cli.build_parser = orig
    return code, err.getvalue(), out.getvalue()


@pytest.mark.parametrize("argv,says", [
    (["practice", "--sensitivity", "verysoft"], "'verysoft': expected normal or sensitive"),
    (["practice", "--sensitivity", "0"], "above 0 and at most 2"),
    (["practice", "--sensitivity", "nan"], "above 0 and at most 2"),
    (["live", "--simulate", "--sensitivity", "3"], "above 0 and at most 2"),
    (["practice", "--duration", "-5"], "above 0"),
    (["practice", "--duration", "soon"], "is not a number of seconds"),
    (["practice", "--window", "0"], "above 0"),
    (["practice", "--sim-fault", "melted:R_foo:1:2"], "no fault kind 'melted'"),
    (["practice", "--sim-fault", "open:R_foo:1:2"], "no channel 'R_foo'"),
    (["practice", "--sim-fault", "open:R_index:5:2"], "0 <= T0 < T1"),
    (["practice", "--sim-fault", "open:R_index"], "KIND:CHANNEL:T0:T1"),
    (["practice", "--log-dir", "/nonexistent/logs"], "no such directory"),
    (["practice", "--calibration-dir", "/nonexistent/cal"], "no such directory"),
    (["practice", "--region", "elbow"], "no region 'elbow'"),
    (["practice", "--routine", "marathon"], "no routine 'marathon'"),
    (["practice", "--profile", "/nonexistent.json"], "no such file"),
    (["simulate", "--duration", "-1"], "0 or more"),
    (["calibrate", "--port", "x", "--hold-s", "0"], "above 0"),
    (["calibrate", "--port", "x", "--max-error-pct", "500"], "at most 100"),
    (["learn", "/nonexistent.mglog"], "no such file"),
    (["live"], "one of the arguments --port --simulate is required"),
    (["dance"], "invalid choice"),
])
def test_a_mistake_is_one_line_and_exit_2_before_anything_starts(argv, says):
    STARTED.clear()
    code, err, _ = run(argv)
    assert code == 2 and STARTED == []
    lines = err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], err
    assert lines[0].startswith("massage-glove")


def test_valid_arguments_reach_the_command():
    STARTED.clear()
    code, err, _ = run(["practice", "--sensitivity", "0.8", "--duration", "20", "--headless",
                        "--sim-fault", "noisy:R_ring:5:8", "--region", "neck"])
    assert code == 0 and STARTED == ["practice"], err


_, SUBS = _parser()
WORDS = st.sampled_from(["0", "-1", "1e309", "nan", "inf", "-5", "20", "0.5", "verysoft", "normal",
                         "sensitive", "neck", "demo", "melted:R_foo:1:2", "open:R_index:1:2",
                         "/nonexistent", ".", "", " ", "--", "-", "a:b", "x" * 300, "é", "\x00"])


def _option_strings(name):
    return sorted({o for a in SUBS[name]._actions for o in a.option_strings if o not in ("-h", "--help")})


@st.composite
def argv_for(draw, name):
    opts = _option_strings(name)
    toks = draw(st.lists(st.one_of(st.sampled_from(opts), WORDS, st.text(max_size=12)), max_size=8))
    return [name, *toks]


@pytest.mark.parametrize("name", sorted(SUBS))
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_arguments_never_give_a_traceback(name, data):
    argv = data.draw(argv_for(name))
    STARTED.clear()
    code, err, _ = run(argv)
    assert "Traceback" not in err
    if STARTED:
        assert code == 0
    else:
        assert code == 2, (argv, code, err)
        assert len(err.strip().splitlines()) == 1, (argv, err)
