"""What the debrief shows, derived from a reviewed session: display names, alert episodes,
time in each band per region, stroke peaks per stage, the reason for every lost point.

Everything here reads the review dict (report.review_session) and, where it needs the
samples, the reprocessed Session; nothing here changes how a metric is computed. Names
come from the data files (regions.json, routines.json, data/debrief.json); an id the data
does not know is shown as itself with underscores as spaces, and is escaped by the sink.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from ..signal.bands import BANDS
from ..signal.datafile import check_format, read_json
from ..signal.rules import SITE_TEXT

DEBRIEF_PATH = resources.files("massage_glove") / "data" / "debrief.json"
SEVERITIES = ("info", "warning", "danger")


def _plain(x) -> str:
    return str(x).replace("_", " ")


def load_debrief_settings(path=None) -> dict:
    """Names and grouping settings (data/debrief.json); DataFileError names file and field."""
    root = read_json(path or DEBRIEF_PATH)
    check_format(root, "massage-glove/debrief", (1,))
    out = {k: {a: b.str() for a, b in root[k].items()}
           for k in ("hands", "bands", "sensor_classes", "severities", "rules", "parts", "faults")}
    out["episode_gap_factor"] = root["episodes"]["gap_factor"]["value"].number(min=1, max=100)
    c = root["class"]
    out["improved_points"] = c["improved_points"]["value"].number(min=0, max=100)
    out["attention_score"] = c["attention_score"]["value"].number(min=0, max=100)
    out["attention_drop_points"] = c["attention_drop_points"]["value"].number(min=0, max=100)
    return out


class Names:
    """Display names of the ids a review holds (regions, techniques, stages, hands, sensors,
    bands, parts, rules, severities)."""

    def __init__(self, profile_set=None, routine=None, channels=None, settings: dict | None = None):
        from ..signal import default_profile_set
        self.ps = profile_set or default_profile_set()
        self.routine = routine
        self.cfg = settings or load_debrief_settings()
        # channel name -> (hand, site, class)
        self.channels = {}
        for c in channels or ():
            if isinstance(c, dict):
                self.channels[str(c.get("name"))] = (str(c.get("hand")), str(c.get("site")), str(c.get("class")))
            else:
                self.channels[c.name] = (c.hand, c.site, c.sensor_class)

    @classmethod
    def for_review(cls, review: dict, profile_set=None, channels=None) -> "Names":
        """Names for a review dict alone: its routine looked up by key, its channels if listed."""
        routine = None
        if review.get("routine"):
            from ..errors import GloveError
            from ..live.routine import load_routine
            try:
                routine = load_routine(review["routine"])
            except GloveError:     # an unknown routine: its stage ids are shown as they are
                routine = None
        return cls(profile_set, routine, channels if channels is not None else review.get("channels"))

    @classmethod
    def for_session(cls, S) -> "Names":
        return cls(S.ps, S.routine, S.device.channels)

    def region(self, r) -> str:
        if r is None:
            return "No region set"
        reg = self.ps.regions.get(r)
        return reg.name if reg is not None else _plain(r)

    def region_text(self, r) -> str:
        """A region in a sentence ("the muscles along the spine")."""
        reg = self.ps.regions.get(r) if r is not None else None
        return reg.text if reg is not None else ("the back" if r is None else f"the {_plain(r)}")

    def technique(self, t) -> str:
        if t is None:
            return "-"
        tech = self.ps.techniques.get(t)
        name = tech.name if tech is not None else _plain(t)
        return name[:1].upper() + name[1:]

    def stage(self, s) -> str:
        if s is None:
            return "Before the routine" if self.routine is not None else "No routine"
        if s == "end":
            return "After the routine"
        if self.routine is not None:
            for st in self.routine.stages:
                if st.id == s:
                    return st.name
        return _plain(s)

    def routine_name(self, key) -> str:
        if self.routine is not None and self.routine.key == key:
            return self.routine.name
        return _plain(key)

    def hand(self, h) -> str:
        return self.cfg["hands"].get(h) or f"{_plain(h)} hand"

    def sensor(self, name) -> str:
        """A channel's display name ("right thumb"); "<hand> hand" for a whole-hand alert."""
        if name in self.channels:
            hand, site, _ = self.channels[name]
            return f"{hand} {SITE_TEXT.get(site, _plain(site))}"
        if name is None:
            return "-"
        return _plain(name)

    def site(self, name) -> str:
        """A channel's place on the hand ("thumb"); "whole hand" for a whole-hand alert."""
        if name in self.channels:
            _, site, _ = self.channels[name]
            return SITE_TEXT.get(site, _plain(site))
        if str(name).endswith(" hand"):
            return "whole hand"
        return "-" if name is None else _plain(name)

    def sensor_classes_of(self, name) -> set | None:
        """The sensor class of a channel; None (every class) for a whole-hand or unknown one."""
        if name in self.channels:
            return {self.channels[name][2]}
        return None

    def sensor_hand(self, name) -> str | None:
        """The hand a channel or a "<hand> hand" alert belongs to."""
        if name in self.channels:
            return self.channels[name][0]
        s = str(name)
        if s.endswith(" hand"):
            return s[:-5]
        return None

    def sensor_class(self, c) -> str:
        return self.cfg["sensor_classes"].get(c) or _plain(c)

    def band(self, b) -> str:
        if isinstance(b, (int, np.integer)):
            b = BANDS[int(b)] if 0 <= int(b) < len(BANDS) else None
        if b is None:
            return "No contact"
        return self.cfg["bands"].get(b) or _plain(b)

    def part(self, p) -> str:
        return self.cfg["parts"].get(p) or _plain(p).capitalize()

    def rule(self, r) -> str:
        return self.cfg["rules"].get(r) or _plain(r).capitalize()

    def severity(self, s) -> str:
        return self.cfg["severities"].get(s) or _plain(s)

    def fault(self, f) -> str:
        return self.cfg["faults"].get(f) or _plain(f)


