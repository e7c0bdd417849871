"""The review of a session log: reprocess the raw counts offline, measure, score, advise.

    review = review_log("session.mglog")              # a dict, JSON-ready
    text = render_text(review)

The log's raw counts go through the same calibration as live (the one recorded in the
header, or nominal curves, said in `notes`) and the zero-phase filter; bands are taken
against each moment's region (from the log's region events) for the skill and receiver
the session used. Thresholds and weights: data/review.json (docs/REVIEW.md).
"""
from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import DataFileError, GloveError
from ..log import load
from ..signal import default_profile_set, filter_zero_phase
from ..signal.bands import BANDS, FIRM, MEDIUM, classify_n
from ..signal.calibration import Calibration, ForceConverter
from ..signal.datafile import Node, check_format, read_json
from ..signal.rules import SITE_TEXT
from . import metrics as M

log = logging.getLogger(__name__)

REVIEW_PATH = resources.files("massage_glove") / "data" / "review.json"
PARTS = ("in_band", "alerts", "warm_up", "rhythm", "consistency", "hands_on", "coverage",
         "cool_down", "balance")


# --- settings --------------------------------------------------------------------------

def load_settings(path=None) -> dict:
    """The review's thresholds and weights (data/review.json); DataFileError names file and field."""
    root = read_json(path or REVIEW_PATH)
    check_format(root, "massage-glove/review", (1,))
    v = lambda n: n["value"]  # noqa: E731
    st, se, ho, sc = root["strokes"], root["session"], root["holds"], root["score"]
    out = {
        "min_prominence_fraction": v(st["min_prominence_fraction"]).number(min_exclusive=0, max=5),
        "min_interval_s": v(st["min_interval_s"]).number(min_exclusive=0, max=10),
        "max_gap_factor": v(st["max_gap_factor"]).number(min=1, max=100),
        "rhythm_cv_max": v(st["rhythm_cv_max"]).number(min_exclusive=0, max=5),
        "peak_cv_max": v(st["peak_cv_max"]).number(min_exclusive=0, max=5),
        "rush_factor": v(st["rush_factor"]).number(min=1, max=10),
        "rates": {k: v(n).number(min_exclusive=0) for k, n in root["technique_rates_per_min"].items()},
        "min_steady_s": v(ho["min_steady_s"]).number(min_exclusive=0, max=600),
        "steady_tolerance": v(ho["steady_tolerance"]).number(min=0, max=1),
        "hands_on_min_fraction": v(se["hands_on_min_fraction"]).number(min_exclusive=0, max=1),
        "balance_max_ratio": v(se["balance_max_ratio"]).number(min=1, max=100),
        "fatigue_min_ratio": v(se["fatigue_min_ratio"]).number(min_exclusive=0, max=1),
        "cool_down_s": v(se["cool_down_s"]).number(min_exclusive=0, max=3600),
        "min_region_s": v(se["min_region_s"]).number(min=0, max=3600),
        "back_regions": [x.str() for x in v(se["back_regions"]).elements(min_length=1)],
        "miss_scale": v(sc["miss_scale"]).number(min_exclusive=0, max=100),
    }
    w = v(sc["weights"])
    out["weights"] = {p: w[p].number(min=0) for p in PARTS}
    if abs(sum(out["weights"].values()) - 100.0) > 1e-6:
        raise w.error("weights that add up to 100", str(sum(out["weights"].values())))
    ac = v(sc["alert_cost"])
    out["alert_cost"] = {k: ac[k].number(min=0, max=1) for k in ("info", "warning", "danger")}
    return out


# --- reprocessing ----------------------------------------------------------------------

def _calibration(slog, notes: list[str]) -> Calibration | None:
    cal = slog.header.get("calibration")
    if isinstance(cal, dict) and isinstance(cal.get("embedded"), dict):
        try:
            return Calibration.from_node(Node(str(slog.path) + " (embedded calibration)", "",
                                              cal["embedded"]))
        except DataFileError as e:
            notes.append(f"the calibration recorded in the log is unreadable ({e}); nominal curves used")
            return None
    if isinstance(cal, dict) and cal.get("path") and Path(cal["path"]).is_file():
        try:
            return Calibration.load(cal["path"])
        except DataFileError as e:
            notes.append(f"the calibration file is unreadable ({e}); nominal curves used")
            return None
    notes.append("no calibration recorded for this glove: forces from nominal FSR curves "
                 "(can be off by 30 % or more)")
    return None


