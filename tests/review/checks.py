"""Every review metric against the corpus's truth, with the tolerance the metric promises.

Each check takes (scenario, truth, review) and asserts; the truth is computed here from the
scenario's applied forces and stroke list, independently of the review's code. The
tolerances (docs/REVIEW.md): stroke count and rate within 3 %, rhythm and peak variation
within 0.03, hold length within 0.2 s, hands-on within 1 % of the working time, time per
region within 0.5 s, % in band within 2 points, warm-up seconds within 2 s, coverage exact,
fatigue ratio within 0.05, cool-down verdict exact.
"""
from __future__ import annotations

import json
from importlib import resources

import numpy as np

TOL = {"count_rel": 0.03, "rate_rel": 0.03, "cv_abs": 0.03, "hold_s": 0.2, "hands_on": 0.01,
       "region_s": 0.5, "pct": 2.0, "warm_s": 2.0, "fatigue": 0.05}

_BANDS = json.loads((resources.files("massage_glove") / "data" / "bands.json").read_text())
EDGES = {k: c["edges_n"] for k, c in _BANDS["classes"].items()}
CONTACT = {k: c["contact_n"] for k, c in _BANDS["classes"].items()}
_REG = json.loads((resources.files("massage_glove") / "data" / "regions.json").read_text())
BAND_NAMES = ("light", "medium", "firm", "too_much")
RATES = {"effleurage": (40, 50), "kneading": (60, 156), "thumb_circles": (60, 70), "tapotement": (240, 600)}
PACE_TOL = 1.3          # the review's pace tolerance, restated: the truth does not read the review's settings
GAP_FACTOR = 2.5
HANDS_ON_GAP_S = 0.5


def allowed_band(region: str) -> int:
    a = _REG["regions"][region]
    key = next(k for k in ("max_band", "allowed", "highest_band", "limit") if k in a)
    return BAND_NAMES.index(a[key])


def _rcv(x) -> float | None:
    """Robust coefficient of variation, written out again: 1.4826 * MAD / median."""
    x = sorted(float(v) for v in x)
    if len(x) < 3:
        return None
    med = float(np.median(x))
    return 1.4826 * float(np.median([abs(v - med) for v in x])) / med


def truth_stroke_stats(t, p):
    t, p = np.asarray(t), np.asarray(p)
    iv = np.diff(t)
    med = float(np.median(iv))
    keep = iv[iv <= GAP_FACTOR * med]
    return {"count": len(t), "rate": 60.0 / med, "rhythm_cv": _rcv(keep), "peak_cv": _rcv(p),
            "pauses": int((iv > GAP_FACTOR * med).sum())}


def segment(review, stage_id, hand):
    got = [s for s in review["strokes"]["segments"] if s["stage"] == stage_id and s["hand"] == hand]
    return got


def check_strokes(sc, truth, review):
    seen = 0
    for st_t, st in zip(truth["stages"], sc.stages):
        if st.technique == "hold":
            continue
        for hand, tr in st_t["strokes"].items():
            if len(tr["t_s"]) < 4:
                continue
            want = truth_stroke_stats(tr["t_s"], tr["peak_n"])
            got = [s for s in review["strokes"]["segments"]
                   if s["hand"] == hand and s["t0_s"] - 0.05 <= 0.5 * (st_t["t0_s"] + st_t["t1_s"]) <= s["t1_s"]]
            assert len(got) == 1, (sc.name, st.id, hand, got)
            g = got[0]
            lifts = sum(kn for _, kn in st.lifts)
            assert abs(g["strokes"] - want["count"]) <= TOL["count_rel"] * want["count"] + 1e-9, \
                (sc.name, st.id, hand, g["strokes"], want["count"], lifts)
            assert abs(g["rate_per_min"] - want["rate"]) <= TOL["rate_rel"] * want["rate"], \
                (sc.name, st.id, hand, g["rate_per_min"], want["rate"])
            assert abs(g["rhythm_cv"] - want["rhythm_cv"]) <= TOL["cv_abs"], (sc.name, st.id, hand, g, want)
            assert abs(g["peak_cv"] - want["peak_cv"]) <= TOL["cv_abs"], (sc.name, st.id, hand, g, want)
            assert g["pauses"] == len(st.pauses), (sc.name, st.id, hand, g["pauses"], st.pauses)
            if st.band != "feather":    # a feathery touch hovers at the contact level: lifts undefined
                assert g["lifts"] == true_lifts(sc, truth, hand, tr["t_s"]), (sc.name, st.id, hand, g["lifts"])
            lo, hi = RATES[st.technique]
            pace = ("too_slow" if want["rate"] < lo / PACE_TOL else "too_fast" if want["rate"] > hi * PACE_TOL
                    else "ok")
            if g["technique"] is None:      # no routine: the technique is not known
                pace = None
            assert g["pace"] == pace, (sc.name, st.id, hand, g["rate_per_min"], pace)
            seen += 1
    assert seen > 0 or all(s.technique == "hold" for s in sc.stages), sc.name