def severity_class(s) -> str:
    """A CSS class for a severity: one of a fixed set, whatever the log says."""
    return s if s in SEVERITIES else "warning"


# --- alert episodes ----------------------------------------------------------------------

@dataclass
class Episode:
    rule: str
    hand: str | None
    severity: str
    t0_s: float
    t1_s: float
    count: int = 1
    regions: list = field(default_factory=list)
    sensors: list = field(default_factory=list)
    text: str = ""
    peak_value: float | None = None
    limit: float | None = None
    units: str = ""

    def as_dict(self) -> dict:
        return {"rule": self.rule, "hand": self.hand, "severity": self.severity,
                "t0_s": self.t0_s, "t1_s": self.t1_s, "count": self.count, "regions": self.regions,
                "sensors": self.sensors, "text": self.text, "peak_value": self.peak_value,
                "limit": self.limit, "units": self.units}


def _num(x):
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x) else None


def alert_episodes(alerts: list[dict], names: Names, rules=None, gap_factor: float | None = None) -> list[Episode]:
    """Consecutive alerts of the same rule and hand grouped into episodes.

    alerts: dicts with t_s, rule, severity, sensor, region, text (the review's "alerts"),
    optionally value, limit, units. An alert continues the open episode of its rule and
    hand when it comes within gap_factor x (holdoff_s + clear_ms) of that episode's last
    alert (regions.json rules; 5 s for a rule not listed there).
    """
    rules = rules if rules is not None else names.ps.rules
    gf = gap_factor if gap_factor is not None else names.cfg["episode_gap_factor"]
    open_: dict = {}
    out: list[Episode] = []
    sev_rank = {s: i for i, s in enumerate(SEVERITIES)}
    for a in sorted(alerts, key=lambda a: (_num(a.get("t_s")) or 0.0)):
        rule = str(a.get("rule"))
        sensor = a.get("sensor")
        hand = names.sensor_hand(sensor)
        t = _num(a.get("t_s")) or 0.0
        rt = rules.get(rule) if hasattr(rules, "get") else None
        gap = gf * ((rt.holdoff_s + rt.clear_ms / 1000.0) if rt is not None else 5.0)
        key = (rule, hand)
        ep = open_.get(key)
        sev = str(a.get("severity", "warning"))
        val = _num(a.get("value"))
        if ep is None or t - ep.t1_s > gap:
            ep = Episode(rule, hand, sev, t, t, 0, text=str(a.get("text", "")), units=str(a.get("units") or ""))
            open_[key] = ep
            out.append(ep)
        ep.count += 1
        ep.t1_s = t
        if sev_rank.get(sev, 1) > sev_rank.get(ep.severity, 1):
            ep.severity = sev
        reg = a.get("region")
        if reg not in ep.regions:
            ep.regions.append(reg)
        if sensor not in ep.sensors:
            ep.sensors.append(sensor)
        if val is not None and (ep.peak_value is None or val > ep.peak_value):
            ep.peak_value = val
            ep.limit = _num(a.get("limit"))
    return out


