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
from ..signal.bands import BANDS, FIRM, MEDIUM, TOO_MUCH
from ..signal.calibration import FAULT_SATURATED, Calibration, ForceConverter
from ..signal.datafile import Node, check_format, read_json
from ..signal.rules import SITE_TEXT
from . import metrics as M

log = logging.getLogger(__name__)

REVIEW_PATH = resources.files("massage_glove") / "data" / "review.json"
PARTS = ("in_band", "alerts", "rules", "warm_up", "rhythm", "pace", "consistency", "hands_on",
         "coverage", "holds", "cool_down", "fatigue", "contact", "receiver", "balance",
         "session_length", "technique_time")
STROKE_TECHNIQUES = ("effleurage", "kneading", "thumb_circles", "tapotement")


# --- settings --------------------------------------------------------------------------

def _pair(node, lo=0.0) -> tuple[float, float]:
    el = node.elements(length=2)
    a, b = el[0].number(min=lo), el[1].number(min=lo)
    if b < a:
        raise node.error("a range [low, high] with low <= high", repr([a, b]))
    return (a, b)


def load_settings(path=None) -> dict:
    """The review's thresholds and weights (data/review.json); DataFileError names file and field."""
    root = read_json(path or REVIEW_PATH)
    check_format(root, "massage-glove/review", (2,))
    v = lambda n: n["value"]  # noqa: E731
    st, se, ho, sc = root["strokes"], root["session"], root["holds"], root["score"]
    out = {
        "filter_cutoff_hz": v(root["filter_cutoff_hz"]).number(min_exclusive=0, max=1000),
        "min_prominence_n": v(st["min_prominence_n"]).number(min_exclusive=0, max=100),
        "rel_prominence": v(st["rel_prominence"]).number(min=0, max=1),
        "stroke_lowpass_hz": v(st["stroke_lowpass_hz"]).number(min_exclusive=0, max=100),
        "min_interval_s": v(st["min_interval_s"]).number(min_exclusive=0, max=10),
        "max_gap_factor": v(st["max_gap_factor"]).number(min=1, max=100),
        "rhythm_cv_max": v(st["rhythm_cv_max"]).number(min_exclusive=0, max=5),
        "peak_cv_max": v(st["peak_cv_max"]).number(min_exclusive=0, max=5),
        "pauses_per_min_max": v(st["pauses_per_min_max"]).number(min_exclusive=0, max=60),
        "pace_tolerance": v(st["pace_tolerance"]).number(min=1, max=10),
        "min_strokes": int(v(st["min_strokes"]).number(min=3, max=100)),
        "rates": {k: _pair(v(n), 1e-9) for k, n in root["technique_rates_per_min"].items()},
        "technique_minutes": {k: _pair(v(n)) for k, n in root["technique_minutes"].items()},
        "min_steady_s": v(ho["min_steady_s"]).number(min_exclusive=0, max=600),
        "steady_tolerance": v(ho["steady_tolerance"]).number(min=0, max=1),
        "hold_kinds": {k: _pair(n) for k, n in v(ho["kinds"]).items()},
        "region_hold_kind": {k: n.str() for k, n in v(ho["region_kind"]).items()},
        "release_min_s": v(ho["release_min_s"]).number(min=0, max=60),
        "hands_on_min_fraction": v(se["hands_on_min_fraction"]).number(min_exclusive=0, max=1),
        "hands_on_zero_fraction": v(se["hands_on_zero_fraction"]).number(min=0, max=1),
        "hands_on_gap_s": v(se["hands_on_gap_s"]).number(min=0, max=60),
        "balance_max_ratio": v(se["balance_max_ratio"]).number(min=1, max=100),
        "fatigue_min_ratio": v(se["fatigue_min_ratio"]).number(min_exclusive=0, max=1),
        "fatigue_zero_ratio": v(se["fatigue_zero_ratio"]).number(min=0, max=1),
        "fatigue_min_strokes": int(v(se["fatigue_min_strokes"]).number(min=2, max=1000)),
        "tremor_band_hz": _pair(v(se["tremor_band_hz"]), 1e-6),
        "cool_down_s": v(se["cool_down_s"]).number(min_exclusive=0, max=3600),
        "cool_down_light_fraction": v(se["cool_down_light_fraction"]).number(min=0, max=1),
        "min_region_s": v(se["min_region_s"]).number(min=0, max=3600),
        "max_region_share": v(se["max_region_share"]).number(min_exclusive=0, max=1),
        "back_regions": [x.str() for x in v(se["back_regions"]).elements(min_length=1)],
        "warm_up_rise_min": v(se["warm_up_rise_min"]).number(min=0, max=100),
        "session_minutes": {k: _pair(n) for k, n in v(se["session_minutes"]).items()},
        "routine_done_fraction": v(se["routine_done_fraction"]).number(min=0, max=1),
        "confident_fraction": v(se["confident_fraction"]).number(min=0, max=10),
        "receiver_window_s": _pair(v(se["receiver_window_s"])),
        "receiver_before_s": v(se["receiver_before_s"]).number(min_exclusive=0, max=60),
        "receiver_ease_fraction": v(se["receiver_ease_fraction"]).number(min=0, max=1),
        "miss_scale": v(sc["miss_scale"]).number(min_exclusive=0, max=100),
        "in_band_zero_cost": v(sc["in_band_zero_cost"]).number(min_exclusive=0, max=1),
        "episode_merge_s": v(sc["episode_merge_s"]).number(min=0, max=60),
        "episode_part_half": v(sc["episode_part_half"]).number(min_exclusive=0, max=1000),
        "episode_gate": v(sc["episode_gate"]).number(min=0, max=10),
    }
    w = v(sc["weights"])
    out["weights"] = {p: w[p].number(min=0) for p in PARTS}
    if abs(sum(out["weights"].values()) - 100.0) > 1e-6:
        raise w.error("weights that add up to 100", str(sum(out["weights"].values())))
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


def _per_count(counts: np.ndarray, fn):
    """fn(counts) for (n, channels) counts, fn applied elementwise per channel: computed once
    for every value the counts hold (0 .. their maximum, at most 65536 rows) and looked up per
    sample. fn returns a tuple of arrays shaped like its input; the result is what fn(counts)
    gives, element for element. Non-integer counts: fn(counts) itself."""
    c = np.asarray(counts)
    if c.ndim != 2 or c.dtype.kind not in "ui" or c.size == 0 or c.min() < 0 or c.max() > 0xFFFF:
        return fn(c)
    n_ch = c.shape[1]
    values = np.arange(int(c.max()) + 1, dtype=c.dtype)
    tables = fn(np.broadcast_to(values[:, None], (values.size, n_ch)))
    idx = c.astype(np.intp) * n_ch + np.arange(n_ch)
    return tuple(np.asarray(t).ravel().take(idx) for t in tables)