def true_lifts(sc, truth, hand, peaks_t):
    """Intervals between the hand's true stroke tops in which it left the body for more than
    HANDS_ON_GAP_S (true force under every sensor below its contact level)."""
    dev, f, contact, band, hand_of = _true_arrays(sc, truth, None)
    h = dev.hands.index(hand)
    on = contact[:, hand_of == h].any(axis=1)
    t = truth["t_s"]
    k = 0
    for a, b in zip(peaks_t[:-1], peaks_t[1:]):
        seg = ~on[(t > a) & (t < b)]
        if seg.any():
            d = np.diff(np.r_[0, seg.astype(np.int8), 0])
            if (np.flatnonzero(d == -1) - np.flatnonzero(d == 1)).max() > HANDS_ON_GAP_S * 200:
                k += 1
    return k


def check_holds(sc, truth, review):
    want = truth["holds"]
    got = review["holds"]
    assert len(got) == len(want), (sc.name, got, want)
    for w in want:
        g = [h for h in got if h["hand"] == w["hand"] and abs(h["t0_s"] - w["t0_s"]) < 1.0]
        assert len(g) == 1, (sc.name, w, got)
        assert abs(g[0]["seconds"] - w["seconds"]) <= TOL["hold_s"], (sc.name, g[0], w)
        assert abs(g[0]["t0_s"] - w["t0_s"]) <= TOL["hold_s"], (sc.name, g[0], w)
        kinds = {"grounding": (10, 15), "static_point": (10, 15), "compression": (5, 10),
                 "heel_sink": (5, 10), "trigger_point": (15, 30)}
        lo, hi = kinds[g[0]["kind"]]
        assert g[0]["too_long"] == (w["seconds"] > hi), (sc.name, g[0], w)
        assert g[0]["too_short"] == (w["seconds"] < lo), (sc.name, g[0], w)


def band_of(f, cls):
    return int(np.searchsorted(EDGES[cls], f, side="right"))


def _true_arrays(sc, truth, review):
    from .corpus import make_device
    dev = make_device(sc.hands, sc.glove_id)
    f = truth["force_n"]
    cls = [c.sensor_class for c in dev.channels]
    contact = f >= np.array([CONTACT[c] for c in cls])
    band = np.stack([np.searchsorted(EDGES[c], f[:, j], side="right") for j, c in enumerate(cls)], 1)
    band = np.where(f >= np.array([fmax(c) for c in cls]), 3, band)
    hand_of = np.array([dev.hands.index(c.hand) for c in dev.channels])
    return dev, f, contact, band, hand_of


def fmax(cls):
    from massage_glove.portable import fsr
    return fsr.NOMINAL[cls]["f_max_n"]


def _bridge(mask, gap):
    m = mask.copy()
    d = np.diff(np.r_[0, (~m).astype(np.int8), 0])
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
        if a > 0 and b < m.size and b - a <= gap:
            m[a:b] = True
    return m


def check_hands_on(sc, truth, review):
    dev, f, contact, band, hand_of = _true_arrays(sc, truth, review)
    on = contact.any(axis=1)
    w = np.flatnonzero(on)
    span = _bridge(on[w[0]:w[-1] + 1], int(HANDS_ON_GAP_S * 200))
    want = float(span.mean())
    assert abs(review["hands_on"]["fraction"] - want) <= TOL["hands_on"], (sc.name, review["hands_on"], want)