def session_alerts(S) -> list[dict]:
    """The log's alerts with their value, limit and units (the review's list lacks them)."""
    return [{"t_s": a.t_device_s or 0.0, "rule": a.fields.get("rule"), "region": a.fields.get("region"),
             "severity": a.fields.get("severity", "warning"), "sensor": a.fields.get("channel"),
             "text": a.fields.get("text", ""), "value": a.fields.get("value"),
             "limit": a.fields.get("limit"), "units": a.fields.get("units")} for a in S.alerts]


# --- marks -------------------------------------------------------------------------------

def marks(S, names: Names) -> list[dict]:
    """Each mark with its tag, the region and each hand's total force at that moment."""
    out = []
    for m in S.marks:
        t = m.t_device_s
        if t is None or not S.n:
            continue
        i = int(np.clip(np.searchsorted(S.t, t), 0, S.n - 1))
        tag = m.fields.get("tag")
        text = m.fields.get("text", "")
        out.append({"t_s": float(t), "tag": None if tag is None else str(tag),
                    "text": "" if text is None else str(text), "region": S.region[i],
                    "region_name": names.region(S.region[i]),
                    "force_n": {h: round(float(S.hand_force[i, k]), 1) for k, h in enumerate(S.hands)}})
    return out


# --- runs of samples: regions and stages -------------------------------------------------

def label_runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of one label (object array; None is a label too)."""
    n = len(labels)
    if n == 0:
        return []
    lab = np.asarray(labels, dtype=object)
    change = np.flatnonzero(lab[1:] != lab[:-1]) + 1
    b = [0, *change.tolist(), n]
    return list(zip(b[:-1], b[1:]))


def work_span(S, margin_s: float = 3.0) -> tuple[float, float]:
    """The part of the session worth drawing: from a little before the first region set or
    the first contact to the end (a lead-in with nothing on the glove is left out)."""
    if not S.n:
        return 0.0, 1.0
    busy = np.array([r is not None for r in S.region]) | S.hand_contact.any(axis=1)
    t_end = float(S.t[-1])
    if not busy.any():
        return float(S.t[0]), t_end
    return max(float(S.t[0]), float(S.t[int(np.argmax(busy))]) - margin_s), t_end


def saturated_hands(S) -> np.ndarray:
    """(n, hands) bool: a sensor of the hand is saturated (above range) at that sample."""
    from ..signal.calibration import FAULT_SATURATED
    sat = (S.fault & FAULT_SATURATED) != 0
    return np.stack([sat[:, S.hand_of == h].any(axis=1) for h in range(len(S.hands))], 1) \
        if S.n else np.zeros((0, len(S.hands)), bool)


def hand_bands(S) -> tuple[np.ndarray, np.ndarray]:
    """Each hand's band and contact per sample (n, hands), a saturated sensor counting as
    contact in too much: over range is never fine (DOMAIN.md 2)."""
    sat = saturated_hands(S)
    contact = S.hand_contact | sat
    band = np.where(sat, len(BANDS) - 1, np.where(S.hand_contact, S.hand_band, -1)).astype(np.int8)
    return band, contact


def top_band(S) -> np.ndarray:
    """Per sample: the highest band of either hand in contact (-1: no hand in contact)."""
    if not S.n:
        return np.zeros(0, np.int8)
    band, contact = hand_bands(S)
    return np.where(contact, band, -1).max(axis=1)


def band_seconds_by_region(S) -> dict:
    """Per region seen: seconds with no contact and in each band (the highest band of either
    hand in contact), and the region's allowed band."""
    tb = top_band(S)
    dt = 1.0 / S.rate if S.rate else 0.0
    out = {}
    for r in S.regions_seen:
        m = S.region == r
        row = {"none": round(float((m & (tb < 0)).sum()) * dt, 2)}
        for k, b in enumerate(BANDS):
            row[b] = round(float((m & (tb == k)).sum()) * dt, 2)
        P = S.edges.get(r)
        row["allowed"] = BANDS[P.allowed_band] if P is not None else None
        out[r] = row
    return out