class Coded:
    """A label per sample held as codes into a small table (one entry per label change in the
    log): `labels` is table[codes], the object array; masks, first-seen order and change
    bounds are taken on the table and the integer codes, each equal to what the same
    operation on `labels` gives (tests/review/test_speed_paths.py)."""

    def __init__(self, codes: np.ndarray, table: np.ndarray):
        self.codes = np.asarray(codes, np.intp)
        self.table = table
        self.labels = table[self.codes]

    def mask(self, pred) -> np.ndarray:
        """M.label_mask(labels, pred): samples whose label satisfies pred."""
        keep = np.fromiter((bool(pred(v)) for v in self.table.tolist()), bool, self.table.size)
        return keep[self.codes]

    def eq(self, value) -> np.ndarray:
        """labels == value (np.equal(labels, None) for None)."""
        return self.mask((lambda v: v is None) if value is None else (lambda v: v == value))

    def distinct(self) -> list:
        """list(dict.fromkeys(labels.tolist())): each label once, in order of first sample."""
        u, first = np.unique(self.codes, return_index=True)
        return list(dict.fromkeys(self.table[u[np.argsort(first, kind="stable")]].tolist()))


def change_bounds(*coded: Coded) -> list[tuple[int, int]]:
    """M.change_bounds over the labels of `coded`: runs over which every label stays the same
    (compared where a code changes, the only places a label can)."""
    n = coded[0].codes.size if coded else 0
    if n == 0:
        return []
    cand = np.zeros(n - 1, bool)
    for c in coded:
        cand |= c.codes[1:] != c.codes[:-1]
    at = np.flatnonzero(cand)
    change = np.zeros(at.size, bool)
    for c in coded:
        change |= c.table[c.codes[at + 1]] != c.table[c.codes[at]]
    b = [0, *(at[change] + 1).tolist(), n]
    return list(zip(b[:-1], b[1:]))


def edges_reached(force_n: np.ndarray, edges_n: np.ndarray) -> np.ndarray:
    """classify_n(force_n, edges_n) for finite force (n, channels): the number of each
    channel's edges reached, int8 (new array), one comparison per edge instead of a sum over
    an (n, channels, edges) array. tests/review/test_speed_paths.py holds them equal."""
    f = np.asarray(force_n, np.float64)
    e = np.asarray(edges_n, np.float64)
    out = (f >= e[..., 0]).view(np.int8).copy()
    for k in range(1, e.shape[-1]):
        out += (f >= e[..., k]).view(np.int8)
    return out


def _hand_columns(hand_of: np.ndarray, h: int):
    """The columns of hand h: a slice when they are side by side (a view, no copy), else
    their indices. Only for order-free reductions (max, any): a sum keeps its own indexing."""
    idx = np.flatnonzero(hand_of == h)
    if idx.size and int(idx[-1]) - int(idx[0]) + 1 == idx.size:
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def _hand_blocks(hc: list, n_ch: int):
    """(starts, order) when the hands' columns are blocks side by side covering every channel
    (np.maximum.reduceat(x, starts, axis=1)[:, i] is hand order[i]'s maximum), else None."""
    if not hc or not all(isinstance(c, slice) for c in hc):
        return None
    order = sorted(range(len(hc)), key=lambda h: hc[h].start)
    edges = [hc[h].start for h in order] + [n_ch]
    if edges[0] != 0 or any(hc[h].stop != edges[i + 1] for i, h in enumerate(order)):
        return None
    return np.array(edges[:-1], np.intp), np.array(order, np.intp)


def median3(x: np.ndarray) -> np.ndarray:
    """The centred median of 3 along axis 0 that filter_zero_phase applies first (the ends
    kept), as max(min(a, b), min(max(a, b), c)): the same sample np.median picks (and, like
    it, 0.0 for -0.0), NaN where the window holds one, without sorting (new array).
    filter_zero_phase(median3(x), spike=False) is filter_zero_phase(x), bit for bit;
    tests/review/test_speed_paths.py holds them equal."""
    a = np.asarray(x, np.float64)
    if a.shape[0] < 3:
        return a.copy()
    p, q, r = a[:-2], a[1:-1], a[2:]
    mid = np.maximum(np.minimum(p, q), np.minimum(np.maximum(p, q), r))
    mid += 0.0          # np.median's mean of the middle sample turns -0.0 into 0.0; so does this
    return np.concatenate([a[:1], mid, a[-1:]], axis=0)


class Session:
    """A log reprocessed: per-sample force, region, technique, bands, contact (arrays)."""

    def __init__(self, slog, profile_set=None, cfg: dict | None = None):
        cfg = cfg or load_settings()
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
        fault, force = _per_count(s.counts, lambda c: (
            conv.faults(c), conv.force_n_from_conductance(conv.conductance_s(c) - tare)))
        bad = fault != 0
        self.saturated = (fault & FAULT_SATURATED) != 0
        # a saturated sensor is pressed past its range: at least its top of range, never 0
        self.top_n = conv.f_max_n
        raw = M.fill_faults(np.where(bad, np.nan, force), bad, self.saturated, self.top_n)
        f = (filter_zero_phase(median3(raw), self.rate, spike=False,
                               cutoff_hz=min(cfg["filter_cutoff_hz"], 0.45 * self.rate))
             if n > 30 else raw)
        self.force_filled = np.maximum(f, 0.0)          # faults bridged: strokes and holds
        self.force = np.where(bad & ~self.saturated, np.nan, self.force_filled)
        self.fault = fault
        # region and technique of every sample
        ev = slog.events
        reg = [(e.t_device_s, e.fields.get("region")) for e in ev
               if e.kind == "region" and e.t_device_s is not None]
        self.region_sources = [e.fields.get("source") for e in ev
                               if e.kind == "region" and e.t_device_s is not None and e.fields.get("region")]
        if any(e.kind == "region" and e.t_device_s is None and e.fields.get("region") for e in ev) and not reg:
            self.notes.append("the log's region has no device time: reviewed without regions")
        stg = [(e.t_device_s, e.fields.get("technique"), e.fields.get("stage")) for e in ev
               if e.kind == "stage" and e.t_device_s is not None]
        # each label both per sample (object arrays) and coded (masks without comparing objects)
        self.coded = {
            "region": Coded(*M.label_codes(self.t, [r[0] for r in reg], [r[1] for r in reg])),
            "technique": Coded(*M.label_codes(self.t, [x[0] for x in stg], [x[1] for x in stg])),
            "stage": Coded(*M.label_codes(self.t, [x[0] for x in stg], [x[2] for x in stg])),
            # the number of the stage event in force: a stage entered twice is two runs
            "stage_no": Coded(*M.label_codes(self.t, [x[0] for x in stg], list(range(len(stg))), -1))}
        self.region, self.technique, self.stage, self.stage_no = (
            self.coded[k].labels for k in ("region", "technique", "stage", "stage_no"))
        tares = [e.t_device_s for e in ev if e.kind == "tare" and e.t_device_s is not None]
        self.t_tare = float(min(tares)) if tares else (float(self.t[0]) if n else 0.0)
        self.hands = list(dev.hands)
        self.hand_of = np.array([self.hands.index(c.hand) for c in dev.channels])
        nch = len(dev.channels)
        self.band = np.full((n, nch), -1, np.int8)
        self.ratio = np.zeros((n, nch))       # force / the region's limit
        self.contact = np.zeros((n, nch), bool)
        self.regions_seen = [r for r in self.coded["region"].distinct() if r is not None]
        # the region is constant over runs of samples: each run is worked on as a slice
        region_runs = change_bounds(self.coded["region"])
        run_regions = [self.region[a] for a, _ in region_runs]
        profile_of = {}
        for r in [None] + self.regions_seen:
            if r is None and None not in run_regions:
                continue
            key = r
            if r is not None and r not in ps.regions:
                self.notes.append(f"region {r!r} in the log is not in the regions data: reviewed without its limit")
                r = None
            profile_of[key] = ps.resolve(r, self.skill, self.sensitivity, dev.channels)
        for (a, b), r in zip(region_runs, run_regions):
            P = profile_of[r]
            fr = self.force[a:b]
            sat = self.saturated[a:b]
            fs = _settle(fr)
            # saturated is too much, and the furthest from any band (cost 1)
            band = edges_reached(fs, P.edges_n)
            band[np.isnan(fr)] = -1
            band[sat] = TOO_MUCH
            self.band[a:b] = band
            ratio = np.divide(fs, P.limit_n, out=self.ratio[a:b])
            ratio[sat] = np.inf
            self.contact[a:b] = (fs >= P.contact_n) | sat
        self.edges = {r: ps.resolve(r, self.skill, self.sensitivity, dev.channels)
                      for r in self.regions_seen if r in ps.regions}
        H = len(self.hands)
        self.hand_force = np.stack([self.force_filled[:, self.hand_of == h].sum(axis=1)
                                    for h in range(H)], 1) if n else np.zeros((0, H))
        # each hand's most loaded sensor as a share of its own light|medium edge
        light_edge = np.array([ps.classes[c.sensor_class].edges_n[0] for c in dev.channels])
        hc = [_hand_columns(self.hand_of, h) for h in range(H)]
        blocks = _hand_blocks(hc, nch)

        def hand_max(x, fill):
            # each hand's maximum over its sensors in contact (`fill` where none is)
            y = np.where(self.contact, x, fill)
            if blocks is not None:
                starts, order = blocks
                out = np.empty((n, H), y.dtype)
                out[:, order] = np.maximum.reduceat(y, starts, axis=1)
                return out
            return np.stack([y[:, c].max(axis=1) for c in hc], 1)
        self.hand_light_ratio = hand_max(self.force_filled / light_edge, 0.0) if n else np.zeros((0, H))
        self.hand_contact = np.stack([self.contact[:, c].any(axis=1) for c in hc], 1) \
            if n else np.zeros((0, H), bool)
        hb = np.full((n, H), -1, np.int8)
        if n and all((self.hand_of == h).any() for h in range(H)):
            hb[:] = hand_max(self.band, -1)
        else:
            for h, c in enumerate(hc):
                if (self.hand_of == h).any():
                    hb[:, h] = np.where(self.contact[:, c], self.band[:, c], -1).max(axis=1)
        self.hand_band = hb
        self.hand_ratio = hand_max(self.ratio, 0.0) if n else np.zeros((0, H))
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