def _tare(slog) -> np.ndarray | None:
    for e in slog.events:
        if e.kind == "tare" and e.fields.get("ok") and isinstance(e.fields.get("offsets_s"), list):
            off = np.asarray(e.fields["offsets_s"], np.float64)
            if off.shape == (slog.n_channels,):
                return off
    return None


def _settle(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, 0.0)


class Session:
    """A log reprocessed: per-sample force, region, technique, bands, contact (arrays)."""

    def __init__(self, slog, profile_set=None):
        self.log = slog
        self.notes: list[str] = list(slog.problems)
        dev = slog.device
        self.device = dev
        self.ps = ps = profile_set or default_profile_set()
        h = slog.header
        self.skill = h.get("skill_level") or "trained"
        if self.skill not in ps.skills:
            self.notes.append(f"unknown skill level {self.skill!r} in the log: reviewed as trained")
            self.skill = "trained"
        sens = h.get("sensitivity")
        self.sensitivity = float(sens) if isinstance(sens, (int, float)) and sens > 0 else 1.0
        self.rate = float(h.get("rate_hz") or dev.rate_hz)
        s = slog.samples
        self.t = np.asarray(s.t_device_s, np.float64)
        n = self.t.size
        self.n = n
        conv = ForceConverter(dev, _calibration(slog, self.notes))
        tare = _tare(slog)
        if tare is None:
            self.notes.append("no tare in the log: forces are not zeroed")
            tare = np.zeros(len(dev.channels))
        fault = conv.faults(s.counts)
        force = conv.force_n_from_conductance(conv.conductance_s(s.counts) - tare)
        bad = fault != 0
        f = filter_zero_phase(_settle(np.where(bad, 0.0, force)), self.rate) if n > 30 else force
        self.force = np.where(bad, np.nan, np.maximum(f, 0.0))
        self.fault = fault
        # region and technique of every sample
        ev = slog.events
        reg = [(e.t_device_s, e.fields.get("region")) for e in ev
               if e.kind == "region" and e.t_device_s is not None]
        stg = [(e.t_device_s, e.fields.get("technique"), e.fields.get("stage")) for e in ev
               if e.kind == "stage" and e.t_device_s is not None]
        self.region = M.labels_at(self.t, [r[0] for r in reg], [r[1] for r in reg])
        self.technique = M.labels_at(self.t, [x[0] for x in stg], [x[1] for x in stg])
        self.stage = M.labels_at(self.t, [x[0] for x in stg], [x[2] for x in stg])
        self.hands = list(dev.hands)
        self.hand_of = np.array([self.hands.index(c.hand) for c in dev.channels])
        nch = len(dev.channels)
        self.band = np.full((n, nch), -1, np.int8)
        self.ratio = np.zeros((n, nch))       # force / the region's limit
        self.contact = np.zeros((n, nch), bool)
        self.regions_seen = [r for r in dict.fromkeys(self.region.tolist()) if r is not None]
        for r in [None] + self.regions_seen:
            m = self.region == r if r is not None else np.array([x is None for x in self.region])
            if not m.any():
                continue
            if r is not None and r not in ps.regions:
                self.notes.append(f"region {r!r} in the log is not in the regions data: reviewed without its limit")
                r = None
            P = ps.resolve(r, self.skill, self.sensitivity, dev.channels)
            fr = self.force[m]
            self.band[m] = np.where(np.isnan(fr), -1, classify_n(_settle(fr), P.edges_n))
            self.ratio[m] = _settle(fr) / P.limit_n
            self.contact[m] = _settle(fr) >= P.contact_n
        self.edges = {r: ps.resolve(r, self.skill, self.sensitivity, dev.channels)
                      for r in self.regions_seen if r in ps.regions}
        H = len(self.hands)
        self.hand_force = np.stack([_settle(self.force[:, self.hand_of == h]).sum(axis=1)
                                    for h in range(H)], 1) if n else np.zeros((0, H))
        self.hand_contact = np.stack([self.contact[:, self.hand_of == h].any(axis=1)
                                      for h in range(H)], 1) if n else np.zeros((0, H), bool)
        hb = np.full((n, H), -1, np.int8)
        for h in range(H):
            cols = self.hand_of == h
            b = np.where(self.contact[:, cols], self.band[:, cols], -1)
            hb[:, h] = b.max(axis=1) if cols.any() else -1
        self.hand_band = hb
        self.hand_ratio = np.stack([np.where(self.contact[:, self.hand_of == h],
                                             self.ratio[:, self.hand_of == h], 0.0).max(axis=1)
                                    for h in range(H)], 1) if n else np.zeros((0, H))
        self.alerts = [e for e in ev if e.kind == "alert"]
        self.marks = [e for e in ev if e.kind == "mark"]
        routine_key = (slog.header.get("extra") or {}).get("routine")
        self.routine = None
        if routine_key:
            try:
                from ..live.routine import load_routine
                self.routine = load_routine(routine_key)
            except GloveError:
                self.notes.append(f"the routine {routine_key!r} is not known here")

    @property
    def duration_s(self) -> float:
        return float(self.n / self.rate)


