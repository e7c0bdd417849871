"""A recorded session for the replay, URL, LSL and class-view tests: the demo routine by a
heavy simulated trainee (seed 3) on `sim://` (the real firmware, free-running), logged by
`massage-glove live` itself."""
from __future__ import annotations

import contextlib
import io
import json

import pytest

from massage_glove import cli

SIM_URL = "sim://?trainee=heavy&seed=3&routine=demo&mode=free"


@pytest.fixture(scope="session")
def heavy_log(tmp_path_factory):
    d = tmp_path_factory.mktemp("heavy")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli.main(["live", "--port", SIM_URL, "--routine", "demo", "--headless", "--json",
                       "--no-bell", "--log-dir", str(d), "--trainee", "ana"])
    summary = json.loads(buf.getvalue())
    assert rc == 0, summary["problems"]
    path = summary["gloves"][0]["log"]
    return {"path": path, "summary": summary}


# LSL on this machine only: loopback, machine scope, a session id of this test run
from massage_glove.lsl_config import use_loopback  # noqa: E402

LSL_CFG = use_loopback()


@pytest.fixture(scope="session")
def pylsl_loopback():
    """pylsl on loopback; skips with the reason where LSL discovery does not work here."""
    try:
        import pylsl
    except Exception as e:            # no liblsl for this platform
        pytest.skip(f"pylsl/liblsl not available: {e}")
    info = pylsl.StreamInfo("massage-glove probe", "Probe", 1, 0, pylsl.cf_int32,
                            f"probe-{id(LSL_CFG)}")
    out = pylsl.StreamOutlet(info)
    found = pylsl.resolve_byprop("source_id", info.source_id(), 1, 5.0)
    del out
    if not found:
        pytest.skip("LSL stream discovery on loopback found nothing within 5 s (multicast on "
                    f"127.0.0.1 unavailable here; config {LSL_CFG})")
    return pylsl