def _r(x, nd=3):
    return None if x is None else round(float(x), nd)


def _is_cool_down(stage) -> bool:
    return isinstance(stage, str) and stage.startswith("cool")


def _is_warm_up(stage) -> bool:
    return isinstance(stage, str) and stage.startswith("warm")


def _stroke_runs(S: "Session", cfg: dict, h: int, any_contact: np.ndarray) -> list[dict]:
    """Strokes of hand h, one run per stage (a change of stage, region or technique)."""
    rate = S.rate
    out = []
    hand = S.hands[h]
    for a, b in change_bounds(S.coded["stage_no"], S.coded["region"], S.coded["technique"]):
        tech = S.technique[a]
        if tech in ("hold", "rest", "off"):
            continue
        f = S.hand_force[a:b, h]
        if not S.hand_contact[a:b, h].any():
            continue
        cutoff = None if tech == "tapotement" else cfg["stroke_lowpass_hz"]
        st = M.detect_strokes(S.t[a:b], f, rate, cfg["min_prominence_n"], cfg["min_interval_s"],
                              cfg["rel_prominence"], cutoff)
        st = M.trim_edges(st)
        lifted = None
        if st.peak_i.size >= 2:
            gap = int(round(cfg["hands_on_gap_s"] * rate))
            on = M.bridge_gaps(S.hand_contact[a:b, h], gap)
            off_runs = M.runs(~on)
            lifted = np.array([any(x0 >= i0 and x1 <= i1 for x0, x1 in off_runs)
                               for i0, i1 in zip(st.peak_i[:-1], st.peak_i[1:])], bool)
        ry = M.rhythm(st.t_s, st.peak_n, cfg["max_gap_factor"], lifted)
        out.append({"hand": hand, "a": a, "b": b, "strokes_obj": st, "rhythm": ry, "tech": tech,
                    "lifts": int(lifted.sum()) if lifted is not None else 0})
    return out


