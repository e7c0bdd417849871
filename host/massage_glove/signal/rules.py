"""Rule engine: turns smoothed force, bands and faults into alerts a trainee can act on.

Rules (docs/SIGNAL.md section 7; ids, severities and timings in data/regions.json `rules`):

=================== ========= ===================================================
rule                per       condition
=================== ========= ===================================================
too_much            sensor    band is too much (or the sensor is saturated), or the
                              fast path: the unsmoothed force at or above the
                              too-much edge on fast_alert_samples samples in a row
over_limit          sensor    band above the region's allowed band, or the fast
                              path at the region's limit (not too much)
over_limit_hand     hand      at least hand_min_sensors sensors over the limit
static_pressure     sensor    steady pressure (static_min_fraction of the light
                              edge or more) longer than static_max_s where the
                              region allows no static pressure (spine)
percussion          hand      >= percussion_min_impacts strikes in the last
                              percussion_window_s where the region allows none
too_deep_too_fast   hand      firm before warmup_s of light/medium hands-on work
hold_too_long       sensor    steady pressure (medium or more) held longer than
                              the technique's (or region's) hold time
sensor_saturated    sensor    saturated for persist_ms
sensor_broken       sensor    open, shorted or noisy for persist_ms
=================== ========= ===================================================

Every condition is evaluated per sample; a `Latch` turns it into alerts: an alert fires
once the condition has held persist_ms, is repeated at most every holdoff_s while it
lasts, and fires anew only after the condition has been gone for clear_ms. The band's
own dwell (data: dwell_up_ms) is the debounce of too_much and over_limit by the bands, so
they fire on the sample the band changes; the fast path (raw_n) tells a press on its
second sample at or over the limit, without waiting for the spike median and low-pass.

The engine is a streaming object: feeding a stream in chunks gives the same alerts as
feeding it whole, as long as the region and technique hint change only between chunks.
RuleKernel (rules_kernel.py) gives the same alerts a sample at a time, compiled; both
tell them with RuleSet.tell.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from ..portable import fsr
from ..samples import Channel
from .bands import BAND_TEXT, FIRM, TOO_MUCH, UNKNOWN, run_lengths, samples_for_ms
from .calibration import FAULT_BROKEN, FAULT_NOISY, FAULT_OPEN, FAULT_SATURATED
from .profiles import RULE_IDS, Profile, ProfileSet, Settings, default_profile_set

log = logging.getLogger(__name__)

SITE_TEXT = {
    "thumb": "thumb", "index": "index finger", "middle": "middle finger",
    "ring": "ring finger", "little": "little finger", "knuckle_index": "index knuckle",
    "knuckle_middle": "middle knuckle", "palm_heel": "heel of the hand",
}

_PER_CHANNEL = ("too_much", "over_limit", "static_pressure", "hold_too_long",
                "sensor_saturated", "sensor_broken")
_PER_HAND = ("over_limit_hand", "percussion", "too_deep_too_fast")
# Rules whose meaning depends on the region: their episodes restart when the region changes.
_REGIONAL = ("over_limit", "over_limit_hand", "static_pressure", "percussion",
             "too_deep_too_fast", "hold_too_long")
# Rules that wait region_settle_s after a region change (the hands moving there). Pressure
# (too much, over the limit) and sensor faults never wait.
_SETTLING = ("static_pressure", "percussion", "too_deep_too_fast", "hold_too_long")
# Rules whose episodes are per sensor (a fault belongs to one sensor); all others are told
# once per episode per hand. over_limit_hand has no episode of its own: it is how the hand's
# over_limit episode is told when several of its sensors are over.
_EPISODE_PER_SENSOR = ("sensor_saturated", "sensor_broken")
_PRESSURE = ("too_much", "over_limit", "over_limit_hand")


@dataclass(frozen=True)
class Alert:
    """One alert. value and limit are in `units`; sensor is a channel name or "<hand> hand"."""
    t_s: float
    region: str | None
    sensor: str
    rule: str
    severity: str     # "info" | "warning" | "danger"
    value: float
    limit: float
    units: str
    text: str
    hand: str = ""    # the hand the alert is about
    episode: int = 0  # its episode: pressure alerts of one press of one hand share it
    repeat: bool = False   # a reminder within an episode already prompted


def sensor_text(ch: Channel) -> str:
    """How a sentence names a sensor: "right thumb", "left heel of the hand"."""
    return f"{ch.hand} {SITE_TEXT.get(ch.site, ch.site.replace('_', ' '))}"


def _num(x: float) -> str:
    """A force or time for a sentence: one decimal, without a trailing .0 ("4", "6.2")."""
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


def _duration(s: float) -> str:
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    m, r = divmod(s, 60)
    return f"{m} min" + (f" {r} s" if r else "")


class Latch:
    """One prompt per episode for K independent conditions (CPR-feedback style).

    persist, clear, holdoff: (K,) sample counts; misses: (K,) episodes (default 1).
    An episode starts when its condition has been true for `persist` samples in a row and
    ends once it has been false for `clear` samples in a row (the re-arm: back in band for a
    set time). The `misses`-th episode since the last prompt is prompted on its first sample
    (misses 1: every episode, as a safety prompt must be); while a prompted episode lasts
    it is repeated every `holdoff` samples. A non-safety key (misses > 1) is also never
    prompted again within `holdoff` samples of its last prompt, across episodes (no nagging:
    the misses go on counting). `episode[k]` numbers the episodes of key k.
    """

    def __init__(self, persist, clear, holdoff, misses=None):
        self.persist = np.maximum(np.asarray(persist, np.int64), 1)
        self.clear = np.maximum(np.asarray(clear, np.int64), 1)
        self.holdoff = np.maximum(np.asarray(holdoff, np.int64), 1)
        k = self.persist.shape[0]
        self.misses = (np.ones(k, np.int64) if misses is None
                       else np.maximum(np.asarray(misses, np.int64), 1))
        self.run = np.zeros(k, np.int64)       # consecutive true samples
        self.off = np.zeros(k, np.int64)       # consecutive false samples while active
        self.since = np.zeros(k, np.int64)     # samples since the last prompt while active
        self.active = np.zeros(k, bool)        # an episode is on
        self.prompted = np.zeros(k, bool)      # ... and it was prompted
        self.count = np.zeros(k, np.int64)     # episodes since the last prompt
        self.episode = np.zeros(k, np.int64)   # episodes so far
        self.n = 0                              # samples seen
        self.last_fire = np.full(k, -(1 << 40), np.int64)   # sample of the last prompt

    def reset(self, keys=None) -> None:
        """Forget the state of `keys` (index array or bool mask; None: all)."""
        sel = slice(None) if keys is None else keys
        self.run[sel] = 0
        self.off[sel] = 0
        self.since[sel] = 0
        self.active[sel] = False
        self.prompted[sel] = False
        self.count[sel] = 0

    def process(self, cond: np.ndarray) -> list[tuple[int, int, int, bool]]:
        """Prompts (sample index, key, episode number, repeat) for a (n, K) bool array, in
        time order. `starts` then lists the (sample index, key, episode number) of the
        episodes that started in it."""
        n = cond.shape[0]
        anyc = cond.any(axis=1)
        events: list[tuple[int, int, int, bool]] = []
        self.starts: list[tuple[int, int, int]] = []
        n0 = self.n
        self.n += n
        i = 0
        while i < n:
            if not self.active.any() and not self.run.any():
                nxt = np.flatnonzero(anyc[i:])
                if nxt.size == 0:
                    break
                i += int(nxt[0])
            c = cond[i]
            self.run = np.where(c, self.run + 1, 0)
            self.off = np.where(c, 0, self.off + 1)
            self.since += self.active
            start = c & ~self.active & (self.run >= self.persist)
            if start.any():
                self.active |= start
                self.episode += start
                self.count += start
                self.starts.extend((i, int(k), int(self.episode[k])) for k in np.flatnonzero(start))
            quiet = (self.misses == 1) | (n0 + i - self.last_fire >= self.holdoff)
            fire_new = start & (self.count >= self.misses) & quiet
            fire_again = c & self.active & self.prompted & ~start & (self.since >= self.holdoff)
            fire = fire_new | fire_again
            if fire.any():
                events.extend((i, int(k), int(self.episode[k]), not bool(fire_new[k]))
                              for k in np.flatnonzero(fire))
                self.since[fire] = 0
                self.last_fire[fire] = n0 + i
                self.count[fire_new] = 0
                self.prompted |= fire_new
            ended = self.active & ~c & (self.off >= self.clear)
            if ended.any():
                self.active &= ~ended
                self.prompted &= ~ended
            i += 1
        return events


class _Window:
    """Causal sliding max/min over the last w samples of each column, across chunks."""

    def __init__(self, w: int, ncol: int):
        self.w = w | 1                                  # odd, so the centred filter shifts exactly
        self.hist = np.zeros((self.w - 1, ncol))

    def process(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ext = np.concatenate([self.hist, x], axis=0)
        r = (self.w - 1) // 2
        mx = maximum_filter1d(ext, self.w, axis=0, mode="nearest")
        mn = minimum_filter1d(ext, self.w, axis=0, mode="nearest")
        n = x.shape[0]
        start = self.w - 1 - r
        self.hist = ext[-(self.w - 1):].copy() if self.w > 1 else self.hist
        return mx[start:start + n], mn[start:start + n]


@dataclass(frozen=True)
class Regime:
    """What the rules check in one region with one technique hint (from RuleSet.regime).

    limit: (K,) the limit of each condition column (NaN where the rule is off here);
    static_max_s / hold_max_s / percussion / warmup: the region-dependent rules that are on.
    """
    profile: Profile
    technique: object
    limit: np.ndarray
    static_max_s: float | None
    hold_max_s: float | None
    percussion: bool
    warmup: bool


class RuleSet:
    """What RuleEngine and RuleKernel share: the channel table, the condition and episode
    keys, the rule timings in samples, the profiles of each region and the alert text.

    Condition columns (`keys`): one per (rule, channel) and per (rule, hand), in RULE_IDS
    order. Episode keys (`ekeys`): (rule, hand), or (rule, channel) for sensor faults.
    A prompt, however it was found, is told by `tell` from its sample's condition and value
    rows, so the two engines give the same alerts.
    """

    def __init__(self, channels: Sequence[Channel], profile_set: ProfileSet | None = None,
                 skill: str = "trained", sensitivity: str | float = "normal",
                 rate_hz: float = 200.0, settings: Settings | None = None):
        self.channels = tuple(channels)
        self.ps = profile_set or default_profile_set()
        self.skill = skill
        self.sensitivity = sensitivity
        self.rate_hz = float(rate_hz)
        s = settings or self.ps.settings
        self.settings = s
        nch = len(self.channels)
        self.n_channels = nch
        self.hands = tuple(dict.fromkeys(c.hand for c in self.channels))
        self.hand_of = np.array([self.hands.index(c.hand) for c in self.channels])
        self._hand_cols = [np.flatnonzero(self.hand_of == h) for h in range(len(self.hands))]
        self.range_n = np.array([fsr.NOMINAL[c.sensor_class]["f_max_n"] for c in self.channels])
        self._profiles: dict[str | None, Profile] = {}
        self._regimes: dict[tuple[str | None, str | None], Regime] = {}
        # Keys: one column per (rule, channel) and per (rule, hand).
        self.keys: list[tuple[str, int]] = []
        self._col: dict[str, slice] = {}
        for r in RULE_IDS:
            m = len(self.hands) if r in _PER_HAND else nch
            self._col[r] = slice(len(self.keys), len(self.keys) + m)
            self.keys.extend((r, j) for j in range(m))
        rate = self.rate_hz
        # Episode keys: (rule, hand index) or, for sensor faults, (rule, channel index).
        self.ekeys: list[tuple[str, int]] = []
        self._ecol: dict[str, slice] = {}
        for r in RULE_IDS:
            if r == "over_limit_hand":
                continue
            m = nch if r in _EPISODE_PER_SENSOR else len(self.hands)
            self._ecol[r] = slice(len(self.ekeys), len(self.ekeys) + m)
            self.ekeys.extend((r, j) for j in range(m))

        def per_key(fn):
            return np.array([fn(self.ps.rules[r]) for r, _ in self.ekeys])
        self.persist = per_key(lambda t: samples_for_ms(t.persist_ms, rate))
        self.clear = per_key(lambda t: samples_for_ms(t.clear_ms, rate))
        self.holdoff = per_key(lambda t: samples_for_ms(t.holdoff_s * 1000.0, rate))
        self.misses = per_key(lambda t: t.misses)
        self._regional = np.array([r in _REGIONAL for r, _ in self.ekeys])
        self._settling = np.array([r in _SETTLING for r, _ in self.ekeys])
        # Sample counts of the duration rules.
        self.steady_w = max(1, int(round(s.steady_window_s * rate))) | 1   # odd: see _Window
        self.rise_k = samples_for_ms(s.impact_rise_ms, rate)
        self.refractory = samples_for_ms(s.impact_refractory_ms, rate)
        self.pwin = max(1, int(round(s.percussion_window_s * rate)))
        self.contact_gap = max(1, int(round(s.contact_gap_s * rate)))
        self.fast_k = int(s.fast_alert_samples)
        self.t_broken_s = self.ps.rules["sensor_broken"].persist_ms / 1000.0

    # --- profiles -----------------------------------------------------------------------
    def profile(self, region: str | None) -> Profile:
        if region not in self._profiles:
            self._profiles[region] = self.ps.resolve(region, self.skill, self.sensitivity, self.channels)
        return self._profiles[region]

    def check_technique(self, technique_hint: str | None) -> None:
        if technique_hint is not None and technique_hint not in self.ps.techniques:
            raise ValueError(f"unknown technique {technique_hint!r}: use one of "
                             + ", ".join(self.ps.techniques))

    def regime(self, region: str | None, technique_hint: str | None) -> Regime:
        """The rules in force in `region` with `technique_hint` (cached)."""
        key = (region, technique_hint)
        if key not in self._regimes:
            P = self.profile(region)
            reg = P.region
            s = self.settings
            tech = self.ps.techniques.get(technique_hint) if technique_hint else None
            moving = tech is not None and tech.moving
            static_max = reg.static_max_s if reg is not None and not reg.static_pressure and not moving else None
            hold_max = None
            if reg is not None and reg.static_pressure and not moving:
                hold_max = tech.hold_max_s if tech is not None and tech.hold_max_s else reg.hold_max_s
            percussion = reg is not None and not reg.percussion
            warmup = P.allowed_band >= FIRM
            limit = np.full(len(self.keys), np.nan)
            limit[self._col["too_much"]] = P.too_much_n
            limit[self._col["over_limit"]] = P.limit_n
            limit[self._col["over_limit_hand"]] = s.hand_min_sensors
            if static_max is not None:
                limit[self._col["static_pressure"]] = static_max
            if hold_max is not None:
                limit[self._col["hold_too_long"]] = hold_max
            if percussion:
                limit[self._col["percussion"]] = 0.0
            if warmup:
                limit[self._col["too_deep_too_fast"]] = s.warmup_s
            limit[self._col["sensor_saturated"]] = self.range_n
            limit[self._col["sensor_broken"]] = self.t_broken_s
            self._regimes[key] = Regime(P, tech, limit, static_max, hold_max, percussion, warmup)
        return self._regimes[key]

    def _check_raw(self, raw_n, n: int):
        """The unsmoothed force for the fast path as (n, n_channels) float64, or None (off)."""
        if raw_n is None or self.fast_k <= 0:
            return None
        r = np.asarray(raw_n, np.float64)
        if r.shape != (n, self.n_channels):
            raise ValueError(f"raw_n has shape {r.shape}, expected ({n}, {self.n_channels})")
        return r

    # --- alert text ---------------------------------------------------------------------
    def active_episodes(self) -> set[tuple[str, str]]:
        """The episodes going on now: (rule, hand) for hand rules, (rule, channel name) for
        sensor faults; a hand's over-limit press is ("over_limit", hand)."""
        out = set()
        for k in self._active_keys():
            rule, j = self.ekeys[int(k)]
            who = self.channels[j].name if rule in _EPISODE_PER_SENSOR else self.hands[j]
            out.add((rule, who))
        return out

    def tell(self, prompts, t, flt, rg: Regime) -> list[Alert]:
        """One alert per prompt: the worst sensor of the hand on that sample, with a count
        of the others. An over-limit prompt on a sample where the hand is too much is left
        to the too-much episode (which has its own prompt): one press, one alert.

        prompts: (sample, episode key, episode number, repeat, press episode, condition
        row (K,), value row (K,)) in time order; the press episode is the number of the
        hand's over-limit episode going on at that sample. t (n,), flt (n, n_channels):
        the chunk's times and fault bits.
        """
        alerts = []
        limit = rg.limit
        c_tm = self._col["too_much"].start
        for i, ek, ep, rep, press_ep, crow, vrow in prompts:
            rule, j = self.ekeys[ek]
            if rule in _EPISODE_PER_SENSOR:
                ks, hand = [self._col[rule].start + j], int(self.hand_of[j])
            elif rule in _PER_HAND:
                ks, hand = [self._col[rule].start + j], j
            else:
                hand = j
                cols = self._hand_cols[hand]
                if rule == "over_limit":
                    if any(crow[c_tm + c] for c in cols):
                        continue
                    if crow[self._col["over_limit_hand"].start + hand]:
                        rule = "over_limit_hand"
                        ks = [self._col[rule].start + hand]
                    else:
                        ks = [self._col[rule].start + c for c in cols if crow[self._col[rule].start + c]]
                else:
                    ks = [self._col[rule].start + c for c in cols if crow[self._col[rule].start + c]]
                if rule in _PRESSURE:
                    ep = press_ep
                if not ks:
                    continue
            if rep and rule in _PRESSURE and rule != "over_limit_hand":
                # a reminder says the force of its own sample: none while the band is only
                # held (hysteresis, dwell) and the force itself is back under the limit
                ks = [k for k in ks if vrow[k] >= limit[k]]
                if not ks:
                    continue
            if len(ks) > 1:
                v = np.array([vrow[k] for k in ks], np.float64)
                lim = limit[ks]
                with np.errstate(divide="ignore", invalid="ignore"):
                    score = np.where(lim > 0, v / lim, v)
                score = np.where(np.isfinite(score), score, np.inf)
                w = int(np.argmax(score))
                ks = [ks[w]] + [k for m, k in enumerate(ks) if m != w]
            a = self._alert(float(t[i]), ks[0], flt[i], crow, vrow, rg)
            if len(ks) > 1:
                a = dataclasses.replace(a, text=a.text + f" Also on {len(ks) - 1} other sensor"
                                        f"{'s' if len(ks) > 2 else ''} of the {self.hands[hand]} hand.")
            alerts.append(dataclasses.replace(a, hand=self.hands[hand], episode=int(ep), repeat=bool(rep)))
        return alerts

    def _alert(self, t_i: float, k: int, flt_row, crow, vrow, rg: Regime) -> Alert:
        rule, j = self.keys[k]
        P, tech = rg.profile, rg.technique
        timing = self.ps.rules[rule]
        v = float(vrow[k])
        lim = float(rg.limit[k])
        region = P.region_text
        rid = P.region_id
        over_region = f" over {region}" if P.region else ""
        allowed_name = BAND_TEXT[P.allowed_band]
        novice = self.skill == "novice" and (P.region is None or P.allowed_band < P.region.max_band)
        units = "N"
        if rule in _PER_HAND:
            hand = self.hands[j]
        else:
            ch = self.channels[j]
            who = sensor_text(ch)
        sensor = f"{hand} hand" if rule in _PER_HAND else ch.name
        if rule == "too_much":
            if flt_row[j] & FAULT_SATURATED:
                text = (f"Far too much pressure on the {who}{over_region}: > {_num(v)} N (over range). "
                        f"Stop and ease off now.")
            else:
                text = (f"Far too much pressure on the {who}{over_region}: {_num(v)} N, "
                        f"too much starts at {_num(lim)} N. Stop and ease off now.")
        elif rule == "over_limit":
            text = f"Too much pressure on the {who}{over_region}: {_num(v)} N, " + \
                self._allows(P, allowed_name, lim, novice) + ". Ease off."
        elif rule == "over_limit_hand":
            # the hand's sensors over the limit, and the force each is told with (its
            # over_limit value: the smoothed force, or the unsmoothed one of the fast path)
            c_ol, c_tm = self._col["over_limit"].start, self._col["too_much"].start
            cols = [c for c in self._hand_cols[j] if crow[c_ol + c] or crow[c_tm + c]]
            fo = np.array([vrow[c_ol + c] for c in cols], np.float64)
            ratio = fo / P.limit_n[cols]
            ratio = np.where(np.isfinite(ratio), ratio, np.inf)
            m = int(np.argmax(ratio))
            w = int(cols[m])
            fw = fo[m] if np.isfinite(fo[m]) else self.range_n[w]
            site = SITE_TEXT.get(self.channels[w].site, self.channels[w].site)
            text = (f"The whole {hand} hand is pressing too hard{over_region}: {int(v)} sensors "
                    f"above {allowed_name}, the most on the {site} with {_num(fw)} N, and "
                    + self._allows(P, allowed_name, P.limit_n[w], novice) + ". Ease off.")
            units = "sensors"
        elif rule == "static_pressure":
            units = "s"
            text = (f"Pressure held still on {region} with the {who} for {_num(v)} s: "
                    f"{region} takes light gliding strokes only, never static pressure. "
                    f"Keep the hand moving, or move to the muscles beside it.")
        elif rule == "percussion":
            units = "strikes/s"
            text = (f"Percussion over {region} with the {hand} hand ({int(round(v * self.settings.percussion_window_s))} "
                    f"strikes in the last {_num(self.settings.percussion_window_s)} s): no tapping or pounding here. "
                    f"Use light gliding strokes instead.")
        elif rule == "too_deep_too_fast":
            units = "s"
            text = (f"Firm pressure with the {hand} hand after only {_duration(v)} of warm-up: warm up with "
                    f"light to medium strokes for {_duration(lim)} first (too deep too fast).")
        elif rule == "hold_too_long":
            units = "s"
            what = f"a {tech.name} lasts" if tech is not None else "a hold here lasts"
            text = (f"Holding still on {region} with the {who} for {_num(v)} s: {what} at most "
                    f"{_num(lim)} s. Release slowly and move on.")
        elif rule == "sensor_saturated":
            t_sat = self.ps.rules["sensor_saturated"].persist_ms / 1000.0
            text = (f"The {who} has read over range (> {_num(v)} N) for {_num(t_sat)} s without a "
                    f"break: if nobody is pressing that hard, check the sensor.")
        else:  # sensor_broken
            units = "s"
            if flt_row[j] & FAULT_NOISY:
                text = (f"The {who} sensor reading jumps about (a loose connector or a damaged "
                        f"sensor?): pressure there is not being checked.")
            elif flt_row[j] & FAULT_OPEN:
                text = (f"The {who} sensor reads nothing (a broken wire or loose connector?): "
                        f"pressure there is not being checked.")
            else:
                text = (f"The {who} sensor reads full scale (a short circuit?): pressure there "
                        f"is not being checked.")
        return Alert(t_i, rid, sensor, rule, timing.severity, v, lim, units, text)

    @staticmethod
    def _allows(P: Profile, allowed_name: str, lim: float, novice: bool) -> str:
        if P.region is None:
            who = "a novice" if novice else "you"
            return f"{who} should stay at {allowed_name} or lighter (under {_num(lim)} N)"
        base = P.region.text
        band = f"{allowed_name} only" if P.allowed_band == 0 else f"up to {allowed_name}"
        tail = " for a novice" if novice else ""
        return f"{base} allows {band}{tail} (under {_num(lim)} N)"


