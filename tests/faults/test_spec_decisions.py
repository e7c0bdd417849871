"""What docs/PROTOCOL.md decides for an outsider, checked on the host and the simulated
glove: the META checks and glove ids of the vectors, counts above full scale, reserved
flag bits, and `reset`, which really restarts the simulated glove (it re-enumerates)."""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest

from massage_glove import protocol as P
from massage_glove.link import GloveLink
from massage_glove.sim.glove import SimGlove

from faultkit import wait_until

V = json.loads((Path(__file__).resolve().parents[2] / "docs" / "protocol_vectors.json").read_text())


def test_the_valid_meta_of_the_vectors_passes():
    P.check_meta(V["meta_valid"])


@pytest.mark.parametrize("case", V["meta_checks"], ids=lambda c: c["field"] + "=" + json.dumps(
    c.get("change") or c.get("channel_change"))[:30])
def test_meta_checks_of_the_vectors_name_their_field(case):
    meta = copy.deepcopy(V["meta_valid"])
    if "change" in case:
        meta.update(case["change"])
    else:
        ch = dict(case["channel_change"])
        meta["channels"][ch.pop("channel")].update(ch)
    with pytest.raises(P.MetaError) as ei:
        P.check_meta(meta)
    assert ei.value.field == case["field"], str(ei.value)


@pytest.mark.parametrize("gid", V["glove_ids"]["valid"])
def test_valid_glove_ids(gid):
    assert P.check_glove_id(gid) == gid


@pytest.mark.parametrize("gid", V["glove_ids"]["invalid"])
def test_invalid_glove_ids(gid):
    with pytest.raises(P.MetaError):
        P.check_glove_id(gid)


def test_reset_restarts_the_simulated_glove_and_the_link_follows_it():
    """PROTOCOL.md `reset`: OK, then the glove restarts as at power-on and re-enumerates;
    the host reconnects and the stream goes on (seq and time continue on the host)."""
    with SimGlove() as sim:
        link = GloveLink.open(sim.port)
        try:
            link.start()
            assert wait_until(lambda: link.stats.samples > 100)
            pid = sim.proc.pid
            link.command("reset")
            assert wait_until(lambda: link.stats.reconnects == 1, 20.0), "the glove came back"
            assert sim.boots == 2 and sim.proc.pid != pid
            n = link.stats.samples
            assert wait_until(lambda: link.stats.samples > n + 100), "samples flow again"
            blocks = []
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                b, _ = link.read(timeout=0.05)
                if len(b):
                    blocks.append(b)
            assert all((b.seq[1:] > b.seq[:-1]).all() for b in blocks)
        finally:
            link.close()


def test_the_nominal_curve_in_the_spec_is_the_one_the_host_uses():
    import re
    from massage_glove.portable import fsr
    text = (Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md").read_text()
    for cls, p in fsr.NOMINAL.items():
        row = re.search(rf"^\| `{cls}` \| (\S+) \| (\S+) \| (\S+) N \| (\S+) N \| (\S+) mm\^2 \|$",
                        text, re.M)
        assert row, f"PROTOCOL.md section 5 has no row for {cls}"
        got = [float(x) for x in row.groups()]
        assert got == [p["r1_ohm"], p["exponent"], p["f_min_n"], p["f_max_n"], p["area_mm2"]], cls