def review_session(S: Session, cfg: dict | None = None) -> dict:
    """Every metric, the score and the advice for a reprocessed session (JSON-ready dict)."""
    cfg = cfg or load_settings()
    rate, n, H = S.rate, S.n, len(S.hands)
    dt = 1.0 / rate if rate else 0.0
    settings = S.ps.settings
    gap = int(round(settings.contact_gap_s * rate))
    on_gap = int(round(cfg["hands_on_gap_s"] * rate))
    any_contact = S.hand_contact.any(axis=1) if n else np.zeros(0, bool)
    work = np.flatnonzero(any_contact)
    w0, w1 = (int(work[0]), int(work[-1]) + 1) if work.size else (0, 0)
    working_s = (w1 - w0) * dt
    out: dict = {"log": str(S.log.path), "trainee": S.log.header.get("trainee"),
                 "glove_id": S.device.glove_id, "start_time": S.log.header.get("start_time"),
                 "duration_s": round(S.duration_s, 2), "rate_hz": rate, "skill": S.skill,
                 "sensitivity": S.sensitivity, "routine": S.routine.key if S.routine else None,
                 "hands": S.hands, "notes": S.notes, "complete": S.log.complete}
    drill = (S.routine is None and len(S.regions_seen) == 1
             and all(src in ("start", None) for src in S.region_sources))
    out["drill"] = drill
    out["channels"] = [{"name": c.name, "hand": c.hand, "site": c.site, "class": c.sensor_class}
                       for c in S.device.channels]

    # --- per region: time, band shares, cost of misses by distance ----------------------------
    regions = {}
    # a region's time: from the tare (hands on the glove, not yet on the person) to the end of
    # the work (the last contact, or the routine's end)
    in_span = (S.t >= S.t_tare) & (np.arange(n) < w1) & ~S.coded["stage"].eq("end") if n else np.zeros(0, bool)
    span_total = float(in_span.sum()) * dt
    on_all = S.hand_contact.any(axis=1) if n else np.zeros(0, bool)
    cost_sum, cost_n = 0.0, 0
    hands_on_total = float(on_all.sum()) * dt
    for r in S.regions_seen:
        m = S.coded["region"].eq(r)
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
        hon = float(onh.any(axis=1).sum()) * dt
        in_work = float((m & in_span).sum()) * dt
        regions[r] = {
            "name": S.ps.regions[r].name if r in S.ps.regions else r,
            "allowed": BANDS[allowed], "seconds": round(in_work, 2),
            "hands_on_s": round(hon, 2),
            "share_of_time": round(in_work / span_total, 3) if span_total else 0.0,
            "pct_in_allowed": _pct(in_allowed) if in_allowed is not None else None,
            "pct_by_band": bands,
            "mean_miss": round(float(cost.mean()), 3) if cost.size else 0.0,
            "alerts": [{"t_s": round(a.t_device_s or 0.0, 2), "rule": a.fields.get("rule"),
                        "severity": a.fields.get("severity", "warning"),
                        "text": a.fields.get("text", "")} for a in al],
        }
    out["regions"] = regions
    mean_cost = cost_sum / cost_n if cost_n else None

    # --- too-much episodes (over the region's limit, or saturated) ------------------------------
    over = ((S.hand_ratio > 1.0) & S.hand_contact).any(axis=1) if n else np.zeros(0, bool)
    eps = M.episodes(over, int(round(cfg["episode_merge_s"] * rate)))
    # Presses, counted the way the live alerts count them (one prompt per press of a hand:
    # a press ends once the hand has been under the limit for the over_limit rule's clear_ms),
    # so the review's number matches the buzzes the trainee felt.
    clear = max(1, int(round(S.ps.rules["over_limit"].clear_ms * rate / 1000.0)))
    press_starts = np.sort(np.array(
        [a for h in range(H) for a, _ in M.episodes((S.hand_ratio[:, h] > 1.0) & S.hand_contact[:, h], clear - 1)]
        if n else [], np.int64))
    ep_list = []
    for a, b in eps:
        seg = S.hand_ratio[a:b]
        ep_list.append({"t0_s": round(float(S.t[a]), 2), "t1_s": round(float(S.t[b - 1]), 2),
                        "seconds": round((b - a) * dt, 2), "region": S.region[a],
                        "saturated": bool(S.saturated[a:b].any()),
                        "peak_ratio": _r(min(float(np.max(seg)), 1e6), 2),
                        "presses": int(np.searchsorted(press_starts, b) - np.searchsorted(press_starts, a))})
    out["episodes"] = {"count": len(ep_list), "list": ep_list,
                       "seconds": round(sum(e["seconds"] for e in ep_list), 2),
                       "presses": int(press_starts.size)}

    # --- strokes, by stage -------------------------------------------------------------------
    runs_ = []
    for h in range(H):
        runs_ += _stroke_runs(S, cfg, h, any_contact)
    strokes_by_hand = {hand: [] for hand in S.hands}
    segments, seg_ab = [], []
    for rr in runs_:
        st, ry, a, b, tech = rr["strokes_obj"], rr["rhythm"], rr["a"], rr["b"], rr["tech"]
        strokes_by_hand[rr["hand"]].append((st.peak_i + a, st.t_s, st.peak_n))
        if ry.count < cfg["min_strokes"]:
            continue
        rng_ = cfg["rates"].get(tech) if tech else None
        pace = M.pace_verdict(ry.rate_per_min, rng_[0], rng_[1], cfg["pace_tolerance"]) if rng_ else None
        minutes = (b - a) * dt / 60.0
        seg_ab.append((a, b))
        segments.append({
            "hand": rr["hand"], "region": S.region[a], "technique": tech, "stage": S.stage[a],
            "t0_s": round(float(S.t[a]), 2), "t1_s": round(float(S.t[b - 1]), 2),
            "strokes": ry.count,
            "rate_per_min": round(ry.rate_per_min, 1) if ry.rate_per_min else None,
            "usual_rate_per_min": round(0.5 * (rng_[0] + rng_[1]), 1) if rng_ else None,
            "rate_range_per_min": list(rng_) if rng_ else None,
            "pace": pace, "too_fast": pace == "too_fast", "too_slow": pace == "too_slow",
            "rhythm_cv": _r(ry.interval_cv), "peak_cv": _r(ry.peak_cv),
            "peak_median_n": round(ry.peak_median_n, 2) if ry.peak_median_n else None,
            "pauses": ry.pauses, "paused_s": round(ry.paused_s, 2), "lifts": rr["lifts"],
            "pauses_per_min": round(ry.pauses / minutes, 2) if minutes > 0 else 0.0,
            "rushing": pace == "too_fast",
            "inconsistent_pressure": bool(ry.peak_cv is not None and ry.peak_cv > cfg["peak_cv_max"]),
            "irregular_rhythm": bool(ry.interval_cv is not None and ry.interval_cv > cfg["rhythm_cv_max"]),
            "stop_start": bool(minutes > 0 and ry.pauses / max(minutes, 0.5) > 0.5 * cfg["pauses_per_min_max"]),
        })
    peaks = {}
    for hand, lst in strokes_by_hand.items():
        if lst:
            pi = np.concatenate([x[0] for x in lst]); ts = np.concatenate([x[1] for x in lst])
            pn = np.concatenate([x[2] for x in lst])
            o = np.argsort(ts, kind="stable")
            peaks[hand] = (pi[o], ts[o], pn[o])
        else:
            peaks[hand] = (np.zeros(0, int), np.zeros(0), np.zeros(0))
    out["strokes"] = {
        "count": {hand: int(p[0].size) for hand, p in peaks.items()},
        "peaks": {hand: {"t_s": np.round(p[1], 3).tolist(), "peak_n": np.round(p[2], 2).tolist()}
                  for hand, p in peaks.items()},
        "segments": segments,
    }

    # --- holds (any steady contact, light grounding holds included) ---------------------------
    holds = []
    tech_moving = S.coded["technique"].mask(lambda t: t in STROKE_TECHNIQUES) if n else np.zeros(0, bool)
    for h, hand in enumerate(S.hands):
        engaged = S.hand_contact[:, h] & ~tech_moving
        for a0, b0 in M.steady_runs(S.hand_force[:, h], engaged, rate, settings.steady_window_s,
                                    cfg["steady_tolerance"], cfg["min_steady_s"]):
            a, b, level = M.hold_extent(S.hand_force[:, h], a0, b0)
            r, tech = S.region[a0], S.technique[a0]
            light = bool(np.median(S.hand_band[a0:b0, h]) <= 0)
            kind = (tech if tech in cfg["hold_kinds"] else "grounding" if light
                    else cfg["region_hold_kind"].get(r, "compression"))
            lo, hi = cfg["hold_kinds"][kind]
            if r in S.ps.regions and S.ps.regions[r].hold_max_s and kind not in ("grounding",) \
                    and tech not in cfg["hold_kinds"]:
                hi = min(hi, float(S.ps.regions[r].hold_max_s)) if S.ps.regions[r].hold_max_s >= lo else hi
            secs = (b - a) * dt
            seg = S.hand_force[a0:b0, h]
            rel = M.release_s(S.hand_force[:, h], b, level, rate)
            holds.append({"hand": hand, "region": r, "technique": tech, "kind": kind,
                          "t0_s": round(float(S.t[a]), 2), "t1_s": round(float(S.t[min(b, n - 1)]), 2),
                          "seconds": round(secs, 2), "level_n": round(level, 2),
                          "min_s": lo, "limit_s": hi,
                          "too_long": bool(secs > hi), "too_short": bool(secs < lo),
                          "release_s": round(rel, 2), "release_abrupt": bool(rel < cfg["release_min_s"]),
                          "light": light,
                          "static_forbidden": bool(r in S.ps.regions and not S.ps.regions[r].static_pressure),
                          "steadiness_cv": round(float(np.std(seg) / np.mean(seg)), 3) if np.mean(seg) > 0 else None})
    out["holds"] = holds

    # --- warm-up: length before the first firm pressure, and its rise ----------------------------
    warm_needed = S.routine.warm_up_s if S.routine else settings.warmup_s
    firm_any = ((S.hand_band >= FIRM) & S.hand_contact).any(axis=1) if n else np.zeros(0, bool)
    first_firm = int(np.argmax(firm_any)) if firm_any.any() else None
    upto = first_firm if first_firm is not None else n
    engaged = M.bridge_gaps(any_contact[:upto], gap)
    warm_s = float(engaged[w0:].sum()) * dt if upto > w0 else 0.0
    rise = None
    if first_firm is not None and first_firm - w0 > 3 * rate:
        wf = S.hand_force[w0:first_firm].max(axis=1)
        won = any_contact[w0:first_firm]
        k = wf.size // 3
        e, l_ = wf[:k][won[:k]], wf[-k:][won[-k:]]
        if e.size and l_.size and np.percentile(e, 90) > 0:
            rise = float(np.percentile(l_, 90) / np.percentile(e, 90))
    rising = None if rise is None else bool(rise >= cfg["warm_up_rise_min"])
    warm_ok = first_firm is None or (warm_s >= warm_needed and rising is not False)
    out["warm_up"] = {"needed_s": warm_needed, "done_s": round(warm_s, 1),
                      "first_firm_s": round(float(S.t[first_firm]), 2) if first_firm is not None else None,
                      "rise_ratio": _r(rise), "light_rising_to_medium": bool(rising) if rising is not None else False,
                      "ok": bool(warm_ok)}

    # --- hands on, balance, coverage ---------------------------------------------------------
    span = any_contact[w0:w1]
    hands_on = float(M.bridge_gaps(span, on_gap).mean()) if span.size else 0.0
    out["hands_on"] = {"fraction": round(hands_on, 4), "working_s": round(working_s, 1),
                       "lifted_s": round((1.0 - hands_on) * working_s, 2)}
    work_n = S.hand_force.sum(axis=0) * dt if n else np.zeros(H)
    ratio = float(work_n.max() / max(work_n.min(), 1e-9)) if H == 2 else 1.0
    out["balance"] = {"work_ns": {hand: round(float(work_n[h]), 1) for h, hand in enumerate(S.hands)},
                      "ratio": round(min(ratio, 1e6), 2)}
    targets = sorted({st.region for st in S.routine.stages}) if S.routine else cfg["back_regions"]
    if drill:
        targets = list(S.regions_seen)
    covered = [r for r in targets if r in regions and regions[r]["hands_on_s"] >= cfg["min_region_s"]]
    shares = {r: d["share_of_time"] for r, d in regions.items()}
    top = max(shares, key=shares.get) if shares else None
    lopsided = bool(S.routine is None and not drill and top is not None
                    and shares[top] > cfg["max_region_share"])
    out["coverage"] = {"targets": targets, "covered": covered,
                       "missed": [r for r in targets if r not in covered],
                       "fraction": round(len(covered) / len(targets), 3) if targets else 1.0,
                       "share_by_region": shares, "largest": top, "lopsided": lopsided,
                       "judged": not drill}

    # --- fatigue: weaker within a stage late in the session; shakier -----------------------------
    fat, fat_runs = [], []
    if n and w1 > w0:
        late_t = S.t[w0] + 2.0 * (S.t[w1 - 1] - S.t[w0]) / 3.0
        for rr in runs_:
            st, a, b = rr["strokes_obj"], rr["a"], rr["b"]
            if S.t[b - 1] < late_t or _is_cool_down(S.stage[a]) or _is_warm_up(S.stage[a]):
                continue
            q = M.third_ratio(st.t_s, st.peak_n, cfg["fatigue_min_strokes"])
            if q is not None:
                fat.append(q)
                fat_runs.append({"hand": rr["hand"], "stage": S.stage[a], "region": S.region[a],
                                 "ratio": round(q, 3)})
    fatigue = float(np.median(fat)) if fat else None
    third = (w1 - w0) // 3
    tb = cfg["tremor_band_hz"]
    hf = S.hand_force.sum(axis=1) if n else np.zeros(0)
    tr_early = tr_late = None
    if third > rate:
        m_e = np.zeros(n, bool); m_e[w0:w0 + third] = True
        m_l = np.zeros(n, bool); m_l[w1 - third:w1] = True
        tr_early = M.tremor_rms_n(hf, m_e & any_contact, rate, tb)
        tr_late = M.tremor_rms_n(hf, m_l & any_contact, rate, tb)
    out["fatigue"] = {"late_to_early_peak_ratio": _r(fatigue), "runs": fat_runs,
                      "tiring": bool(fatigue is not None and fatigue < cfg["fatigue_min_ratio"]),
                      "tremor_rms_n": {"early": _r(tr_early), "late": _r(tr_late)}}

    # --- cool-down: the routine's cool-down stage, or the last part of the work ------------------
    cool_stage = S.coded["stage"].mask(_is_cool_down) if n else np.zeros(0, bool)
    if S.routine is not None and any(_is_cool_down(st.id) for st in S.routine.stages):
        cm = cool_stage
    else:
        cd = int(round(cfg["cool_down_s"] * rate))
        cm = np.zeros(n, bool)
        if w1 - w0 > 2 * cd:
            cm[w1 - cd:w1] = True
    cool = {"ok": False, "verdict": None, "light_fraction": None, "lighter": None, "slower": None,
            "rate_per_min": None, "work_rate_per_min": None}
    if cm.any() and w1 - w0 > 0 and not drill:
        on_c = S.hand_contact[cm]
        if not on_c.any():
            cool.update(verdict="missing", light_fraction=0.0, lighter=False, slower=False)
        else:
            hb_c = S.hand_band[cm][on_c]
            light = float((hb_c <= 0).mean())
            rest = ~cm & ~S.coded["stage"].mask(_is_warm_up)
            rest[:w0] = False
            rest[w1:] = False
            on_rest = S.hand_force[rest][S.hand_contact[rest]]
            lighter = bool(on_rest.size == 0 or np.median(S.hand_force[cm][on_c]) < np.median(on_rest))
            c0 = int(np.flatnonzero(cm)[0])
            inside = [bool(cm[a:b].mean() > 0.5) for a, b in seg_ab]
            c_rates = [s["rate_per_min"] for s, i in zip(segments, inside) if i and s["rate_per_min"]]
            before = [(s, b <= c0) for s, (a, b) in zip(segments, seg_ab)]
            eff_rates = [s["rate_per_min"] for s, ok in before if ok and s["rate_per_min"]
                         and s["technique"] == "effleurage"]
            ref = eff_rates or [s["rate_per_min"] for s, ok in before if ok and s["rate_per_min"]]
            slower = bool(c_rates and ref and np.median(c_rates) < np.median(ref)) if c_rates else None
            verdict = ("not_light" if light < cfg["cool_down_light_fraction"]
                       else "not_slower" if slower is False else "ok")
            cool.update(ok=verdict == "ok", verdict=verdict, light_fraction=round(light, 3),
                        lighter=lighter, slower=slower,
                        rate_per_min=_r(np.median(c_rates), 1) if c_rates else None,
                        work_rate_per_min=_r(np.median(ref), 1) if ref else None)
    out["cool_down"] = cool

    # --- session length, technique time ------------------------------------------------------------
    minutes = working_s / 60.0
    kinds = cfg["session_minutes"]
    kind = next((k for k, (lo, hi) in kinds.items() if lo <= minutes <= hi), None)
    if S.routine is not None:
        need = cfg["routine_done_fraction"] * S.routine.duration_s
        length_ok = working_s >= need
        verdict = "as_routine" if length_ok else "shorter_than_routine"
        length_part = min(1.0, working_s / need) if need else 1.0
    elif drill:
        length_ok, verdict, length_part = True, "drill", None
    else:
        q_lo = min(lo for lo, _ in kinds.values())
        d_hi = max(hi for _, hi in kinds.values())
        verdict = kind or ("shorter_than_quick" if minutes < q_lo else "longer_than_deep" if minutes > d_hi
                           else "between")
        length_ok = verdict not in ("shorter_than_quick", "longer_than_deep")
        length_part = (1.0 if length_ok else min(1.0, minutes / q_lo) if minutes < q_lo
                       else min(1.0, d_hi / minutes))
    out["session_length"] = {"minutes": round(minutes, 2), "kind": kind, "verdict": verdict,
                             "ok": bool(length_ok)}
    per_tech = {}
    for t_ in S.coded["technique"].distinct():
        if t_ is None:
            continue
        per_tech[t_] = round(float((S.coded["technique"].eq(t_) & any_contact).sum()) * dt, 2)
    judged_tech = {}
    if S.routine is None and not drill and minutes >= min(lo for lo, _ in kinds.values()):
        for t_, (lo, hi) in cfg["technique_minutes"].items():
            if per_tech.get(t_):
                m_ = per_tech[t_] / 60.0
                judged_tech[t_] = "short" if m_ < lo else "long" if m_ > hi else "ok"
    out["technique_time"] = {"seconds": per_tech, "verdicts": judged_tech}

    # --- confident contact (not too light) ---------------------------------------------------------
    hl = S.hand_light_ratio[w0:w1].max(axis=1) if w1 > w0 else np.zeros(0)
    onw = any_contact[w0:w1]
    p90 = float(np.percentile(hl[onw], 90)) if onw.any() else None
    out["contact"] = {"p90_light_edge_share": _r(p90),
                      "too_light": bool(p90 is not None and p90 < cfg["confident_fraction"])}

    # --- the receiver's feedback -------------------------------------------------------------------
    fb = []
    lo_w, hi_w = cfg["receiver_window_s"]
    hand_max = S.hand_force.max(axis=1) if n else np.zeros(0)
    for mk in S.marks:
        tag = mk.fields.get("tag")
        if tag not in ("softer", "ouch") or mk.t_device_s is None:
            continue
        t = float(mk.t_device_s)
        bm = (S.t >= t - cfg["receiver_before_s"]) & (S.t < t)
        am = (S.t >= t + lo_w) & (S.t < t + hi_w)
        if not bm.any() or not am.any():
            continue
        before, after = float(np.median(hand_max[bm])), float(np.median(hand_max[am]))
        eased = bool(before > 0 and after <= (1.0 - cfg["receiver_ease_fraction"]) * before)
        fb.append({"t_s": round(t, 2), "tag": tag, "region": S.region[int(np.argmax(bm))] if bm.any() else None,
                   "before_n": round(before, 2), "after_n": round(after, 2), "eased": eased})
    out["receiver"] = {"feedback": fb, "ignored": sum(not x["eased"] for x in fb)}

    # --- region rules (percussion where none is allowed, static pressure on the spine) -------------
    viol = []
    for s_ in segments:
        r = s_["region"]
        if r in S.ps.regions and not S.ps.regions[r].percussion and (
                s_["technique"] == "tapotement" or (s_["rate_per_min"] or 0) >= cfg["rates"]["tapotement"][0]):
            viol.append({"rule": "percussion", "region": r, "t0_s": s_["t0_s"], "t1_s": s_["t1_s"]})
    for x in holds:
        if x["static_forbidden"]:
            viol.append({"rule": "static_pressure", "region": x["region"], "t0_s": x["t0_s"], "t1_s": x["t1_s"]})
    out["rules"] = {"violations": viol}

    # --- alerts and marks -------------------------------------------------------------
    out["alerts"] = [{"t_s": round(a.t_device_s or 0.0, 2), "rule": a.fields.get("rule"),
                      "region": a.fields.get("region"), "severity": a.fields.get("severity", "warning"),
                      "sensor": a.fields.get("channel"), "text": a.fields.get("text", "")}
                     for a in S.alerts]
    out["marks"] = [{"t_s": round(m.t_device_s or 0.0, 2), "text": m.fields.get("text", ""),
                     "tag": m.fields.get("tag")} for m in S.marks]
    out["link"] = [{"kind": e.kind, "t_s": e.t_device_s, **{k: v for k, v in e.fields.items()
                                                           if k in ("missing", "seconds", "text")}}
                   for e in S.log.events if e.kind in ("gap", "disconnect", "reconnect", "boot",
                                                       "drop", "log_overflow")]

    # --- score ---------------------------------------------------------------------------
    parts = {p: None for p in PARTS}
    parts["in_band"] = None if mean_cost is None else max(0.0, 1.0 - mean_cost / cfg["in_band_zero_cost"])
    k_ep = len(ep_list)
    parts["alerts"] = 1.0 / (1.0 + k_ep / cfg["episode_part_half"]) if n else None
    parts["rules"] = 1.0 / (1.0 + len(viol))
    parts["warm_up"] = (1.0 if first_firm is None else
                        (min(1.0, warm_s / warm_needed) if warm_needed else 1.0) * (0.5 if rising is False else 1.0))
    scored = [s_ for s_ in segments if s_["rhythm_cv"] is not None]
    rc = M.cv_part([s_["rhythm_cv"] for s_ in scored], [s_["strokes"] for s_ in scored], cfg["rhythm_cv_max"])
    if rc is not None:
        pm = [min(1.0, s_["pauses_per_min"] / cfg["pauses_per_min_max"]) for s_ in scored]
        w_ = [s_["strokes"] for s_ in scored]
        rc *= 1.0 - float(np.average(pm, weights=w_))
    parts["rhythm"] = rc
    paced = [s_ for s_ in segments if s_["pace"] is not None]
    parts["pace"] = (1.0 - sum(s_["strokes"] for s_ in paced if s_["pace"] != "ok")
                     / sum(s_["strokes"] for s_ in paced)) if paced else None
    pc = [s_ for s_ in segments if s_["peak_cv"] is not None]
    parts["consistency"] = M.cv_part([s_["peak_cv"] for s_ in pc], [s_["strokes"] for s_ in pc], cfg["peak_cv_max"])
    parts["hands_on"] = (M.falloff(hands_on, cfg["hands_on_min_fraction"], cfg["hands_on_zero_fraction"])
                         if span.size else None)
    parts["coverage"] = (out["coverage"]["fraction"] * (0.5 if lopsided else 1.0)) if not drill else None
    if holds:
        ok_h = [not (x["too_long"] or x["too_short"]) for x in holds]
        parts["holds"] = float(np.mean(ok_h)) * (0.75 if any(x["release_abrupt"] for x in holds) else 1.0)
    parts["cool_down"] = ({"ok": 1.0, "not_slower": 0.5, "not_light": 0.0, "missing": 0.0}[cool["verdict"]]
                          if cool["verdict"] else None)
    parts["fatigue"] = (M.falloff(fatigue, cfg["fatigue_min_ratio"], cfg["fatigue_zero_ratio"])
                        if fatigue is not None else None)
    parts["contact"] = M.falloff(p90, cfg["confident_fraction"], 0.0) if p90 is not None else None
    parts["receiver"] = (sum(x["eased"] for x in fb) / len(fb)) if fb else None
    parts["balance"] = (1.0 if ratio <= cfg["balance_max_ratio"] else cfg["balance_max_ratio"] / ratio) if H == 2 else None
    parts["session_length"] = length_part
    parts["technique_time"] = (sum(v == "ok" for v in judged_tech.values()) / len(judged_tech)) if judged_tech else None
    weights = cfg["weights"]
    judged = {p: v for p, v in parts.items() if v is not None}
    wsum = sum(weights[p] for p in judged)
    breakdown = {}
    for p in PARTS:
        v = parts[p]
        w = weights[p] * 100.0 / wsum if (v is not None and wsum) else 0.0
        breakdown[p] = {"fraction": None if v is None else round(v, 3), "max": round(w, 2),
                        "points": None if v is None else round(w * v, 2),
                        "lost": 0.0 if v is None else round(w * (1.0 - v), 2)}
    before_gate = sum(b["points"] for b in breakdown.values() if b["points"] is not None)
    gate = 1.0 / (1.0 + cfg["episode_gate"] * k_ep)
    out["score"] = {"total": round(before_gate * gate, 1), "breakdown": breakdown,
                    "parts_total": round(before_gate, 1), "episode_gate": round(gate, 3),
                    "not_scored": [p for p in PARTS if parts[p] is None]}
    out["faults"] = _faults(out, cfg)
    items = advice_items(out, cfg)
    out["advice_items"] = items
    out["advice"] = [x["text"] for x in items]
    return out