def stroke_peaks_by_stage(S, review: dict) -> list[dict]:
    """The review's stroke peaks of each hand, grouped by the stage they fell in (time order)."""
    out = []
    for hand, p in review["strokes"]["peaks"].items():
        t = np.asarray(p["t_s"], np.float64)
        f = np.asarray(p["peak_n"], np.float64)
        if not t.size or not S.n:
            continue
        idx = np.clip(np.searchsorted(S.t, t), 0, S.n - 1)
        st = S.stage[idx]
        for a, b in label_runs(st):
            out.append({"hand": hand, "stage": st[a], "technique": S.technique[idx[a]],
                        "region": S.region[idx[a]], "t_s": t[a:b].tolist(), "peak_n": f[a:b].tolist(),
                        "median_n": float(np.median(f[a:b]))})
    return out


# --- why points were lost ----------------------------------------------------------------

def _count(n: int, what: str, plural: str | None = None) -> str:
    return f"{n} {what if n == 1 else (plural or what + 's')}"


def _pcv(x) -> str:
    return f"{100 * x:.0f} %"


def gate_row(review: dict) -> dict | None:
    """The too-much episodes' gate on the score (the review's score.episode_gate), as a row
    of the breakdown: the parts' points, the factor, the points it took and why."""
    sc = review["score"]
    g, before = sc.get("episode_gate"), sc.get("parts_total")
    if g is None or before is None or g >= 1.0:
        return None
    te = review.get("episodes") or {}
    n = te.get("count")
    return {"factor": g, "parts_total": before, "lost": round(before - sc["total"], 1),
            "reason": f"Too much pressure is never fine: {_count(n, 'too-much episode') if n is not None else 'too-much episodes'} "
                      f"multiplied the parts' {before:.1f} points by {g:.2f}."}


def lost_reasons(review: dict, names: Names) -> dict:
    """For every part that lost points, a sentence saying why (from the review's own
    figures). A reason the review gives itself (breakdown[part]["reason"]) is used as is."""
    bd = review["score"]["breakdown"]
    out = {}
    for p, b in bd.items():
        if b.get("fraction") is None:
            out[p] = "Not scored: " + (b.get("reason") or "nothing in this session to judge it by") + "."
            continue
        if not b.get("lost"):
            out[p] = ""
            continue
        if b.get("reason"):
            out[p] = str(b["reason"])
            continue
        try:
            out[p] = _reason(p, review, names)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            out[p] = ""
        if not out[p]:
            out[p] = f"{b['fraction'] * 100:.0f} % of this part was met."
    return out