def check_regions(sc, truth, review):
    dev, f, contact, band, hand_of = _true_arrays(sc, truth, review)
    t = truth["t_s"]
    want_s = {}
    for st in truth["stages"]:
        want_s[st["region"]] = want_s.get(st["region"], 0.0) + (st["t1_s"] - st["t0_s"])
    assert set(review["regions"]) == set(want_s), (sc.name, list(review["regions"]), want_s)
    for r, secs in want_s.items():
        g = review["regions"][r]
        assert abs(g["seconds"] - secs) <= TOL["region_s"], (sc.name, r, g["seconds"], secs)
        m = np.zeros(t.size, bool)
        for st in truth["stages"]:
            if st["region"] == r:
                m |= (t >= st["t0_s"]) & (t < st["t1_s"])
        hb_all, on_all = [], []
        for h in range(len(dev.hands)):
            cols = hand_of == h
            hb = np.where(contact[:, cols], band[:, cols], -1).max(axis=1)
            hb_all.append(hb[m])
            on_all.append(contact[m][:, cols].any(axis=1))
        hb, on = np.concatenate(hb_all), np.concatenate(on_all)
        allowed = allowed_band(r)
        want_pct = 100.0 * float(((hb <= allowed) & (hb >= 0) & on).sum()) / max(1, on.sum())
        assert abs(g["pct_in_allowed"] - want_pct) <= TOL["pct"], (sc.name, r, g["pct_in_allowed"], want_pct)
        for k, b in enumerate(BAND_NAMES):
            wb = 100.0 * float(((hb == k) & on).sum()) / max(1, on.sum())
            assert abs(g["pct_by_band"][b] - wb) <= TOL["pct"], (sc.name, r, b, g["pct_by_band"][b], wb)


def check_warm_up(sc, truth, review):
    dev, f, contact, band, hand_of = _true_arrays(sc, truth, review)
    firm = ((band >= 2) & contact).any(axis=1)
    w = review["warm_up"]
    if not firm.any():
        assert w["first_firm_s"] is None and w["ok"], (sc.name, w)
        return
    t_firm = float(truth["t_s"][int(np.argmax(firm))])
    want = t_firm - truth["work_t0_s"]
    assert abs(w["done_s"] - want) <= TOL["warm_s"], (sc.name, w, want)
    assert w["ok"] == (want >= 60.0 if sc.routine == "demo" else want >= (150.0 if sc.routine == "back" else 180.0)) \
        or (w["rise_ratio"] is not None and w["rise_ratio"] < 1.2), (sc.name, w, want)


BACK = ["paraspinals", "shoulder_blades", "upper_trapezius", "lower_back", "sides"]
ROUTINE_REGIONS = {"demo": ["lower_back", "paraspinals", "shoulder_blades", "sides", "upper_trapezius"],
                   "back": ["lower_back", "neck", "paraspinals", "sacrum", "shoulder_blades", "sides",
                            "upper_trapezius"]}


def check_coverage(sc, truth, review):
    cv = review["coverage"]
    if sc.region_only:
        assert not cv["judged"], (sc.name, cv)
        return
    targets = ROUTINE_REGIONS[sc.routine] if sc.routine else BACK
    secs = {}
    for st in truth["stages"]:
        secs[st["region"]] = secs.get(st["region"], 0.0) + (st["t1_s"] - st["t0_s"])
    covered = [r for r in targets if secs.get(r, 0.0) >= 10.0]
    assert cv["targets"] == targets and cv["covered"] == covered, (sc.name, cv, covered)
    assert cv["missed"] == [r for r in targets if r not in covered], (sc.name, cv)
    total = sum(secs.values())
    lopsided = sc.routine is None and max(secs.values()) / total > 0.5
    assert cv["lopsided"] == lopsided, (sc.name, cv, secs)
    for r, s in secs.items():
        assert abs(cv["share_by_region"][r] - s / total) <= 0.01, (sc.name, r, cv["share_by_region"], s / total)


def _third(t, p):
    t, p = np.asarray(t), np.asarray(p)
    span = t[-1] - t[0]
    e = p[t <= t[0] + span / 3]
    l_ = p[t >= t[-1] - span / 3]
    if t.size < 15 or e.size < 5 or l_.size < 5:
        return None
    return float(np.median(l_) / np.median(e))


def check_fatigue(sc, truth, review):
    w0, w1 = truth["work_t0_s"], truth["work_t1_s"]
    late_t = w0 + 2.0 * (w1 - w0) / 3.0
    ratios = []
    for st in truth["stages"]:
        if st["technique"] == "hold" or st["t1_s"] < late_t or st["id"].startswith(("cool", "warm")):
            continue
        for hand, tr in st["strokes"].items():
            q = _third(tr["t_s"], tr["peak_n"]) if tr["t_s"] else None
            if q is not None:
                ratios.append(q)
    got = review["fatigue"]["late_to_early_peak_ratio"]
    if not ratios:
        assert got is None, (sc.name, review["fatigue"])
        return
    want = float(np.median(ratios))
    assert got is not None and abs(got - want) <= TOL["fatigue"], (sc.name, review["fatigue"], want)
    assert review["fatigue"]["tiring"] == (want < 0.85), (sc.name, review["fatigue"], want)


COOL = {"no_cool_down": "not_light", "region_drill": None}