# --- advice --------------------------------------------------------------------------

def _faults(review: dict, cfg: dict) -> dict:
    """Which part has a fault a trainee should hear about (True / False per part)."""
    seg = review["strokes"]["segments"]
    bd = review["score"]["breakdown"]
    f = {p: False for p in PARTS}
    f["in_band"] = bool(bd["in_band"]["fraction"] is not None and bd["in_band"]["fraction"] < 0.9)
    f["alerts"] = review["episodes"]["count"] > 0
    f["rules"] = bool(review["rules"]["violations"])
    f["warm_up"] = not review["warm_up"]["ok"]
    f["rhythm"] = any(s["stop_start"] or s["irregular_rhythm"] for s in seg)
    f["pace"] = any(s["pace"] not in (None, "ok") for s in seg)
    f["consistency"] = any(s["inconsistent_pressure"] for s in seg)
    f["hands_on"] = review["hands_on"]["fraction"] < cfg["hands_on_min_fraction"]
    cv = review["coverage"]
    f["coverage"] = bool(cv["judged"] and (cv["missed"] or cv["lopsided"]))
    f["holds"] = any(h["too_long"] or h["too_short"] or h["release_abrupt"] for h in review["holds"])
    f["cool_down"] = review["cool_down"]["verdict"] not in (None, "ok")
    f["fatigue"] = review["fatigue"]["tiring"]
    f["contact"] = review["contact"]["too_light"]
    f["receiver"] = review["receiver"]["ignored"] > 0
    f["balance"] = bd["balance"]["fraction"] is not None and bd["balance"]["fraction"] < 1.0
    f["session_length"] = not review["session_length"]["ok"]
    f["technique_time"] = any(v != "ok" for v in review["technique_time"]["verdicts"].values())
    return f