class RuleEngine(RuleSet):
    """Streaming rule engine for one glove: `process` a chunk, get its alerts (numpy, a
    chunk at a time; RuleKernel gives the same alerts a sample at a time, compiled).

    channels: the glove's channel table (names, hands, sites, classes);
    profile_set: data (regions, rules, settings); skill "novice" | "trained";
    sensitivity: "normal" | "sensitive" | a factor; rate_hz: the sample rate;
    settings: overrides profile_set.settings.
    """

    def __init__(self, channels: Sequence[Channel], profile_set: ProfileSet | None = None,
                 skill: str = "trained", sensitivity: str | float = "normal",
                 rate_hz: float = 200.0, settings: Settings | None = None):
        super().__init__(channels, profile_set, skill, sensitivity, rate_hz, settings)
        nch = self.n_channels
        self.latch = Latch(self.persist, self.clear, self.holdoff, self.misses)
        self._settle_until = -np.inf
        # Steady-force detection (static pressure, holds).
        self.window = _Window(self.steady_w, nch)
        self._run_static = np.zeros(nch, np.int64)
        self._run_hold = np.zeros(nch, np.int64)
        # Impacts (percussion).
        self._rise_hist = np.full((self.rise_k, nch), np.nan)
        self._onset_prev = np.zeros(nch, bool)
        self._impacts: list[list[int]] = [[] for _ in self.hands]
        # Warm-up.
        self._warm_samples = 0
        self._last_touch = -1
        # Fast path: the last fast_k - 1 samples of the unsmoothed force (NaN: not seen).
        self._fast_hist = np.full((max(self.fast_k - 1, 0), nch), np.nan)
        self._n_seen = 0
        self._region: str | None = None
        self._started = False

    def _active_keys(self):
        return np.flatnonzero(self.latch.active)

    @property
    def warmup_done_s(self) -> float:
        """Seconds of light/medium contact so far (the warm-up clock)."""
        return self._warm_samples / self.rate_hz

    # --- processing ---------------------------------------------------------------------
    def _fast(self, raw, P: Profile):
        """Fast path: (n, n_channels) bool, the unsmoothed force at or above the too-much
        edge, and at or above the region's limit, on each of the last fast_k samples
        (across chunks; NaN, a broken sensor or a chunk without raw_n, breaks the run)."""
        k = self.fast_k
        if raw is None:
            if k > 1:
                self._fast_hist[:] = np.nan
            return None, None
        n = raw.shape[0]
        ext = np.concatenate([self._fast_hist, raw], axis=0)
        low = ext[k - 1:]
        for d in range(1, k):
            low = np.minimum(low, ext[k - 1 - d:k - 1 - d + n])     # NaN stays NaN
        if k > 1:
            self._fast_hist = ext[-(k - 1):].copy()
        with np.errstate(invalid="ignore"):
            return low >= P.too_much_n, low >= P.limit_n

    def process(self, t_s, force_n, bands, faults, region: str | None,
                technique_hint: str | None = None, raw_n=None) -> list[Alert]:
        """Alerts for one chunk.

        t_s (n,) seconds; force_n (n, n_channels) smoothed newtons (NaN where faulted);
        bands (n, n_channels) int8 from BandClassifier; faults (n, n_channels) uint8
        FAULT_* bits; region: region id for the whole chunk (None: not chosen);
        technique_hint: a technique id from regions.json (e.g. "effleurage", "static_point");
        a moving technique turns the steady-force rules off, a timed hold sets the hold time.
        raw_n (n, n_channels): the tared, unsmoothed force (NaN where broken, the sensor's
        range where over range) for the fast path: at or above the too-much edge or the
        region's limit on fast_alert_samples samples in a row is too much or over the
        limit at once, beside the bands (None, or fast_alert_samples 0: bands only).
        """
        t = np.asarray(t_s, np.float64)
        f = np.asarray(force_n, np.float64)
        b = np.asarray(bands)
        flt = np.asarray(faults)
        n = f.shape[0]
        self.check_technique(technique_hint)
        raw = self._check_raw(raw_n, n)
        if self._started and region != self._region:
            self.latch.reset(self._regional)
            if n:
                self._settle_until = float(t[0]) + self.settings.region_settle_s
        self._region = region
        self._started = True
        if n == 0:
            return []
        rg = self.regime(region, technique_hint)
        P = rg.profile
        s = self.settings
        rate = self.rate_hz
        K = len(self.keys)
        cond = np.zeros((n, K), bool)
        value = np.full((n, K), np.nan)
        valid = np.isfinite(f) & (b != UNKNOWN)
        fz = np.where(np.isfinite(f), f, 0.0)
        allowed = P.allowed_band

        def put(rule, c, v):
            sl = self._col[rule]
            cond[:, sl] = c
            value[:, sl] = v

        sat = ((flt & FAULT_SATURATED) != 0) & ((flt & FAULT_BROKEN) == 0)
        fval = np.where(sat, self.range_n, f)
        # too much / over the limit: the band, or the fast path on the unsmoothed force. An
        # alert tells the smoothed force unless that is under the limit while the fast path
        # holds: then the unsmoothed force, which is at or above it.
        fast_tm, fast_ol = self._fast(raw, P)
        with np.errstate(invalid="ignore"):
            if raw is None:
                tm, over = b == TOO_MUCH, (b > allowed) & (b != UNKNOWN)
                v_tm, v_ol = fval, f
            else:
                tm = (b == TOO_MUCH) | fast_tm
                over = ((b > allowed) & (b != UNKNOWN)) | fast_ol
                v_tm = np.where(fast_tm & ~(fval >= P.too_much_n), raw, fval)
                v_ol = np.where(fast_ol & ~(f >= P.limit_n), raw, f)
        put("too_much", tm, v_tm)
        put("over_limit", over & ~tm, v_ol)
        hc, hv = [], []
        for cols in self._hand_cols:
            cnt = over[:, cols].sum(axis=1)
            hc.append(cnt >= s.hand_min_sensors)
            hv.append(cnt)
        put("over_limit_hand", np.stack(hc, 1), np.stack(hv, 1))

        # steady force: static pressure and holds
        mx, mn = self.window.process(fz)
        shape_ok = (mx - mn) <= s.steady_tolerance * mx
        w = self.window.w
        st_contact = shape_ok & (mn >= np.maximum(P.contact_n, s.static_min_fraction * P.edges_n[:, 0]))
        st_press = shape_ok & (mn >= P.edges_n[:, 0])
        r_static = run_lengths(st_contact, self._run_static)
        r_hold = run_lengths(st_press, self._run_hold)
        self._run_static, self._run_hold = r_static[-1].copy(), r_hold[-1].copy()
        d_static = np.where(r_static > 0, (r_static + w - 1) / rate, 0.0)
        d_hold = np.where(r_hold > 0, (r_hold + w - 1) / rate, 0.0)
        if rg.static_max_s is not None:
            put("static_pressure", d_static > rg.static_max_s, d_static)
        if rg.hold_max_s is not None:
            put("hold_too_long", d_hold > rg.hold_max_s, d_hold)

        # impacts and percussion
        ext = np.concatenate([self._rise_hist, f], axis=0)
        before = ext[:n]
        rise_n = s.impact_rise_fraction * P.edges_n[:, 0]
        with np.errstate(invalid="ignore"):
            onset = ((f - before) >= rise_n) & (before < P.contact_n)
        self._rise_hist = ext[-self.rise_k:].copy()
        first = onset & ~np.concatenate([self._onset_prev[None], onset[:-1]], axis=0)
        self._onset_prev = onset[-1].copy()
        g0 = self._n_seen
        pc, pv = [], []
        for h, cols in enumerate(self._hand_cols):
            imp = self._impacts[h]
            for i in np.flatnonzero(first[:, cols].any(axis=1)):
                gi = g0 + int(i)
                if not imp or gi - imp[-1] >= self.refractory:
                    imp.append(gi)
            arr = np.asarray(imp, np.int64)
            gidx = g0 + np.arange(n)
            cnt = np.searchsorted(arr, gidx, "right") - np.searchsorted(arr, gidx - self.pwin, "right")
            pc.append(cnt >= s.percussion_min_impacts)
            pv.append(cnt / s.percussion_window_s)
            keep_from = g0 + n - self.pwin
            self._impacts[h] = [x for x in imp[:-1] if x > keep_from] + imp[-1:]
        if rg.percussion:
            put("percussion", np.stack(pc, 1), np.stack(pv, 1))

        # warm-up: seconds of hands-on light/medium work before any firm pressure. A pause in
        # contact shorter than contact_gap_s (the light return of a stroke) still counts.
        touching = (valid & (fz >= P.contact_n)).any(axis=1)
        gidx = self._n_seen + np.arange(n)
        last_touch = np.maximum.accumulate(np.where(touching, gidx, self._last_touch))
        self._last_touch = int(last_touch[-1])
        engaged = (last_touch >= 0) & (gidx - last_touch < self.contact_gap)
        gentle = ~((b >= FIRM) & valid).any(axis=1)
        lm = engaged & gentle
        warm = self._warm_samples + np.cumsum(lm)
        self._warm_samples = int(warm[-1])
        warm_s = warm / rate
        if rg.warmup:
            firm = b == FIRM
            early = warm_s < s.warmup_s
            dc = np.stack([firm[:, cols].any(axis=1) & early for cols in self._hand_cols], 1)
            put("too_deep_too_fast", dc, np.repeat(warm_s[:, None], len(self.hands), 1))

        # faults
        put("sensor_saturated", sat, self.range_n)
        put("sensor_broken", (flt & FAULT_BROKEN) != 0, self.t_broken_s)

        self._n_seen += n
        # Episode conditions: per hand (any of its sensors), per sensor for faults. The hand's
        # over-limit episode is the whole press above the region's limit, too much included,
        # so one press is one episode.
        E = np.zeros((n, len(self.ekeys)), bool)
        for r, esl in self._ecol.items():
            csl = self._col[r]
            if r in _EPISODE_PER_SENSOR or r in _PER_HAND:
                E[:, esl] = cond[:, csl]
            else:
                c = over if r == "over_limit" else cond[:, csl]
                E[:, esl] = np.stack([c[:, cols].any(axis=1) for cols in self._hand_cols], 1)
        # The hands are moving to the new region: its duration rules (static pressure,
        # percussion, warm-up, holds) start after region_settle_s. Pressure never waits.
        settling = t < self._settle_until
        if settling.any():
            E[np.ix_(settling, self._settling)] = False
        ep_before = self.latch.episode.copy()
        events = self.latch.process(E)
        if not events:
            return []
        # The number of each hand's press (over-limit episode) at each prompt's sample.
        k_ol = self._ecol["over_limit"].start
        prompts = []
        for i, ek, ep, rep in events:
            rule, j = self.ekeys[ek]
            hand = int(self.hand_of[j]) if rule in _EPISODE_PER_SENSOR else j
            press = int(ep_before[k_ol + hand])
            for si, sk, sep in self.latch.starts:
                if si > i:
                    break
                if sk == k_ol + hand:
                    press = sep
            prompts.append((i, ek, ep, rep, press, cond[i], value[i]))
        return self.tell(prompts, t, flt, rg)