# --- the review ------------------------------------------------------------------------

def _pct(x: float) -> float:
    return round(100.0 * x, 1)


def _hand_light_edge(S: Session, h: int) -> float:
    """The smallest light|medium edge among the hand's sensors (newtons)."""
    cols = np.flatnonzero(S.hand_of == h)
    return float(min(S.ps.classes[S.device.channels[j].sensor_class].edges_n[0] for j in cols))


def review_session(S: Session, cfg: dict | None = None) -> dict:
    """Every metric, the score and the advice for a reprocessed session (JSON-ready dict)."""
    cfg = cfg or load_settings()
    rate, n, H = S.rate, S.n, len(S.hands)
    dt = 1.0 / rate if rate else 0.0
    settings = S.ps.settings
    gap = int(round(settings.contact_gap_s * rate))
    any_contact = S.hand_contact.any(axis=1) if n else np.zeros(0, bool)
    work = np.flatnonzero(any_contact)
    w0, w1 = (int(work[0]), int(work[-1]) + 1) if work.size else (0, 0)
    out: dict = {"log": str(S.log.path), "trainee": S.log.header.get("trainee"),
                 "glove_id": S.device.glove_id, "start_time": S.log.header.get("start_time"),
                 "duration_s": round(S.duration_s, 2), "rate_hz": rate, "skill": S.skill,
                 "sensitivity": S.sensitivity, "routine": S.routine.key if S.routine else None,
                 "hands": S.hands, "notes": S.notes, "complete": S.log.complete}

    # --- per region ----------------------------------------------------------------
    regions = {}
    cost_sum, cost_n = 0.0, 0
    for r in S.regions_seen:
        m = S.region == r
        P = S.edges.get(r)
        allowed = P.allowed_band if P is not None else 3
        onh = S.hand_contact[m]
        hb = S.hand_band[m]
        on_samples = int(onh.sum())
        bands = {b: _pct(float(((hb == k) & onh).sum()) / on_samples) if on_samples else 0.0
                 for k, b in enumerate(BANDS)}
        in_allowed = float((((hb <= allowed) & (hb >= 0)) & onh).sum()) / on_samples if on_samples else None
        cost = M.miss_cost(S.hand_ratio[m], cfg["miss_scale"])[onh]
        cost_sum += float(cost.sum())
        cost_n += int(cost.size)
        al = [a for a in S.alerts if a.fields.get("region") == r]
        regions[r] = {
            "name": S.ps.regions[r].name if r in S.ps.regions else r,
            "allowed": BANDS[allowed], "seconds": round(float(m.sum()) * dt, 2),
            "hands_on_s": round(float(onh.any(axis=1).sum()) * dt, 2),
            "pct_in_allowed": _pct(in_allowed) if in_allowed is not None else None,
            "pct_by_band": bands,
            "mean_miss": round(float(cost.mean()), 3) if cost.size else 0.0,
            "alerts": [{"t_s": round(a.t_device_s or 0.0, 2), "rule": a.fields.get("rule"),
                        "severity": a.fields.get("severity", "warning"),
                        "text": a.fields.get("text", "")} for a in al],
        }
    out["regions"] = regions

    # --- strokes -------------------------------------------------------------------
    seg_key = np.array([f"{r}|{t}" for r, t in zip(S.region.tolist(), S.technique.tolist())],
                       dtype=object) if n else np.zeros(0, object)
    strokes_by_hand, segments = {}, []
    for h, hand in enumerate(S.hands):
        prom = cfg["min_prominence_fraction"] * _hand_light_edge(S, h)
        st = M.detect_strokes(S.t, S.hand_force[:, h], rate, prom, cfg["min_interval_s"])
        strokes_by_hand[hand] = st
        # runs of the same region and technique
        if n:
            change = np.flatnonzero(seg_key[1:] != seg_key[:-1]) + 1
            bounds = [0, *change.tolist(), n]
            for a, b in zip(bounds[:-1], bounds[1:]):
                sel = (st.peak_i >= a) & (st.peak_i < b)
                ry = M.rhythm(st.t_s[sel], st.peak_n[sel], cfg["max_gap_factor"])
                if ry.count < 4:
                    continue
                tech = S.technique[a]
                usual = cfg["rates"].get(tech) if tech else None
                rushed = bool(usual and ry.rate_per_min and ry.rate_per_min > cfg["rush_factor"] * usual)
                segments.append({
                    "hand": hand, "region": S.region[a], "technique": tech, "stage": S.stage[a],
                    "t0_s": round(float(S.t[a]), 2), "t1_s": round(float(S.t[b - 1]), 2),
                    "strokes": ry.count,
                    "rate_per_min": round(ry.rate_per_min, 1) if ry.rate_per_min else None,
                    "usual_rate_per_min": usual,
                    "rhythm_cv": round(ry.interval_cv, 3) if ry.interval_cv is not None else None,
                    "peak_cv": round(ry.peak_cv, 3) if ry.peak_cv is not None else None,
                    "peak_median_n": round(ry.peak_median_n, 2) if ry.peak_median_n else None,
                    "rushing": rushed,
                    "inconsistent_pressure": bool(ry.peak_cv is not None and ry.peak_cv > cfg["peak_cv_max"]),
                    "irregular_rhythm": bool(ry.interval_cv is not None and ry.interval_cv > cfg["rhythm_cv_max"]),
                })
    out["strokes"] = {
        "count": {hand: int(s.peak_i.size) for hand, s in strokes_by_hand.items()},
        "peaks": {hand: {"t_s": np.round(s.t_s, 3).tolist(), "peak_n": np.round(s.peak_n, 2).tolist()}
                  for hand, s in strokes_by_hand.items()},
        "segments": segments,
    }

    # --- holds -----------------------------------------------------------------------
    holds = []
    for h, hand in enumerate(S.hands):
        engaged = S.hand_band[:, h] >= MEDIUM
        for a, b in M.steady_runs(S.hand_force[:, h], engaged, rate, settings.steady_window_s,
                                  cfg["steady_tolerance"], cfg["min_steady_s"]):
            tech = S.technique[a]
            r = S.region[a]
            limit = None
            if tech in S.ps.techniques and S.ps.techniques[tech].hold_max_s:
                limit = S.ps.techniques[tech].hold_max_s
            elif r in S.ps.regions and getattr(S.ps.regions[r], "hold_max_s", None):
                limit = S.ps.regions[r].hold_max_s
            seg = S.hand_force[a:b, h]
            holds.append({"hand": hand, "region": r, "technique": tech, "t0_s": round(float(S.t[a]), 2),
                          "seconds": round((b - a) * dt, 2), "limit_s": limit,
                          "too_long": bool(limit and (b - a) * dt > limit),
                          "steadiness_cv": round(float(np.std(seg) / np.mean(seg)), 3) if np.mean(seg) > 0 else None})
    out["holds"] = holds

    # --- warm-up ---------------------------------------------------------------------
    warm_needed = S.routine.warm_up_s if S.routine else settings.warmup_s
    firm_any = ((S.hand_band >= FIRM) & S.hand_contact).any(axis=1) if n else np.zeros(0, bool)
    first_firm = int(np.argmax(firm_any)) if firm_any.any() else None
    upto = first_firm if first_firm is not None else n
    engaged = M.bridge_gaps(any_contact[:upto], gap)
    warm_s = float(engaged.sum()) * dt
    pre = S.hand_band[:upto][S.hand_contact[:upto]] if upto else np.zeros(0)
    half = pre.size // 2
    rising = bool(pre.size >= 2 and np.mean(pre[half:]) >= np.mean(pre[:half]))
    warm_ok = first_firm is None or warm_s >= warm_needed
    out["warm_up"] = {"needed_s": warm_needed, "done_s": round(warm_s, 1),
                      "first_firm_s": round(float(S.t[first_firm]), 2) if first_firm is not None else None,
                      "light_rising_to_medium": rising, "ok": bool(warm_ok)}

    # --- hands on, balance, coverage, fatigue, cool-down ---------------------------------
    span = any_contact[w0:w1]
    hands_on = float(M.bridge_gaps(span, gap // 2).mean()) if span.size else 0.0
    out["hands_on"] = {"fraction": round(hands_on, 3), "working_s": round((w1 - w0) * dt, 1)}
    work_n = S.hand_force.sum(axis=0) * dt if n else np.zeros(H)
    ratio = float(work_n.max() / max(work_n.min(), 1e-9)) if H == 2 else 1.0
    out["balance"] = {"work_ns": {hand: round(float(work_n[h]), 1) for h, hand in enumerate(S.hands)},
                      "ratio": round(min(ratio, 1e6), 2)}
    targets = sorted({st.region for st in S.routine.stages}) if S.routine else cfg["back_regions"]
    covered = [r for r in targets if r in regions and regions[r]["hands_on_s"] >= cfg["min_region_s"]]
    out["coverage"] = {"targets": targets, "covered": covered,
                       "missed": [r for r in targets if r not in covered],
                       "fraction": round(len(covered) / len(targets), 3) if targets else 1.0}
    fat = []
    if n and w1 > w0:
        third = (S.t[w1 - 1] - S.t[w0]) / 3.0
        for hand, st in strokes_by_hand.items():
            keys = seg_key[st.peak_i]
            early = st.t_s < S.t[w0] + third
            late = st.t_s > S.t[w1 - 1] - third
            for k in set(keys[early]) & set(keys[late]):
                if (early & (keys == k)).sum() < 5 or (late & (keys == k)).sum() < 5:
                    continue
                a = np.median(st.peak_n[early & (keys == k)])
                b = np.median(st.peak_n[late & (keys == k)])
                if a > 0:
                    fat.append(b / a)
    fatigue = float(np.median(fat)) if fat else None
    out["fatigue"] = {"late_to_early_peak_ratio": round(fatigue, 3) if fatigue else None,
                      "tiring": bool(fatigue is not None and fatigue < cfg["fatigue_min_ratio"])}
    cd = int(round(cfg["cool_down_s"] * rate))
    cool = {"ok": False, "light_fraction": None, "lighter": None, "slower": None}
    if w1 - w0 > 2 * cd:
        end = slice(w1 - cd, w1)
        hb_end = S.hand_band[end][S.hand_contact[end]]
        light = float((hb_end <= 0).mean()) if hb_end.size else 0.0
        on_force = S.hand_force[w0:w1][S.hand_contact[w0:w1]]
        lighter = bool(on_force.size and np.median(S.hand_force[end][S.hand_contact[end]])
                       < np.median(on_force)) if hb_end.size else False
        rates_all = [s["rate_per_min"] for s in segments if s["rate_per_min"]]
        end_t = S.t[w1 - cd]
        rates_end = [s["rate_per_min"] for s in segments if s["rate_per_min"] and s["t1_s"] >= end_t]
        slower = bool(rates_end and rates_all and np.median(rates_end) <= np.median(rates_all))
        cool = {"ok": bool(light >= 0.8 and lighter), "light_fraction": round(light, 3),
                "lighter": lighter, "slower": slower}
    out["cool_down"] = cool

    # --- alerts and marks -------------------------------------------------------------
    out["alerts"] = [{"t_s": round(a.t_device_s or 0.0, 2), "rule": a.fields.get("rule"),
                      "region": a.fields.get("region"), "severity": a.fields.get("severity", "warning"),
                      "sensor": a.fields.get("channel"), "text": a.fields.get("text", "")}
                     for a in S.alerts]
    out["marks"] = [{"t_s": round(m.t_device_s or 0.0, 2), "text": m.fields.get("text", "")}
                    for m in S.marks]
    out["link"] = [{"kind": e.kind, "t_s": e.t_device_s, **{k: v for k, v in e.fields.items()
                                                           if k in ("missing", "seconds", "text")}}
                   for e in S.log.events if e.kind in ("gap", "disconnect", "reconnect", "boot",
                                                       "drop", "log_overflow")]

    # --- score ---------------------------------------------------------------------------
    parts = {}
    parts["in_band"] = 1.0 - cost_sum / cost_n if cost_n else None
    ac = cfg["alert_cost"]
    parts["alerts"] = max(0.0, 1.0 - sum(ac.get(a["severity"], ac["warning"]) for a in out["alerts"]))
    parts["warm_up"] = (1.0 if first_firm is None else min(1.0, warm_s / warm_needed) if warm_needed else 1.0)
    seg_w = [s["strokes"] for s in segments]
    rc = [s["rhythm_cv"] for s in segments if s["rhythm_cv"] is not None]
    rw = [s["strokes"] for s in segments if s["rhythm_cv"] is not None]
    parts["rhythm"] = M.cv_part(rc, rw, cfg["rhythm_cv_max"])
    if parts["rhythm"] is not None and seg_w:
        rushed_share = sum(s["strokes"] for s in segments if s["rushing"]) / sum(seg_w)
        parts["rhythm"] *= 1.0 - rushed_share
    pc = [s["peak_cv"] for s in segments if s["peak_cv"] is not None]
    pw = [s["strokes"] for s in segments if s["peak_cv"] is not None]
    parts["consistency"] = M.cv_part(pc, pw, cfg["peak_cv_max"])
    parts["hands_on"] = min(1.0, hands_on / cfg["hands_on_min_fraction"]) if span.size else None
    parts["coverage"] = out["coverage"]["fraction"]
    parts["cool_down"] = (1.0 if cool["ok"] else 0.5 if cool["lighter"] else 0.0) if cool["light_fraction"] is not None else None
    parts["balance"] = (1.0 if ratio <= cfg["balance_max_ratio"] else cfg["balance_max_ratio"] / ratio) if H == 2 else None
    weights = cfg["weights"]
    scored = {p: v for p, v in parts.items() if v is not None}
    wsum = sum(weights[p] for p in scored)
    breakdown = {}
    for p in PARTS:
        v = parts[p]
        w = weights[p] * 100.0 / wsum if (v is not None and wsum) else 0.0
        breakdown[p] = {"fraction": None if v is None else round(v, 3), "max": round(w, 1),
                        "points": None if v is None else round(w * v, 1),
                        "lost": 0.0 if v is None else round(w * (1.0 - v), 1)}
    score = sum(b["points"] for b in breakdown.values() if b["points"] is not None)
    out["score"] = {"total": round(score, 1), "breakdown": breakdown,
                    "not_scored": [p for p in PARTS if parts[p] is None]}
    out["advice"] = advice(out, cfg)
    return out


# --- advice --------------------------------------------------------------------------

def _worst_region(review: dict) -> tuple[str, dict] | None:
    rs = [(r, d) for r, d in review["regions"].items() if d["pct_in_allowed"] is not None and d["hands_on_s"] > 0]
    if not rs:
        return None
    return min(rs, key=lambda x: (x[1]["pct_in_allowed"], -x[1]["mean_miss"]))


def _advice_for(part: str, review: dict, cfg: dict) -> str:
    if part == "in_band":
        w = _worst_region(review)
        if w:
            r, d = w
            over = {b: p for b, p in d["pct_by_band"].items()
                    if BANDS.index(b) > BANDS.index(d["allowed"]) and p > 0}
            over_txt = ", ".join(f"{p:.0f} % {b.replace('_', ' ')}" for b, p in over.items())
            return (f"Over the {d['name'].lower()} stay at {d['allowed']} or lighter: you were in the "
                    f"allowed band {d['pct_in_allowed']:.0f} % of the time ({over_txt or 'near its top edge'}). "
                    f"Ease off as soon as the screen turns orange.")
        return "Keep each region's pressure inside its allowed band."
    if part == "alerts":
        rules = {}
        for a in review["alerts"]:
            rules[a["rule"]] = rules.get(a["rule"], 0) + 1
        if rules:
            rule, k = max(rules.items(), key=lambda x: x[1])
            example = next(a["text"] for a in review["alerts"] if a["rule"] == rule)
            return f"{k} alert{'s' if k > 1 else ''} of one kind ({rule.replace('_', ' ')}), e.g. \"{example}\" Work to get none next time."
        return "No alerts: keep it that way."
    if part == "warm_up":
        w = review["warm_up"]
        return (f"Warm up longer before any firm pressure: {w['done_s']:.0f} s of light to medium strokes "
                f"came before the first firm pressure at {w['first_firm_s'] or 0:.0f} s; give it "
                f"{w['needed_s']:.0f} s, light rising to medium.")
    if part == "rhythm":
        segs = [s for s in review["strokes"]["segments"] if s["rushing"] or s["irregular_rhythm"]]
        if segs:
            s = max(segs, key=lambda s: (s["rushing"], s["rhythm_cv"] or 0))
            if s["rushing"]:
                return (f"Slow down the {s['technique'] or 'strokes'} on the {s['region']}: "
                        f"{s['rate_per_min']:.0f} strokes a minute where about {s['usual_rate_per_min']:.0f} "
                        f"is usual. Deeper means slower.")
            return (f"Keep an even rhythm on the {s['region']}: your stroke intervals varied by "
                    f"{100 * s['rhythm_cv']:.0f} % (aim for under {100 * cfg['rhythm_cv_max']:.0f} %). Count the strokes.")
        return "Keep the rhythm smooth and predictable, stroke after stroke."
    if part == "consistency":
        segs = [s for s in review["strokes"]["segments"] if s["peak_cv"] is not None]
        if segs:
            s = max(segs, key=lambda s: s["peak_cv"])
            return (f"Even out your pressure on the {s['region']}: stroke peaks varied by "
                    f"{100 * s['peak_cv']:.0f} % ({s['hand']} hand, around {s['peak_median_n']:.0f} N). "
                    f"Same weight on every stroke, not hard-then-barely-then-hard.")
        return "Press with the same weight on every stroke."
    if part == "hands_on":
        return (f"Keep one hand on the person: it was on the back {100 * review['hands_on']['fraction']:.0f} % "
                f"of the working time. Slide to the next region instead of lifting off.")
    if part == "coverage":
        miss = review["coverage"]["missed"]
        return ("Cover the whole back: " + (", ".join(m.replace("_", " ") for m in miss) + " got less than "
                f"{cfg['min_region_s']:.0f} s." if miss else "spread your time over every region."))
    if part == "cool_down":
        return (f"Finish with a cool-down: the last {cfg['cool_down_s']:.0f} s should be light, slowing "
                f"effleurage (light {100 * (review['cool_down']['light_fraction'] or 0):.0f} % of that time).")
    if part == "balance":
        b = review["balance"]
        lo = min(b["work_ns"], key=b["work_ns"].get)
        return f"Use your {lo} hand more: the other did {b['ratio']:.1f} times its work."
    return ""


PRAISE = {
    "in_band": "Pressure stayed in each region's band: next time try a longer routine at the same control.",
    "alerts": "No alerts: keep the same care when you work without the glove.",
    "warm_up": "Your warm-up was long enough: keep building from light to medium before going deeper.",
    "rhythm": "Even, unhurried rhythm: keep counting your strokes as you did.",
    "consistency": "Steady stroke pressure: keep the same weight through every stroke.",
    "hands_on": "You kept a hand on the person throughout: keep sliding between regions.",
    "coverage": "You covered the whole back: keep sharing the time between regions.",
    "cool_down": "You finished lighter and slower: keep that cool-down.",
    "balance": "Both hands did the same work: keep them balanced.",
}


def advice(review: dict, cfg: dict) -> list[str]:
    """Three things to do differently next time: the parts that lost the most points."""
    bd = review["score"]["breakdown"]
    order = sorted((p for p in PARTS if bd[p]["fraction"] is not None), key=lambda p: -bd[p]["lost"])
    out = []
    for p in order:
        if len(out) == 3:
            break
        text = _advice_for(p, review, cfg) if bd[p]["lost"] > 0.05 else PRAISE[p]
        if text:
            out.append(text)
    if review.get("fatigue", {}).get("tiring") and len(out) == 3:
        out[2] = (f"Your strokes weakened to {100 * review['fatigue']['late_to_early_peak_ratio']:.0f} % of "
                  f"their early force by the end: take a short break and shake out your hands.")
    return out


# --- entry points ----------------------------------------------------------------------

def review_log(path, *, cfg: dict | None = None, profile_set=None) -> dict:
    """Load a session log and review it (LogReadError / LogFormatError for a bad file)."""
    slog = load(path)
    if slog.samples.seq.shape[0] == 0:
        raise GloveError(f"{path}: the log holds no samples to review")
    return review_session(Session(slog, profile_set), cfg)


def compare(trainee: Session, demo: Session) -> dict:
    """Trainee's forces per region next to an instructor's demonstration (hand total force
    while on the body: median and 90th percentile, newtons; stroke peaks' median)."""
    out = {}
    for r in sorted(set(trainee.regions_seen) | set(demo.regions_seen), key=str):
        row = {"name": trainee.ps.regions[r].name if r in trainee.ps.regions else r}
        for who, S in (("trainee", trainee), ("instructor", demo)):
            m = (S.region == r)[:, None] & S.hand_contact
            v = S.hand_force[m]
            row[who] = ({"median_n": round(float(np.median(v)), 2), "p90_n": round(float(np.percentile(v, 90)), 2),
                         "seconds": round(float(m.any(axis=1).sum()) / S.rate, 1)} if v.size else None)
        out[r] = row
    return out


def render_text(review: dict) -> str:
    """The review as plain text for the terminal."""
    L = []
    L.append(f"Session review: {review['trainee']}, {review['start_time']}, "
             f"{review['duration_s'] / 60:.1f} min, glove {review['glove_id']}, skill {review['skill']}"
             + (f", routine {review['routine']}" if review['routine'] else ""))
    L.append(f"SCORE {review['score']['total']:.0f} / 100")
    for p, b in review["score"]["breakdown"].items():
        if b["points"] is not None:
            L.append(f"  {p.replace('_', ' '):12s} {b['points']:5.1f} / {b['max']:4.1f}")
    L.append("Next time:")
    for i, a in enumerate(review["advice"], 1):
        L.append(f"  {i}. {a}")
    L.append("Regions (time, hands on, % in allowed band, by band light/medium/firm/too much):")
    for r, d in review["regions"].items():
        pb = d["pct_by_band"]
        L.append(f"  {d['name'][:30]:30s} {d['seconds']:6.0f} s {d['hands_on_s']:6.0f} s  "
                 f"{(d['pct_in_allowed'] if d['pct_in_allowed'] is not None else float('nan')):5.1f} % "
                 f"(max {d['allowed']})  {pb['light']:.0f}/{pb['medium']:.0f}/{pb['firm']:.0f}/{pb['too_much']:.0f} %")
    sc = review["strokes"]
    L.append("Strokes: " + ", ".join(f"{h} {c}" for h, c in sc["count"].items()))
    for s in sc["segments"]:
        flags = [f for f, on in (("RUSHING", s["rushing"]), ("inconsistent pressure", s["inconsistent_pressure"]),
                                 ("irregular rhythm", s["irregular_rhythm"])) if on]
        L.append(f"  {s['hand']:5s} {str(s['region']):16s} {str(s['technique']):13s} {s['strokes']:4d} strokes "
                 f"{s['rate_per_min'] or 0:5.0f}/min  rhythm cv {s['rhythm_cv'] or 0:.2f}  "
                 f"peak cv {s['peak_cv'] or 0:.2f}  {' '.join(flags)}")
    w = review["warm_up"]
    L.append(f"Warm-up: {w['done_s']:.0f} s before the first firm pressure (needs {w['needed_s']:.0f} s): "
             + ("ok" if w["ok"] else "TOO DEEP TOO FAST"))
    L.append(f"Hands on: {100 * review['hands_on']['fraction']:.0f} %   balance ratio {review['balance']['ratio']:.2f}   "
             f"coverage {len(review['coverage']['covered'])}/{len(review['coverage']['targets'])}   "
             f"cool-down {'ok' if review['cool_down']['ok'] else 'missing'}")
    if review["fatigue"]["late_to_early_peak_ratio"]:
        L.append(f"Fatigue: late stroke peaks {100 * review['fatigue']['late_to_early_peak_ratio']:.0f} % of early ones")
    for h in review["holds"]:
        if h["too_long"]:
            L.append(f"Hold too long: {h['seconds']:.0f} s on the {h['region']} (limit {h['limit_s']} s) at {h['t0_s']:.0f} s")
    L.append(f"Alerts: {len(review['alerts'])}")
    for a in review["alerts"][:20]:
        L.append(f"  {a['t_s']:7.1f} s  {a['severity']:7s} {a['text']}")
    if len(review["alerts"]) > 20:
        L.append(f"  ... and {len(review['alerts']) - 20} more (see the HTML report)")
    for note in review["notes"]:
        L.append(f"Note: {note}")
    return "\n".join(L)