def _name(review_regions: dict, r) -> str:
    if r in review_regions:
        return review_regions[r]["name"].lower()
    return str(r).replace("_", " ") if r else "the back"


def _advice_for(part: str, review: dict, cfg: dict) -> str:
    R = review["regions"]
    seg = review["strokes"]["segments"]
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
        ep = review["episodes"]
        sat = sum(e["saturated"] for e in ep["list"])
        where = {}
        for e in ep["list"]:
            where[e["region"]] = where.get(e["region"], 0) + 1
        r = max(where, key=where.get) if where else None
        np_ = ep.get("presses", ep["count"])
        return (f"Too much pressure in {ep['count']} episode{'s' if ep['count'] != 1 else ''} "
                f"({np_} press{'es' if np_ != 1 else ''}, {ep['seconds']:.0f} s in all; where most were: {_name(R, r)}"
                + (f"; {sat} with a sensor pressed past its range" if sat else "")
                + "): each one can hurt. Stop and ease off the moment the glove buzzes.")
    if part == "rules":
        v = review["rules"]["violations"][0]
        if v["rule"] == "percussion":
            return (f"No percussion on the {_name(R, v['region'])}: tapotement there is dangerous "
                    f"(at {v['t0_s']:.0f} s). Use light gliding strokes instead.")
        return (f"No static pressure on the {_name(R, v['region'])} (a hold at {v['t0_s']:.0f} s): keep moving there.")
    if part == "warm_up":
        w = review["warm_up"]
        if w["done_s"] >= w["needed_s"] and w["rise_ratio"] is not None:
            return ("Build the warm-up from light to medium: your warm-up strokes did not get firmer "
                    f"(last third {100 * w['rise_ratio']:.0f} % of the first).")
        return (f"Warm up longer before any firm pressure: {w['done_s']:.0f} s of light to medium strokes "
                f"came before the first firm pressure at {w['first_firm_s'] or 0:.0f} s; give it "
                f"{w['needed_s']:.0f} s, light rising to medium.")
    if part == "rhythm":
        ss = [s for s in seg if s["stop_start"]]
        if ss:
            s = max(ss, key=lambda s: s["pauses_per_min"])
            return (f"Keep the strokes going on the {_name(R, s['region'])}: you stopped {s['pauses']} "
                    f"time{'s' if s['pauses'] != 1 else ''} in {s['t1_s'] - s['t0_s']:.0f} s "
                    f"({s['paused_s']:.0f} s in pauses). Smooth and continuous, without stopping and starting.")
        s = max((s for s in seg if s["irregular_rhythm"]), key=lambda s: s["rhythm_cv"] or 0)
        return (f"Keep an even rhythm on the {_name(R, s['region'])}: your stroke intervals varied by "
                f"{100 * s['rhythm_cv']:.0f} % (aim for under {100 * cfg['rhythm_cv_max']:.0f} %). Count the strokes.")
    if part == "pace":
        bad = [s for s in seg if s["pace"] not in (None, "ok")]
        s = max(bad, key=lambda s: s["strokes"])
        lo, hi = s["rate_range_per_min"]
        tech = str(s["technique"]).replace("_", " ")
        if s["pace"] == "too_fast":
            return (f"Slow down the {tech} on the {_name(R, s['region'])}: {s['rate_per_min']:.0f} strokes a "
                    f"minute where {lo:.0f}-{hi:.0f} is usual. Deeper means slower.")
        return (f"Speed up the {tech} on the {_name(R, s['region'])} a little: {s['rate_per_min']:.0f} strokes a "
                f"minute where {lo:.0f}-{hi:.0f} is usual; a pace that isn't rushed but isn't glacial.")
    if part == "consistency":
        s = max((s for s in seg if s["inconsistent_pressure"]), key=lambda s: s["peak_cv"])
        return (f"Even out your pressure on the {_name(R, s['region'])}: stroke peaks varied by "
                f"{100 * s['peak_cv']:.0f} % ({s['hand']} hand, around {s['peak_median_n']:.0f} N). "
                f"Same weight on every stroke, not hard-then-barely-then-hard.")
    if part == "hands_on":
        return (f"Keep one hand on the person: it was on the back {100 * review['hands_on']['fraction']:.0f} % "
                f"of the working time ({review['hands_on']['lifted_s']:.0f} s lifted). Slide to the next "
                f"region instead of lifting off.")
    if part == "coverage":
        cv = review["coverage"]
        if cv["lopsided"]:
            return (f"Cover the whole back, not just the {_name(R, cv['largest'])}: "
                    f"{100 * cv['share_by_region'][cv['largest']]:.0f} % of your time was there"
                    + (f"; {', '.join(_name(R, m) for m in cv['missed'])} got less than {cfg['min_region_s']:.0f} s."
                       if cv["missed"] else "."))
        return ("Cover the whole back: " + ", ".join(_name(R, m) for m in cv["missed"])
                + f" got less than {cfg['min_region_s']:.0f} s.")
    if part == "holds":
        x = next(h for h in review["holds"] if h["too_long"] or h["too_short"] or h["release_abrupt"])
        kind = x["kind"].replace("_", " ")
        if x["too_long"]:
            return (f"Hold a {kind} on the {_name(R, x['region'])} for {x['min_s']:.0f}-{x['limit_s']:.0f} s: "
                    f"yours lasted {x['seconds']:.0f} s (at {x['t0_s']:.0f} s).")
        if x["too_short"]:
            return (f"Stay longer in a {kind} on the {_name(R, x['region'])}: {x['min_s']:.0f}-{x['limit_s']:.0f} s, "
                    f"yours lasted {x['seconds']:.0f} s (at {x['t0_s']:.0f} s).")
        return f"Release slowly after a hold: you let go in {x['release_s']:.1f} s (at {x['t0_s']:.0f} s)."
    if part == "cool_down":
        c = review["cool_down"]
        if c["verdict"] == "not_slower":
            return (f"Slow down in the cool-down: {c['rate_per_min']:.0f} strokes a minute, no slower than "
                    f"the work before ({c['work_rate_per_min']:.0f}).")
        return (f"Finish with a cool-down of light, slowing effleurage (light only "
                f"{100 * (c['light_fraction'] or 0):.0f} % of the cool-down).")
    if part == "fatigue":
        ft = review["fatigue"]
        return (f"Your strokes weakened to {100 * ft['late_to_early_peak_ratio']:.0f} % of their force within a "
                f"stage late in the session: take a short break and shake out your hands "
                f"(a 10-second break every few minutes).")
    if part == "contact":
        return ("Press with confident, broad contact: light, feathery touches tickle instead of relaxing "
                f"(your firmest moments reached only {100 * review['contact']['p90_light_edge_share']:.0f} % "
                f"of a light stroke's edge).")
    if part == "receiver":
        x = next(f for f in review["receiver"]["feedback"] if not f["eased"])
        return (f"When the receiver says \"{x['tag']}\", ease off at once: at {x['t_s']:.0f} s your force went "
                f"from {x['before_n']:.0f} N to {x['after_n']:.0f} N.")
    if part == "balance":
        b = review["balance"]
        lo = min(b["work_ns"], key=b["work_ns"].get)
        return f"Use your {lo} hand more: the other did {b['ratio']:.1f} times its work."
    if part == "session_length":
        sl = review["session_length"]
        return (f"Plan the session's length: {sl['minutes']:.0f} min of work "
                f"({sl['verdict'].replace('_', ' ')}); a quick massage is 10-15 min, standard 20-30, deep 45-60.")
    if part == "technique_time":
        t, v = next((t, v) for t, v in review["technique_time"]["verdicts"].items() if v != "ok")
        lo, hi = cfg["technique_minutes"][t]
        return f"Give {t.replace('_', ' ')} {lo:.0f}-{hi:.0f} minutes: yours was {v}."
    return ""


