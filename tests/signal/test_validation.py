"""Every data file goes through a validator whose errors name the file and the field."""
from __future__ import annotations

import json
import re

import pytest

from massage_glove.errors import DataFileError, GloveError
from massage_glove.signal.calibration import Calibration
from massage_glove.signal.profiles import (BANDS_PATH, REGIONS_PATH, ProfileSet, load_bands,
                                           load_profile, load_regions)


def _write(tmp_path, name, doc):
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
    return p


def _regions():
    return json.loads(REGIONS_PATH.read_text())


def _bands():
    return json.loads(BANDS_PATH.read_text())


def test_shipped_files_load():
    ProfileSet.load()


def test_malformed_json_gives_line_and_column(tmp_path):
    p = _write(tmp_path, "regions.json", '{\n  "format": "massage-glove/regions",\n  "version": 1,\n  oops\n}')
    with pytest.raises(DataFileError) as e:
        load_regions(p)
    assert str(p) in str(e.value)
    assert e.value.line == 4 and e.value.col == 3
    assert f"{p}:4:3" in str(e.value)
    assert isinstance(e.value, GloveError)


def test_missing_file(tmp_path):
    with pytest.raises(DataFileError, match="no such file"):
        load_bands(tmp_path / "nope.json")


@pytest.mark.parametrize("mutate,field,expected", [
    (lambda d: d["regions"]["neck"].update(max_band="too_much"), "regions.neck.max_band", "one of"),
    (lambda d: d["regions"]["neck"].update(max_band="soft"), "regions.neck.max_band", "'light'"),
    (lambda d: d["regions"]["spine"].pop("name"), "regions.spine.name", "present"),
    (lambda d: d["regions"].pop("kidney"), "regions.kidney", "defined"),
    (lambda d: d["regions"]["ribs"].update(key="n"), "regions.ribs.key", "not already used"),
    (lambda d: d["regions"]["spine"].update(static_max_s=None), "regions.spine.static_max_s", "seconds"),
    (lambda d: d["regions"]["sides"].update(hold_max_s=-1), "regions.sides.hold_max_s", "> 0"),
    (lambda d: d["sensitivities"]["sensitive"].update(factor="0.72"), "sensitivities.sensitive.factor", "number"),
    (lambda d: d["settings"]["dwell_up_ms"].update(value=True), "settings.dwell_up_ms.value", "number"),
    (lambda d: d["settings"]["filter_kind"].update(value="fir"), "settings.filter_kind.value", "'butter'"),
    (lambda d: d["rules"]["too_much"].update(severity="loud"), "rules.too_much.severity", "'danger'"),
    (lambda d: d["rules"].pop("percussion"), "rules.percussion", "present"),
    (lambda d: d.update(format="something"), "format", "massage-glove/regions"),
    (lambda d: d.update(version=7), "version", "<= 1"),
])
def test_regions_errors_name_file_and_field(tmp_path, mutate, field, expected):
    d = _regions()
    mutate(d)
    p = _write(tmp_path, "regions.json", d)
    with pytest.raises(DataFileError) as e:
        load_regions(p)
    msg = str(e.value)
    assert e.value.file == str(p) and msg.startswith(str(p))
    assert e.value.field == field, msg
    assert f"`{field}`" in msg
    assert expected in msg


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d["classes"]["fsr402"].update(edges_n=[4, 9]), "classes.fsr402.edges_n"),
    (lambda d: d["classes"]["fsr402"].update(edges_n=[4, 19, 15]), "classes.fsr402.edges_n[2]"),
    (lambda d: d["classes"]["fsr406"].update(edges_n=[10, "25", 40]), "classes.fsr406.edges_n[1]"),
    (lambda d: d["classes"]["fsr406"].update(contact_n=12.0), "classes.fsr406.contact_n"),
    (lambda d: d.update(bands=["soft", "medium", "firm", "too_much"]), "bands"),
    (lambda d: d.update(units="kg"), "units"),
])
def test_bands_errors_name_field(tmp_path, mutate, field):
    d = _bands()
    mutate(d)
    p = _write(tmp_path, "bands.json", d)
    with pytest.raises(DataFileError) as e:
        load_bands(p)
    assert e.value.field == field and str(p) in str(e.value)


def _cal():
    return {"format": "massage-glove/calibration", "version": 1, "glove_id": "g1",
            "date": "2025-03-14", "adc_bits": 12, "loading_time_s": 10,
            "channels": [{"index": 0, "name": "R_thumb", "class": "fsr402", "r_divider_ohm": 1500,
                          "r_bleed_ohm": 100000, "loads_n": [1, 5], "readings_counts": [800, 1900],
                          "model": "power", "params": {"a": 70000, "b": 1.28}, "fit_error": None}]}


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d["channels"][0].update(model="spline"), "channels[0].model"),
    (lambda d: d["channels"][0]["params"].pop("b"), "channels[0].params.b"),
    (lambda d: d["channels"][0].update(readings_counts=[800]), "channels[0].readings_counts"),
    (lambda d: d["channels"][0].update(readings_counts=[800, 5000]), "channels[0].readings_counts[1]"),
    (lambda d: d["channels"][0].update(r_divider_ohm=0), "channels[0].r_divider_ohm"),
    (lambda d: d["channels"][0].update(model="pchip", params={"g_s": [2e-4, 1e-4], "f_n": [1, 5]}),
     "channels[0].params.g_s[1]"),
    (lambda d: d.update(date="yesterday"), "date"),
    (lambda d: d.update(channels=[]), "channels"),
])
def test_calibration_errors_name_field(tmp_path, mutate, field):
    d = _cal()
    Calibration.load(_write(tmp_path, "g1.json", d))
    mutate(d)
    p = _write(tmp_path, "g1.json", d)
    with pytest.raises(DataFileError) as e:
        Calibration.load(p)
    assert e.value.field == field, str(e.value)
    assert str(e.value).startswith(str(p))


def test_learned_profile_errors(tmp_path):
    doc = {"format": "massage-glove/profile", "version": 1, "date": "2025-03-14",
           "method": {"limit_percentile": 95, "target_percentiles": [25, 75]},
           "regions": {"neck": {"classes": {"fsr402": {"edges_n": [3, 6, 10], "target_n": [1, 2],
                                                       "n_samples": 500}}}}}
    load_profile(_write(tmp_path, "p.json", doc))
    doc["regions"]["elbow"] = doc["regions"].pop("neck")
    p = _write(tmp_path, "p.json", doc)
    with pytest.raises(DataFileError) as e:
        ProfileSet.load(learned_path=p)
    assert e.value.field == "regions.elbow" and str(p) in str(e.value)
    doc["regions"]["neck"] = doc["regions"].pop("elbow")
    doc["regions"]["neck"]["classes"]["fsr402"]["edges_n"] = [3, 2, 10]
    with pytest.raises(DataFileError, match=re.escape("regions.neck.classes.fsr402.edges_n[1]")):
        load_profile(_write(tmp_path, "p.json", doc))