def _reason(p: str, r: dict, names: Names) -> str:
    if p == "in_band":
        bad = [(k, d) for k, d in r["regions"].items() if d.get("pct_in_allowed") is not None
               and d["pct_in_allowed"] < 100.0]
        bad.sort(key=lambda x: x[1]["pct_in_allowed"])
        if not bad:
            return "Pressure near the top of the allowed band."
        return "Over the allowed band: " + "; ".join(
            f"{names.region(k)} {100 - d['pct_in_allowed']:.1f} % of the hands-on time "
            f"(allowed: {names.band(d['allowed']).lower()})" for k, d in bad[:4]) + \
            ". Each sample over the limit costs by how far it was over."
    if p == "alerts":
        te = r.get("episodes")
        if isinstance(te, dict) and te.get("count") is not None:     # the review's too-much episodes
            lst = te.get("list") or []
            regs = list(dict.fromkeys(names.region(e.get("region")) for e in lst))
            sat = sum(1 for e in lst if e.get("saturated"))
            return (f"{_count(te['count'], 'too-much episode')}"
                    + (f" ({_count(te['presses'], 'press', 'presses')})" if te.get("presses") is not None else "")
                    + (f", {te['seconds']:.{0 if te['seconds'] >= 10 else 1}f} s in all"
                       if te.get("seconds") is not None else "")
                    + (f" ({', '.join(regs)})" if regs else "")
                    + (f"; {sat} with a sensor pressed past its range" if sat else "") + ".")
        eps = alert_episodes(r["alerts"], names)
        by = {}
        for e in eps:
            by.setdefault(e.severity, []).append(e)
        parts = [f"{len(v)} {names.severity(s).lower()} episode{'s' if len(v) != 1 else ''} "
                 f"({_count(sum(e.count for e in v), 'alert')})" for s, v in sorted(by.items(), key=lambda x: -SEVERITIES.index(x[0]) if x[0] in SEVERITIES else 0)]
        return ", ".join(parts) + "." if parts else ""
    if p == "warm_up":
        w = r["warm_up"]
        return (f"First firm pressure at {w['first_firm_s'] or 0:.0f} s after {w['done_s']:.0f} s of "
                f"light to medium work; the warm-up needs {w['needed_s']:.0f} s.")
    if p in ("rhythm", "consistency", "pace"):
        flag = {"rhythm": ("irregular_rhythm", "stop_start") + (() if "pace" in r["score"]["breakdown"] else ("rushing",)),
                "consistency": ("inconsistent_pressure",), "pace": ("too_fast", "too_slow")}[p]
        segs = [s for s in r["strokes"]["segments"] if any(s.get(f) for f in flag)
                or (p == "rhythm" and s.get("pauses"))
                or (p == "pace" and s.get("pace") not in (None, "ok"))]
        txt = []
        for s in segs[:4]:
            where = f"{names.stage(s.get('stage'))} ({names.hand(s['hand']).lower()})"
            if p == "consistency":
                txt.append(f"{where}: peaks varied {_pcv(s['peak_cv'])}")
            elif p == "pace" or (s.get("rushing") and "pace" not in r["score"]["breakdown"]):
                rng = s.get("rate_range_per_min")
                usual = (f"{rng[0]:.0f}-{rng[1]:.0f}" if isinstance(rng, (list, tuple)) and len(rng) == 2
                         else f"{s['usual_rate_per_min']:.0f}" if s.get("usual_rate_per_min") else "?")
                how = "too slow" if s.get("too_slow") or s.get("pace") == "too_slow" else "too fast"
                txt.append(f"{where}: {s['rate_per_min']:.0f} strokes/min, {how} (usual {usual})")
            elif s.get("pauses") and not s.get("irregular_rhythm"):
                txt.append(f"{where}: {_count(int(s['pauses']), 'pause')}"
                           + (f", {s['paused_s']:.0f} s" if s.get("paused_s") else ""))
            else:
                txt.append(f"{where}: intervals varied {_pcv(s['rhythm_cv'])}"
                           + (f", {_count(int(s['pauses']), 'pause')}" if s.get("pauses") else ""))
        more = len(segs) - len(txt)
        return "; ".join(txt) + (f"; and {more} more" if more > 0 else "") + "." if txt else ""
    if p == "holds":
        txt = []
        for h in r.get("holds") or []:
            what = ("too long" if h.get("too_long") else "too short" if h.get("too_short")
                    else "released abruptly" if h.get("release_abrupt") else None)
            if what:
                lim = (f" (advised {h['min_s']:.0f}-{h['limit_s']:.0f} s)" if h.get("min_s") and h.get("limit_s")
                       else f" (advised up to {h['limit_s']:.0f} s)" if h.get("limit_s") else "")
                txt.append(f"{h['seconds']:.0f} s hold on {names.region_text(h.get('region'))} "
                           f"at {h['t0_s']:.0f} s, {what}{lim}")
        return "; ".join(txt[:4]) + "." if txt else ""
    if p == "rules":
        v = (r.get("rules") or {}).get("violations") or []
        return (_count(len(v), "region rule") + " broken: "
                + "; ".join(str(x.get("text") or names.rule(x.get("rule"))) if isinstance(x, dict) else str(x)
                            for x in v[:4]) + ".") if v else ""
    if p == "fatigue":
        f = r.get("fatigue") or {}
        return (f"Late stroke peaks were {100 * f['late_to_early_peak_ratio']:.0f} % of the early ones."
                if f.get("late_to_early_peak_ratio") else "")
    if p == "contact":
        c = r.get("contact") or {}
        return ("Contact too light: " if c.get("too_light") else "Contact on the light side: ") + \
            (f"the firmer moments reached {c['p90_light_edge_share']:.1f} x the light edge."
             if c.get("p90_light_edge_share") is not None else "not confident, broad contact.")
    if p == "receiver":
        fb = (r.get("receiver") or {}).get("feedback") or []
        ign = [x for x in fb if isinstance(x, dict) and not x.get("eased")]
        return (f"{len(ign)} of {_count(len(fb), 'request')} to go softer not followed by easing off"
                + (" (at " + ", ".join(f"{x['t_s']:.0f} s" for x in ign[:4] if x.get("t_s") is not None) + ")"
                   if ign and ign[0].get("t_s") is not None else "") + ".") if fb else ""
    if p == "session_length":
        sl = r.get("session_length") or {}
        return (f"{sl['minutes']:.0f} min of work" + (f", {_plain(sl['verdict'])}" if sl.get("verdict") else "")
                + (f" for a {_plain(sl['kind'])} session" if sl.get("kind") else "") + ".") if sl.get("minutes") else ""
    if p == "technique_time":
        tt = r.get("technique_time") or {}
        bad = [(t, v) for t, v in (tt.get("verdicts") or {}).items() if v != "ok"]
        secs = tt.get("seconds") or {}
        return "; ".join(f"{names.technique(t)} {secs.get(t, 0) / 60:.1f} min, {_plain(v)}"
                         for t, v in bad[:4]) + "." if bad else ""
    if p == "hands_on":
        h = r["hands_on"]
        return f"A hand was on the person {100 * h['fraction']:.0f} % of the {h['working_s']:.0f} s of work."
    if p == "coverage":
        miss = r["coverage"].get("missed") or []
        return ("Too little time on: " + ", ".join(names.region(m) for m in miss) + ".") if miss else ""
    if p == "cool_down":
        c = r["cool_down"]
        if c.get("light_fraction") is None:
            return "No cool-down: the last part of the work was not lighter and slower."
        return (f"The last part was light {100 * (c['light_fraction'] or 0):.0f} % of the time; "
                f"{'lighter' if c['lighter'] else 'not lighter'} than the session, "
                f"{'slower' if c['slower'] else 'not slower'}.")
    if p == "balance":
        b = r["balance"]
        return (f"One hand did {b['ratio']:.1f} times the other's work ("
                + ", ".join(f"{names.hand(k).lower()} {v:.0f} N·s" for k, v in b["work_ns"].items()) + ").")
    return ""