def _worst_region(review: dict) -> tuple[str, dict] | None:
    rs = [(r, d) for r, d in review["regions"].items() if d["pct_in_allowed"] is not None and d["hands_on_s"] > 0]
    if not rs:
        return None
    return min(rs, key=lambda x: (x[1]["pct_in_allowed"], -x[1]["mean_miss"]))


PRAISE = {
    "in_band": "Pressure stayed in each region's band: next time try a longer routine at the same control.",
    "alerts": "No too-much pressure: keep the same care when you work without the glove.",
    "rules": "You kept every region's own rules.",
    "warm_up": "Your warm-up was long enough: keep building from light to medium before going deeper.",
    "rhythm": "Even, continuous rhythm: keep counting your strokes as you did.",
    "pace": "An unhurried pace for every technique: keep it.",
    "consistency": "Steady stroke pressure: keep the same weight through every stroke.",
    "hands_on": "You kept a hand on the person throughout: keep sliding between regions.",
    "coverage": "You covered the whole back: keep sharing the time between regions.",
    "holds": "Your holds lasted as long as they should.",
    "cool_down": "You finished lighter and slower: keep that cool-down.",
    "fatigue": "Your strength held to the end.",
    "contact": "Confident, broad contact throughout.",
    "receiver": "You eased off when the receiver asked.",
    "balance": "Both hands did the same work: keep them balanced.",
    "session_length": "A well-planned session length.",
    "technique_time": "Good time on each technique.",
}


