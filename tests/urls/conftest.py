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