def check_cool_down(sc, truth, review):
    assert review["cool_down"]["verdict"] == COOL.get(sc.name, "ok"), (sc.name, review["cool_down"])


def check_receiver(sc, truth, review):
    fb = review["receiver"]["feedback"]
    assert [round(x["t_s"], 1) for x in fb] == [round(m["t_s"], 1) for m in truth["marks"]
                                                if m["tag"] in ("softer", "ouch")], (sc.name, fb)
    followed = [any(st.soften_after for st in sc.stages)] * len(fb)
    assert [x["eased"] for x in fb] == followed, (sc.name, fb)


def check_episodes(sc, truth, review):
    dev, f, contact, band, hand_of = _true_arrays(sc, truth, review)
    t = truth["t_s"]
    over = np.zeros(t.size, bool)
    for st in truth["stages"]:
        m = (t >= st["t0_s"]) & (t < st["t1_s"])
        over |= m & ((band > allowed_band(st["region"])) & contact).any(axis=1)
    over = _bridge(over, 200)
    d = np.diff(np.r_[0, over.astype(np.int8), 0])
    want = int((d == 1).sum())
    assert review["episodes"]["count"] == want, (sc.name, review["episodes"]["count"], want)


def check_presses(sc, truth, review):
    """Presses over the limit per hand, ended by 0.25 s under it (the live alerts' clear_ms in
    data/regions.json), counted from the applied force: within 5 % (at least 1) of the truth."""
    dev, f, contact, band, hand_of = _true_arrays(sc, truth, review)
    t = truth["t_s"]
    rate = 1.0 / float(np.median(np.diff(t)))
    clear = int(round(0.25 * rate))
    want = 0
    for h in range(len(dev.hands)):
        over = np.zeros(t.size, bool)
        for st in truth["stages"]:
            m = (t >= st["t0_s"]) & (t < st["t1_s"])
            over |= m & ((band[:, hand_of == h] > allowed_band(st["region"]))
                         & contact[:, hand_of == h]).any(axis=1)
        d = np.diff(np.r_[0, _bridge(over, clear - 1).astype(np.int8), 0])
        want += int((d == 1).sum())
    got = review["episodes"]["presses"]
    assert abs(got - want) <= max(1, 0.05 * want), (sc.name, got, want)
    assert sum(e["presses"] for e in review["episodes"]["list"]) == got, (sc.name, review["episodes"])


def check_rules(sc, truth, review):
    want = [st.region for st in sc.stages if st.technique == "tapotement"
            and not _REG["regions"][st.region]["percussion"]]
    got = [v["region"] for v in review["rules"]["violations"] if v["rule"] == "percussion"]
    assert sorted(set(got)) == sorted(set(want)), (sc.name, review["rules"], want)


def check_contact(sc, truth, review):
    want = all(st.band == "feather" for st in sc.stages if st.technique != "hold")
    assert review["contact"]["too_light"] == want, (sc.name, review["contact"])


def check_length(sc, truth, review):
    minutes = (truth["work_t1_s"] - truth["work_t0_s"]) / 60.0
    sl = review["session_length"]
    assert abs(sl["minutes"] - minutes) <= 1.5 / 60.0, (sc.name, sl, minutes)
    if sc.routine:
        assert sl["verdict"] == "as_routine", (sc.name, sl)
    elif sc.region_only:
        assert sl["verdict"] == "drill"
    else:
        kinds = {"quick": (10, 15), "standard": (20, 30), "deep": (45, 60)}
        k = next((k for k, (lo, hi) in kinds.items() if lo <= minutes <= hi), None)
        assert sl["kind"] == k, (sc.name, sl)


def check_balance(sc, truth, review):
    if len(sc.hands) == 1:
        assert review["score"]["breakdown"]["balance"]["fraction"] is None
        return
    dev, f, contact, band, hand_of = _true_arrays(sc, truth, review)
    work = [float(f[:, hand_of == h].sum()) for h in range(2)]
    want = max(work) / min(work)
    assert abs(review["balance"]["ratio"] - want) <= 0.05 * want, (sc.name, review["balance"], want)


CHECKS = {"strokes": check_strokes, "holds": check_holds, "hands_on": check_hands_on,
          "regions": check_regions, "warm_up": check_warm_up, "coverage": check_coverage,
          "fatigue": check_fatigue, "cool_down": check_cool_down, "receiver": check_receiver,
          "episodes": check_episodes, "presses": check_presses, "rules": check_rules, "contact": check_contact,
          "session_length": check_length, "balance": check_balance}