def advice_items(review: dict, cfg: dict) -> list[dict]:
    """Three things to say: the faults that lost the most points first (with `fault` set to
    the part), then praise for the parts that scored best (`fault` None)."""
    bd = review["score"]["breakdown"]
    faults = review["faults"]
    bad = sorted((p for p in PARTS if faults[p]), key=lambda p: -(bd[p]["lost"] + (100 if p == "alerts" else 0)))
    out = [{"part": p, "fault": p, "lost": bd[p]["lost"], "text": _advice_for(p, review, cfg)} for p in bad[:3]]
    good = sorted((p for p in PARTS if not faults[p] and bd[p]["fraction"] is not None), key=lambda p: -bd[p]["max"])
    for p in good:
        if len(out) >= 3:
            break
        out.append({"part": p, "fault": None, "lost": bd[p]["lost"], "text": PRAISE[p]})
    return out


# --- entry points ----------------------------------------------------------------------

def review_log(path, *, cfg: dict | None = None, profile_set=None) -> dict:
    """Load a session log and review it (LogReadError / LogFormatError for a bad file)."""
    slog = load(path)
    if slog.samples.seq.shape[0] == 0:
        raise GloveError(f"{path}: the log holds no samples to review")
    cfg = cfg or load_settings()
    return review_session(Session(slog, profile_set, cfg), cfg)


def compare(trainee: Session, demo: Session) -> dict:
    """Trainee's forces per region next to an instructor's demonstration (hand total force
    while on the body: median and 90th percentile, newtons; stroke peaks' median)."""
    out = {}
    for r in sorted(set(trainee.regions_seen) | set(demo.regions_seen), key=str):
        row = {"name": trainee.ps.regions[r].name if r in trainee.ps.regions else r}
        for who, S in (("trainee", trainee), ("instructor", demo)):
            m = S.coded["region"].eq(r)[:, None] & S.hand_contact
            v = S.hand_force[m]
            row[who] = ({"median_n": round(float(np.median(v)), 2), "p90_n": round(float(np.percentile(v, 90)), 2),
                         "seconds": round(float(m.any(axis=1).sum()) / S.rate, 1)} if v.size else None)
        out[r] = row
    return out


# The text of the review (display names, alert episodes, reasons): review/text.py.
from .text import render_text  # noqa: E402,F401