# --- CSV tables --------------------------------------------------------------------------

def _fault_names(code: int) -> list[str]:
    from ..signal.calibration import FAULT_NOISY, FAULT_OPEN, FAULT_SATURATED, FAULT_SHORT
    return [n for bit, n in ((FAULT_SATURATED, "saturated"), (FAULT_SHORT, "short"),
                             (FAULT_OPEN, "open"), (FAULT_NOISY, "noisy")) if code & bit]


def sample_columns(S, names: Names) -> list[str]:
    cols = ["time_s", "region", "stage", "technique"]
    for c in S.device.channels:
        cols += [f"{c.name} force N", f"{c.name} band"]
    cols += [f"{names.hand(h)} band" for h in S.hands]
    cols.append("faults")
    return cols


def sample_rows(S, names: Names):
    """One row per sample: time, region, stage, technique (display names), each sensor's
    force (N, 3 decimals; empty when the sensor is faulty) and band, each hand's band, and
    the faults of the moment ("right index finger: above range"). A saturated sensor is too
    much. Built column by column (numpy), then zipped into rows."""
    from ..signal.calibration import FAULT_SATURATED
    n = S.n
    chans = S.device.channels
    band_txt = np.array([names.band(k) for k in range(len(BANDS))] + [names.band(None)], dtype=object)
    nocontact = len(BANDS)                      # index of "No contact" in band_txt
    too_much = len(BANDS) - 1
    sensor_txt = [names.sensor(c.name) for c in chans]

    def lookup(labels, fn):
        cache = {}
        return [cache[x] if x in cache else cache.setdefault(x, fn(x)) for x in labels.tolist()]
    cols = [np.round(S.t, 4).tolist(),
            lookup(S.region, names.region),
            lookup(S.stage, names.stage),
            lookup(S.technique, lambda t: names.technique(t) if t is not None else "")]
    f = np.round(S.force, 3)
    for j in range(len(chans)):
        fj = f[:, j]
        cols.append(np.where(np.isfinite(fj), fj, np.nan).tolist())
        code = S.fault[:, j]
        k = np.where(S.contact[:, j], S.band[:, j], nocontact).astype(np.int64)
        k = np.where(k < 0, nocontact, k)
        k = np.where((code & FAULT_SATURATED) != 0, too_much, k)
        b = band_txt[k]
        b[(code != 0) & ((code & FAULT_SATURATED) == 0)] = "fault"
        cols.append(b.tolist())
    hband, hcontact = hand_bands(S)
    for h in range(len(S.hands)):
        k = np.where(hcontact[:, h] & (hband[:, h] >= 0), hband[:, h], nocontact).astype(np.int64)
        cols.append(band_txt[k].tolist())
    faults = [""] * n
    for i in np.flatnonzero((S.fault != 0).any(axis=1)).tolist():
        faults[i] = "; ".join(f"{sensor_txt[j]}: " + ", ".join(names.fault(x) for x in _fault_names(int(S.fault[i, j])))
                              for j in np.flatnonzero(S.fault[i]).tolist())
    cols.append(faults)
    for row in zip(*cols):
        yield ["" if isinstance(v, float) and v != v else v for v in row]


