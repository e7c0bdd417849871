"""hardware/ must agree with the firmware's pin map (firmware/glove/config.py).

WIRING.md is regenerated in memory and compared, and its committed channel table is also
parsed and checked row by row against config.channels(), independently of the generator.
The committed drawings carry a fingerprint of the config facts they show; a stale drawing
fails here. Mutated copies of the config show that every check can fail.
"""
from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HW = ROOT / "hardware"
sys.path.insert(0, str(HW))

import design  # noqa: E402
import placement  # noqa: E402
import schematic  # noqa: E402
import wiring  # noqa: E402

# From the CD74HC4067 datasheet (pin configuration): package pin of I0..I15.
MUX_CHIP_PIN_OF_INPUT = [9, 8, 7, 6, 5, 4, 3, 2, 23, 22, 21, 20, 19, 18, 17, 16]
# From the Raspberry Pi Pico datasheet (pinout): a few header pins to anchor the table.
PICO_HEADER_SAMPLES = {2: 4, 3: 5, 4: 6, 5: 7, 14: 19, 15: 20, 16: 21, 26: 31}


@pytest.fixture(scope="module")
def cfg():
    return design.load_config()


def mutated_config(tmp_path, old, new):
    """A copy of the firmware config with one piece of text replaced, loaded as a module."""
    text = design.CONFIG_PATH.read_text()
    assert old in text, "config.py no longer contains %r; update this test" % old
    p = tmp_path / "config.py"
    p.write_text(text.replace(old, new, 1))
    return design.load_config(p), p


def parse_table(md, first_heading):
    """Rows (lists of cell strings) of the markdown table whose header starts with `first_heading`."""
    lines = md.splitlines()
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_heading:
            header = cells
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip().strip("|").split("|")])
            return header, rows
    raise AssertionError("no table starting with %r" % first_heading)


def channel_table_disagreements(md, cfg):
    """Where the channel table in WIRING.md text `md` disagrees with config.channels()."""
    header, rows = parse_table(md, "ch")
    col = {name: i for i, name in enumerate(header)}
    want = cfg.channels()
    out = []
    if len(rows) != len(want):
        out.append("table has %d channel rows, config has %d" % (len(rows), len(want)))
    for row, (mux, name, hand, site, cls) in zip(rows, want):
        sc = cfg.SENSOR_CLASSES[cls]
        expect = {
            "ch": str(mux), "name": name, "hand": hand, "site": site, "sensor": cls,
            "mux input": str(mux),
            "mux pin": "C%d (I%d, chip pin %d)" % (mux, mux, MUX_CHIP_PIN_OF_INPUT[mux]),
            "glove connector": "%s glove, SNS%d" % (hand, mux % cfg.SITES_PER_HAND),
            "R_divider (ohm)": str(sc["r_divider_ohm"]), "R_bleed (ohm)": str(sc["r_bleed_ohm"]),
        }
        for key, value in expect.items():
            got = row[col[key]]
            if got != value:
                out.append("channel %d %s: table says %r, config says %r" % (mux, key, got, value))
    return out


def svg_text(path):
    """All text of an SVG (labels are kept as <text> elements), unescaped."""
    return " ".join(ET.parse(path).getroot().itertext())


# --- WIRING.md -------------------------------------------------------------------------
def test_config_can_be_wired(cfg):
    assert design.problems(cfg) == []


def test_wiring_md_is_what_the_generator_writes(cfg):
    assert wiring.check(cfg) == []


def test_wiring_md_channel_rows_match_config_channels(cfg):
    md = wiring.WIRING_PATH.read_text()
    assert channel_table_disagreements(md, cfg) == []


def test_wiring_md_board_pins_match_config(cfg):
    _, rows = parse_table(wiring.WIRING_PATH.read_text(), "function")
    by_function = {r[0]: r for r in rows}
    adc = by_function["ADC (multiplexer signal)"]
    assert adc[1].startswith("GP%d (pin %d)" % (cfg.ADC_PIN, PICO_HEADER_SAMPLES[cfg.ADC_PIN]))
    for i, p in enumerate(cfg.MUX_SELECT_PINS):
        row = by_function["mux select S%d%s" % (i, " (LSB)" if i == 0 else "")]
        assert row[1] == "GP%d (pin %d)" % (p, PICO_HEADER_SAMPLES[p])
        assert "S%d" % i in row[2]
    for hand in cfg.HANDS:
        p = cfg.BUZZER_PINS[hand]
        assert by_function["vibration motor, %s glove" % hand][1] == \
            "GP%d (pin %d)" % (p, PICO_HEADER_SAMPLES[p])
    assert by_function["mark button"][1] == \
        "GP%d (pin %d)" % (cfg.BUTTON_PIN, PICO_HEADER_SAMPLES[cfg.BUTTON_PIN])


def test_table_check_fails_on_a_tampered_row(cfg):
    md = wiring.WIRING_PATH.read_text()
    tampered = md.replace("| 1 | R_index |", "| 1 | R_middle |", 1)
    assert tampered != md
    assert any("channel 1 name" in m for m in channel_table_disagreements(tampered, cfg))