def stage_runs(S) -> list[tuple[int, int]]:
    """Runs of one stage, region and technique (a stage that changes region splits)."""
    if not S.n:
        return []
    key = np.array([f"{a}|{b}|{c}" for a, b, c in zip(S.stage.tolist(), S.region.tolist(),
                                                      S.technique.tolist())], dtype=object)
    return label_runs(key)


def stage_table(S, review: dict, names: Names) -> tuple[list[str], list[list]]:
    """One row per stage: its time, region, technique, hands-on time, % in the allowed band
    and in each band (of the hands' contact time, as the review's regions; a saturated
    sensor counts as contact in too much), strokes per hand with
    rate, rhythm and peak variation (the review's stroke runs in that stage), alerts and
    alert episodes."""
    dt = 1.0 / S.rate if S.rate else 0.0
    hands = S.hands
    cols = ["stage", "region", "technique", "start_s", "end_s", "seconds", "hands_on_s",
            "allowed_band", "pct_in_allowed"] + [f"pct_{b}" for b in BANDS]
    for h in hands:
        hn = names.hand(h)
        cols += [f"{hn} strokes", f"{hn} rate_per_min", f"{hn} usual_rate_per_min",
                 f"{hn} rhythm_cv", f"{hn} peak_cv", f"{hn} peak_median_n"]
    cols += ["alerts", "alert_episodes", "danger_episodes"]
    eps = alert_episodes(session_alerts(S), names)
    hband, hcontact = hand_bands(S)
    rows = []
    for a, b in stage_runs(S):
        t0, t1 = float(S.t[a]), float(S.t[b - 1]) + dt
        r = S.region[a]
        P = S.edges.get(r)
        allowed = P.allowed_band if P is not None else len(BANDS) - 1
        onh = hcontact[a:b]
        hb = hband[a:b]
        on = int(onh.sum())
        pct = lambda m: round(100.0 * float((m & onh).sum()) / on, 1) if on else ""  # noqa: E731
        row = [names.stage(S.stage[a]), names.region(r), names.technique(S.technique[a]) if S.technique[a] else "",
               round(t0, 2), round(t1, 2), round(t1 - t0, 2), round(float(onh.any(axis=1).sum()) * dt, 2),
               names.band(allowed), pct((hb <= allowed) & (hb >= 0))]
        row += [pct(hb == k) for k in range(len(BANDS))]
        for h in hands:
            segs = [s for s in review["strokes"]["segments"] if s["hand"] == h
                    and s["t0_s"] < t1 and s["t1_s"] > t0 and s.get("region") == r]
            if segs:
                s = max(segs, key=lambda s: min(s["t1_s"], t1) - max(s["t0_s"], t0))
                row += [s["strokes"], s.get("rate_per_min"), s.get("usual_rate_per_min"), s.get("rhythm_cv"),
                        s.get("peak_cv"), s.get("peak_median_n")]
            else:
                row += [0, "", "", "", "", ""]
        row = ["" if v is None else v for v in row]
        inside = [e for e in eps if t0 <= e.t0_s < t1]
        n_alerts = sum(1 for x in S.alerts if x.t_device_s is not None and t0 <= x.t_device_s < t1)
        row += [n_alerts, len(inside), sum(1 for e in inside if e.severity == "danger")]
        rows.append(row)
    return cols, rows