def test_check_cli_passes_on_the_committed_file():
    r = subprocess.run([sys.executable, str(HW / "wiring.py"), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_check_detects_swapped_select_pins(cfg, tmp_path):
    old = "MUX_SELECT_PINS = (%s)" % ", ".join(str(p) for p in cfg.MUX_SELECT_PINS)
    pins = list(cfg.MUX_SELECT_PINS)
    pins[0], pins[1] = pins[1], pins[0]
    new = "MUX_SELECT_PINS = (%s)" % ", ".join(str(p) for p in pins)
    bad, path = mutated_config(tmp_path, old, new)
    msgs = wiring.check(bad)
    assert msgs and "stale" in msgs[0] and "python hardware/wiring.py" in msgs[0]
    r = subprocess.run([sys.executable, str(HW / "wiring.py"), "--check", "--config", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "stale" in r.stderr
    # the committed drawings would be stale too
    assert schematic.fingerprint(bad) != schematic.fingerprint(cfg)


def test_check_detects_a_changed_divider_resistor(tmp_path):
    bad, _ = mutated_config(tmp_path, '"r_divider_ohm": 680', '"r_divider_ohm": 470')
    assert wiring.check(bad)
    assert any("channel 7 R_divider" in m
               for m in channel_table_disagreements(wiring.WIRING_PATH.read_text(), bad))


def test_check_detects_a_pin_conflict(cfg, tmp_path):
    buzzer = cfg.BUZZER_PINS[cfg.HANDS[0]]
    bad, path = mutated_config(tmp_path, "BUTTON_PIN = %d" % cfg.BUTTON_PIN,
                               "BUTTON_PIN = %d" % buzzer)
    assert any("GP%d" % buzzer in m for m in design.problems(bad))
    r = subprocess.run([sys.executable, str(HW / "wiring.py"), "--check", "--config", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "both use GP%d" % buzzer in r.stderr


def test_local_overrides_do_not_leak_into_the_documents(cfg, tmp_path, monkeypatch):
    # A device's glove_local.py on this computer would otherwise change the reference config.
    (tmp_path / "glove_local.py").write_text("ADC_PIN = 27\nHANDS = ('left',)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "glove_local", raising=False)
    try:
        leaky = design._load_file(design.CONFIG_PATH, "leaky")      # a plain import
        assert leaky.ADC_PIN == 27
        c = design.load_config()
        assert (c.ADC_PIN, c.HANDS) == (cfg.ADC_PIN, cfg.HANDS)
    finally:
        sys.modules.pop("glove_local", None)


# --- drawings --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["schematic.svg", "schematic.png", "placement.svg", "placement.png"])
def test_drawings_exist(name):
    p = HW / name
    assert p.is_file() and p.stat().st_size > 10_000, "%s missing: run hardware/%s.py" % (
        p, name.split(".")[0])
    if name.endswith(".png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_schematic_connections_name_every_select_and_adc_pin(cfg):
    text = " ".join(a + " " + b for a, b in schematic.connections(cfg))
    for i, p in enumerate(cfg.MUX_SELECT_PINS):
        assert re.search(r"\bGP%d \(pin \d+\)" % p, text)
        assert "74HC4067 S%d" % i in text
    assert "GP%d (pin" % cfg.ADC_PIN in text and "SIG" in text
    for p in list(cfg.BUZZER_PINS.values()) + [cfg.BUTTON_PIN]:
        assert "GP%d (pin" % p in text


def test_committed_schematic_shows_the_current_pins(cfg):
    svg = HW / "schematic.svg"
    text = svg_text(svg)
    for i, p in enumerate(cfg.MUX_SELECT_PINS):
        assert "GP%d -> S%d" % (p, i) in text, "schematic.svg is stale: run hardware/schematic.py"
    assert "GP%d/ADC" % cfg.ADC_PIN in text
    for p in cfg.BUZZER_PINS.values():
        assert "GP%d" % p in text
    for _, name, _, _, _ in cfg.channels():
        assert name in text
    assert "config fingerprint %s" % schematic.fingerprint(cfg) in svg.read_text(), \
        "schematic.svg is stale: run hardware/schematic.py"


def test_committed_placement_labels_every_channel(cfg):
    svg = HW / "placement.svg"
    text = svg_text(svg)
    for mux, name, _, _, _ in cfg.channels():
        assert name in text and "mux C%d" % mux in text
    assert "config fingerprint %s" % placement.fingerprint(cfg) in svg.read_text(), \
        "placement.svg is stale: run hardware/placement.py"


def test_placement_knows_every_site(cfg):
    for site, cls in cfg.SITES:
        placement.site_geometry(site, cls)
    with pytest.raises(KeyError, match="SITE_LAYOUT"):
        placement.site_geometry("elbow")


def test_generators_draw_from_the_config(cfg, tmp_path):
    pytest.importorskip("schemdraw")
    schematic.render(cfg, tmp_path / "s.svg", tmp_path / "s.png")
    placement.render(cfg, tmp_path / "p.svg", tmp_path / "p.png")
    text = svg_text(tmp_path / "s.svg")
    for i, p in enumerate(cfg.MUX_SELECT_PINS):
        assert "GP%d -> S%d" % (p, i) in text
    assert "GP%d/ADC" % cfg.ADC_PIN in text
    assert (tmp_path / "p.png").stat().st_size > 10_000


# --- documents that quote config values ------------------------------------------------
def test_bom_quotes_the_configured_resistors(cfg):
    bom = (HW / "BOM.md").read_text()
    for cls, sc in cfg.SENSOR_CLASSES.items():
        assert design.ohms(sc["r_divider_ohm"]) in bom, "BOM.md lacks the %s divider value" % cls
        assert design.ohms(sc["r_bleed_ohm"]) in bom


def test_readme_links_every_file():
    readme = (HW / "README.md").read_text()
    for name in ("BOM.md", "WIRING.md", "schematic.svg", "schematic.png", "placement.svg",
                 "placement.png", "schematic.py", "placement.py", "wiring.py", "design.py"):
        assert "(%s)" % name in readme, "README.md does not link %s" % name
