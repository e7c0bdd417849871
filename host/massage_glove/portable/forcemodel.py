# Seeded, scripted force model of a trainee's hands and the ADC counts it gives (MicroPython, CPython).
"""Seeded, scriptable model of the forces under each glove sensor, and what the ADC reads.

The simulated glove's fake ``machine`` module asks this model for ADC counts; the host asks
it for the true forces behind them (``massage_glove.sim.scripts.ground_truth``). Both run
the same file, so a test can compare what the instrument measured with what was applied.

API
---
    m = ForceModel(script, channels, full)
        script:   dict in the format below (JSON-able).
        channels: list of (mux, name, hand, site, cls, r_div_ohm, r_bleed_ohm) tuples,
                  e.g. config.channels() joined with config.SENSOR_CLASSES.
        full:     ADC full scale in counts (4095 for 12 bits).
    m.fill_counts(t_us, out)   write the ADC reading (int 0..full) of every mux input into
                               `out` (array('H') of MUX_INPUTS = 16 entries; inputs with no
                               channel read 0). t_us: int, microseconds since glove boot.
                               Allocation-free on the unix port (see "Arithmetic").
    m.truth(t_s)               list of the true applied forces (N), channel order.
    m.truth_us(t_us)           the same at an integer time in microseconds.
    m.segment_at(t_s)          the script segment dict active at t_s, None after the end.
    m.duration_s               total script length (s).
    m.names                    channel names, channel order.

Script format
-------------
{
  "seed": 0,                      int; every random choice derives from it (stateless hash)
  "segments": [                   played back to back from t = 0 (glove boot)
    {"duration_s": 30.0,
     "region": "paraspinals",     label only (see scripts.REGIONS; "off" when off the body)
     "technique": "effleurage",   effleurage | kneading | thumb_circles | tapotement |
                                  hold | rest | off
     "force_n": {"fsr402": 6.0, "fsr406": 18.0},
                                  peak force (N) of the most loaded sensor of each class
                                  for this technique (SITE_WEIGHTS spreads it over the
                                  sites); hold/rest: the steady level. Optional for off;
                                  rest defaults to REST_FORCE_N.
     "rate_per_min": 45.0,        strokes per minute per hand (tapotement: strikes/s * 60);
                                  default DEFAULT_RATE_PER_MIN[technique]
     "hands": ["right", "left"],  hands that work; a hand not listed is off the body
     "stage": "warm_up",          optional label, passed through
     optional:
     "force_by_channel": {"R_thumb": 5.0},  exact peak/steady force per channel name; replaces
                                  force_n x SITE_WEIGHTS, unlisted channels carry 0 N
     "peak_spread": 0.10,         stroke-to-stroke spread of peaks: uniform +/- this fraction
                                  (half as much between the two hands and between sites)
     "timing_spread": 0.06,       stroke starts move uniformly by up to +/- this fraction of
                                  the stroke interval (max 0.45)
     "ramp_s": 0.8,               cross-fade from the previous segment (and the hold ramps);
                                  a tapotement segment starts with a step, by design
     "tremor_scale": 1.0          multiplies the script's tremor (fatigue: > 1)
    }, ...],
  "tremor": {"amp_n": 0.15, "hz": 9.0},    physiological tremor, part of the TRUE force
  "noise_counts": 2.0,                     rms ADC noise (counts), sensor artefact
  "creep": {"fraction": 0.04, "tau_s": 8.0},  FSR creep, sensor artefact
  "faults": [{"channel": "R_index", "kind": "open", "start_s": 10.0, "end_s": 20.0,
              "noise_counts": 400.0}]      kind: saturated (reads flat at the top of the
                                           sensor's range, f_max_n), short (full scale),
                                           open (reads 0), noisy (adds noise of
                                           noise_counts rms, default FAULT_NOISE_COUNTS)
}
All keys but "segments" are optional (defaults: DEFAULTS); other keys (labels such as
"band" or "trainee") are ignored and kept in the dicts segment_at returns. Time after the last segment is
"off" (0 N): end a script with an "off" segment, or let the last segment fade out (it does,
over its ramp_s, unless it is "off" or tapotement).

Physics
-------
Per hand and technique an envelope e(t) in [0, 1] times a peak per channel:
  effleurage     palm heel and fingers gliding: raised-cosine strokes over the whole stroke
                 interval on a baseline of EFFLEURAGE_BASE (hands nearly in step)
  kneading       thumb and fingers squeeze for KNEAD_SQUEEZE of the interval (raised
                 cosine), release to KNEAD_BASE; hands alternate
  thumb_circles  thumb dominant, pressure modulated between THUMB_BASE and 1; hands alternate
  tapotement     raised-cosine impacts of TAP_MS (30-60 ms) on knuckles / little-finger edge
                 at the strike rate, 0 N between; hands alternate
  hold           steady palm-heel force with raised-cosine ramps in and out
  rest           hands resting lightly (steady, small)
  off            0 N
Stroke k of a hand starts at k*T + J_k (T = 60/rate, J_k from the seed), so the number of
strokes is rate * duration and intervals vary. Each stroke has its own peak (peak_spread)
and a small per-site spread, applied to the part above the baseline so strokes join without
a step; each hand has a constant gain. A new segment cross-fades from the previous one over
its ramp_s (raised cosine), except tapotement, which starts at once. Tremor (a sine at
about tremor.hz, slightly different per hand) adds up to tremor.amp_n N to every loaded
sensor (scaled down on sensors below 1 N) and is part of the true force.

Sensor artefacts (not in truth): creep raises the sensed force by up to creep.fraction
(first order, tau_s) while a sensor is loaded and relaxes when unloaded; the target level
per segment is fraction x the technique's duty (CREEP_DUTY). Sensed force -> counts with
fsr.counts_from_force (tabulated per channel every 1/64 N with linear interpolation: error
below 0.15 count, largest just above f_min), plus ADC noise (sum of 3 uniforms, noise_counts
rms, independent per channel and sample time), rounded and clipped to 0..full. Faults
override the counts last.

Arithmetic
----------
fill_counts uses integers only (forces in Q16 newtons, fractions in Q15, tables of cosine
and exp), so CPython and MicroPython give the same counts (the tables are built with each
interpreter's libm, so a count may differ by 1 in rare cases) and the unix port allocates
nothing (floats are heap objects in MicroPython): it may be called under
micropython.heap_lock(). Hashes are masked to 30 bits; products stay below 2**62, the small
int range of the unix port (on a 31-bit port results are the same but may allocate).
"""
import math
from array import array

try:
    from massage_glove.portable.fsr import NOMINAL, counts_from_force
except ImportError:     # MicroPython: portable/ itself is on the module path
    from fsr import NOMINAL, counts_from_force

MUX_INPUTS = 16

TECHNIQUES = ("effleurage", "kneading", "thumb_circles", "tapotement", "hold", "rest", "off")
FAULT_KINDS = ("saturated", "short", "open", "noisy")

# Strokes (or strikes) per minute per hand when a segment gives no rate (DOMAIN.md sec. 2;
# effleurage 40-50/min, kneading 60-110/min, tapotement 4-10 strikes/s).
DEFAULT_RATE_PER_MIN = {"effleurage": 45.0, "kneading": 80.0, "thumb_circles": 60.0,
                        "tapotement": 6.0 * 60.0}

# Share of the class peak force each site carries, per technique. The most loaded site of
# each class has 1.0, so force_n is the peak of that sensor. "_other": a site not listed.
SITE_WEIGHTS = {
    "effleurage": {"thumb": 0.35, "index": 0.9, "middle": 1.0, "ring": 0.9, "little": 0.6,
                   "knuckle_index": 0.0, "knuckle_middle": 0.0, "palm_heel": 1.0,
                   "_other": 0.3},
    "kneading": {"thumb": 1.0, "index": 0.85, "middle": 0.9, "ring": 0.7, "little": 0.45,
                 "knuckle_index": 0.0, "knuckle_middle": 0.0, "palm_heel": 0.5,
                 "_other": 0.3},
    "thumb_circles": {"thumb": 1.0, "index": 0.2, "middle": 0.15, "ring": 0.1, "little": 0.05,
                      "knuckle_index": 0.0, "knuckle_middle": 0.0, "palm_heel": 0.2,
                      "_other": 0.1},
    "tapotement": {"thumb": 0.0, "index": 0.1, "middle": 0.1, "ring": 0.45, "little": 0.8,
                   "knuckle_index": 1.0, "knuckle_middle": 1.0, "palm_heel": 0.35,
                   "_other": 0.3},
    "hold": {"thumb": 0.25, "index": 0.3, "middle": 0.3, "ring": 0.25, "little": 0.15,
             "knuckle_index": 0.0, "knuckle_middle": 0.0, "palm_heel": 1.0, "_other": 0.2},
    "rest": {"thumb": 0.5, "index": 1.0, "middle": 1.0, "ring": 1.0, "little": 0.8,
             "knuckle_index": 0.0, "knuckle_middle": 0.0, "palm_heel": 1.0, "_other": 0.5},
    "off": {"_other": 0.0},
}
REST_FORCE_N = {"fsr402": 0.4, "fsr406": 2.0}

# Envelope shapes (fractions of the peak or of the stroke interval).
EFFLEURAGE_BASE = 0.15      # palm and fingers stay in light contact between strokes
KNEAD_BASE = 0.10
KNEAD_SQUEEZE = 0.60        # squeeze lasts this share of the stroke interval
THUMB_BASE = 0.40           # thumb circles never leave the skin
TAP_MS = (30.0, 60.0)       # impact duration range of one tapotement strike
TAP_MAX_SHARE = 0.8         # an impact never fills more than this share of its interval
HOLD_RAMP_S = 1.5           # hold ramp in / out (at most a quarter of the hold)
# Second hand's stroke offset, as a share of the interval.
HAND_OFFSET = {"effleurage": 0.05, "kneading": 0.5, "thumb_circles": 0.5, "tapotement": 0.5}
# Share of the time a loaded sensor is pressed, per technique: scales the creep target.
CREEP_DUTY = {"effleurage": 0.8, "kneading": 0.6, "thumb_circles": 0.9, "tapotement": 0.1,
              "hold": 1.0, "rest": 1.0, "off": 0.0}
TREMOR_HZ_SPREAD = 0.03     # each hand's tremor frequency: hz * (1 +/- up to this)
FAULT_NOISE_COUNTS = 400.0

DEFAULTS = {"seed": 0, "tremor": {"amp_n": 0.15, "hz": 9.0}, "noise_counts": 2.0,
            "creep": {"fraction": 0.04, "tau_s": 8.0}, "faults": [],
            "peak_spread": 0.10, "timing_spread": 0.06, "ramp_s": 0.8, "tremor_scale": 1.0}

# --- fixed point ---------------------------------------------------------------------------
_M30 = 0x3FFFFFFF
_ONE = 32768                # Q15 one
_FQ = 65536                 # Q16: force unit is 1/65536 N
_TAB_SHIFT = 10             # counts table step: 1 << 10 force units = 1/64 N
_TAB_STEP = 1 << _TAB_SHIFT
_CQ = 16                    # counts tables hold counts * 16
_N = 4096                   # entries per period of the cosine tables
_EXP_PER_TAU = 256          # exp table entries per time constant (16 tau long)

_T_OFF = 0
_T_REST = 1
_T_HOLD = 2
_T_EFF = 3
_T_KNEAD = 4
_T_THUMB = 5
_T_TAP = 6
_CODE = {"off": _T_OFF, "rest": _T_REST, "hold": _T_HOLD, "effleurage": _T_EFF,
         "kneading": _T_KNEAD, "thumb_circles": _T_THUMB, "tapotement": _T_TAP}
_F_FULL = 0
_F_OPEN = 1
_F_NOISY = 2
_F_SAT = 3


def _rint(x):
    """Round half up to int, the same in both interpreters."""
    return int(math.floor(x + 0.5))


def _mix(x):
    """Stateless 30-bit integer hash (a bijection of 0..2**30-1; products < 2**60)."""
    x = (x ^ (x >> 15)) & _M30
    x = (x * 0x2C1B3C6D) & _M30
    x ^= x >> 13
    x = (x * 0x297A2D39) & _M30
    x ^= x >> 16
    return x


def _key(seed, a, b):
    """30-bit key from the seed and two small ints (segment, hand, channel ...)."""
    return _mix(_mix(_mix(seed & _M30) ^ (a & _M30)) ^ ((b * 0x9E3779B) & _M30))


def _uniform(key):
    """Float in [-1, 1) from a 30-bit key (construction time only)."""
    return (_mix(key) & 0xFFFFF) / 524288.0 - 1.0


def _build_tables():
    rc = array("i", [0] * (_N + 1))      # raised cosine (1 - cos(2 pi i/N)) / 2, Q15
    sn = array("i", [0] * _N)            # sin(2 pi i/N), Q15
    for i in range(_N + 1):
        rc[i] = _rint((1.0 - math.cos(2.0 * math.pi * i / _N)) * 0.5 * _ONE)
    for i in range(_N):
        sn[i] = _rint(math.sin(2.0 * math.pi * i / _N) * _ONE)
    ex = array("i", [0] * (16 * _EXP_PER_TAU + 1))   # exp(-i/256), Q15
    for i in range(len(ex)):
        ex[i] = _rint(math.exp(-i / float(_EXP_PER_TAU)) * _ONE)
    return rc, sn, ex


_RC, _SIN, _EXP = _build_tables()
_EFF_Q = _rint(EFFLEURAGE_BASE * _ONE)
_KNEAD_Q = _rint(KNEAD_BASE * _ONE)
_KNEAD_SQ_Q = _rint(KNEAD_SQUEEZE * _ONE)
_THUMB_Q = _rint(THUMB_BASE * _ONE)
_TAP_MAX_Q = _rint(TAP_MAX_SHARE * _ONE)
_EXP_LEN = 16 * _EXP_PER_TAU
_COUNT_TABLES = {}          # (cls, r_div, r_bleed, full) -> (f_min_q, q_unloaded, table)


def _count_table(cls, r_div, r_bleed, full):
    """Counts*16 at f_min + k/64 N, k = 0.. up to f_max (fsr.counts_from_force)."""
    key = (cls, r_div, r_bleed, full)
    got = _COUNT_TABLES.get(key)
    if got is None:
        p = NOMINAL[cls]
        fmin, fmax = p["f_min_n"], p["f_max_n"]
        # f_min in Q16, rounded up so that every tabulated force is >= f_min.
        fmin_q = int(math.ceil(fmin * _FQ))
        n = int(math.ceil((fmax * _FQ - fmin_q) / _TAB_STEP)) + 1
        tab = array("i", [0] * (n + 1))
        for k in range(n + 1):
            f = (fmin_q + k * _TAB_STEP) / float(_FQ)
            tab[k] = _rint(counts_from_force(f, cls, r_div, r_bleed, full) * _CQ)
        q0 = _rint(counts_from_force(0.0, cls, r_div, r_bleed, full) * _CQ)
        got = (fmin_q, q0, tab)
        _COUNT_TABLES[key] = got
    return got


class ForceModel:
    """Forces (truth) and ADC counts of a glove for a script; see the module docstring."""

    def __init__(self, script, channels, full):
        self.script = script
        self.full = int(full)
        segs = script.get("segments")
        if not segs:
            raise ValueError("script has no segments")
        self.segments = segs
        seed = int(script.get("seed", DEFAULTS["seed"]))
        self.seed = seed

        # --- channels ---
        nch = len(channels)
        self.n_channels = nch
        self.names = []
        hands = []
        self._mux = array("i", [0] * nch)
        self._hand = array("i", [0] * nch)
        self._sh = array("i", [0] * nch)        # bit position of the site in a stroke hash
        self._fmin = array("i", [0] * nch)
        self._q0 = array("i", [0] * nch)
        self._tlast = array("i", [0] * nch)
        self._tabs = []
        self._ckey = array("i", [0] * nch)
        self._F = array("i", [0] * nch)        # Q16 true force per channel, last evaluation
        sites = []
        usites = []             # distinct sites, in channel order (0..7 on the reference glove)
        classes = []
        used = [False] * MUX_INPUTS
        for i in range(nch):
            ch = channels[i]
            if len(ch) < 7:
                raise ValueError("channel %r: need (mux, name, hand, site, cls, r_div_ohm, "
                                 "r_bleed_ohm)" % (ch,))
            mux, name, hand, site, cls = int(ch[0]), ch[1], ch[2], ch[3], ch[4]
            if not 0 <= mux < MUX_INPUTS:
                raise ValueError("channel %s: mux input %d outside 0..%d"
                                 % (name, mux, MUX_INPUTS - 1))
            if cls not in NOMINAL:
                raise ValueError("channel %s: unknown sensor class %r" % (name, cls))
            if hand not in hands:
                hands.append(hand)
            used[mux] = True
            self.names.append(name)
            sites.append(site)
            classes.append(cls)
            self._mux[i] = mux
            self._hand[i] = hands.index(hand)
            if site not in usites:
                usites.append(site)
            self._sh[i] = 3 * (usites.index(site) % 8)
            fmin_q, q0, tab = _count_table(cls, float(ch[5]), float(ch[6]), self.full)
            self._fmin[i] = fmin_q
            self._q0[i] = q0
            self._tabs.append(tab)
            self._tlast[i] = len(tab) - 1
            self._ckey[i] = _key(seed, 1000 + i, 7)
        self.hands = hands
        nh = len(hands)
        self._nh = nh
        self._unused = [m for m in range(MUX_INPUTS) if not used[m]]
        self._skey = _key(seed, 1, 1)

        # --- script-wide parameters ---
        trem = script.get("tremor", DEFAULTS["tremor"])
        t_amp = float(trem.get("amp_n", DEFAULTS["tremor"]["amp_n"]))
        t_hz = float(trem.get("hz", DEFAULTS["tremor"]["hz"]))
        self._tamp = array("i", [0] * nh)       # Q16 N
        self._tinc = array("i", [0] * nh)       # table steps per us, * 2**20
        self._tph = array("i", [0] * nh)
        for h in range(nh):
            hz = t_hz * (1.0 + TREMOR_HZ_SPREAD * _uniform(_key(seed, 2, h)))
            self._tamp[h] = _rint(t_amp * _FQ)
            self._tinc[h] = _rint(hz * _N * 1048576.0 / 1e6)
            self._tph[h] = _mix(_key(seed, 3, h)) % _N
        self._nq = _rint(float(script.get("noise_counts", DEFAULTS["noise_counts"])) * _CQ)
        creep = script.get("creep", DEFAULTS["creep"])
        c_frac = float(creep.get("fraction", DEFAULTS["creep"]["fraction"]))
        c_tau = float(creep.get("tau_s", DEFAULTS["creep"]["tau_s"]))
        if c_tau <= 0.0:
            raise ValueError("creep tau_s must be > 0")
        self._ekc = _rint(_EXP_PER_TAU * 16777216.0 / (c_tau * 1e6))

        # --- segments ---
        nseg = len(segs)
        self._nseg = nseg
        self._start = [0] * (nseg + 1)
        self._code = array("i", [0] * nseg)
        self._per = [1] * nseg                  # stroke interval (us)
        self._jit = [0] * nseg                  # max stroke start offset (us)
        self._gsp = array("i", [0] * nseg)      # stroke peak spread, Q15
        self._svs = array("i", [0] * nseg)      # site spread step, Q15 / 7
        self._xf = [0] * nseg                   # cross-fade length (us), 0 = step
        self._hramp = [1] * nseg                # hold ramp (us)
        self._tsc = array("i", [0] * nseg)      # tremor scale, Q15
        self._tap = [0] * (2 * nseg)            # tapotement impact min, max (us)
        self._on = [False] * (nseg * nh)
        self._hoff = [0] * (nseg * nh)
        self._hkey = [0] * (nseg * nh)
        self._peak = [0] * (nseg * nch)         # Q16 N, includes the hand gain
        self._c0 = array("i", [0] * (nseg * nch))   # creep at segment start, Q15
        self._ct = array("i", [0] * (nseg * nch))   # creep target, Q15
        t = 0
        for j in range(nseg):
            s = segs[j]
            tech = s.get("technique")
            if tech not in _CODE:
                raise ValueError("segment %d: technique %r is not one of %s"
                                 % (j, tech, ", ".join(TECHNIQUES)))
            code = _CODE[tech]
            dur = float(s.get("duration_s", 0.0))
            if not dur > 0.0:
                raise ValueError("segment %d: duration_s must be > 0" % j)
            dur_us = _rint(dur * 1e6)
            self._start[j] = t
            t += dur_us
            self._code[j] = code
            if code in (_T_EFF, _T_KNEAD, _T_THUMB, _T_TAP):
                rate = float(s.get("rate_per_min", DEFAULT_RATE_PER_MIN[tech]))
                if not rate > 0.0:
                    raise ValueError("segment %d: rate_per_min must be > 0" % j)
                per = _rint(60e6 / rate)
                self._per[j] = per
                ts = float(s.get("timing_spread", DEFAULTS["timing_spread"]))
                ts = 0.0 if ts < 0.0 else (0.45 if ts > 0.45 else ts)
                self._jit[j] = _rint(ts * per)
            spread = float(s.get("peak_spread", DEFAULTS["peak_spread"]))
            spread = 0.0 if spread < 0.0 else (0.9 if spread > 0.9 else spread)
            self._gsp[j] = _rint(spread * _ONE)
            self._svs[j] = _rint(0.5 * spread * _ONE / 7.0)
            ramp = float(s.get("ramp_s", DEFAULTS["ramp_s"]))
            ramp_us = _rint(ramp * 1e6)
            if ramp_us > dur_us // 2:
                ramp_us = dur_us // 2
            self._xf[j] = 0 if code == _T_TAP else ramp_us
            hr = _rint(float(s.get("ramp_s", HOLD_RAMP_S)) * 1e6)
            hr = dur_us // 4 if hr > dur_us // 4 else hr
            self._hramp[j] = hr if hr > 0 else 1
            self._tsc[j] = _rint(float(s.get("tremor_scale", DEFAULTS["tremor_scale"])) * _ONE)
            self._tap[2 * j] = _rint(TAP_MS[0] * 1000.0)
            self._tap[2 * j + 1] = _rint(TAP_MS[1] * 1000.0)
            working = s.get("hands", hands)
            for w in working:
                if w not in hands:
                    raise ValueError("segment %d: hand %r is not on this glove (%s)"
                                     % (j, w, ", ".join(hands)))
            for h in range(nh):
                jh = j * nh + h
                self._on[jh] = code != _T_OFF and hands[h] in working
                self._hkey[jh] = _key(seed, 100 + j, h)
                if h > 0 and tech in HAND_OFFSET:
                    self._hoff[jh] = _rint(HAND_OFFSET[tech] * self._per[j]) * h
            self._seg_peaks(j, s, tech, sites, classes, spread, seed)
        self._start[nseg] = t
        self.duration_s = t / 1e6
        last = self._code[nseg - 1]
        self._fo = 0 if last in (_T_OFF, _T_TAP) else self._xf[nseg - 1]

        # Creep: target per segment and channel, level at each segment start (integer
        # chain with the same exp table fill_counts uses, so it is continuous).
        c = [0] * nch
        for j in range(nseg):
            duty = CREEP_DUTY[segs[j]["technique"]]
            dur = self._start[j + 1] - self._start[j]
            e = self._exp_q15(dur)
            for i in range(nch):
                b = j * nch + i
                loaded = self._peak[b] >= self._fmin[i] and self._on[j * nh + self._hand[i]]
                tgt = _rint(c_frac * duty * _ONE) if loaded else 0
                self._ct[b] = tgt
                self._c0[b] = c[i]
                c[i] = tgt + (((c[i] - tgt) * e) >> 15)

        # --- faults ---
        self._faults = []
        for flt in script.get("faults", DEFAULTS["faults"]):
            name = flt.get("channel")
            if name not in self.names:
                raise ValueError("fault on unknown channel %r" % (name,))
            kind = flt.get("kind")
            if kind not in FAULT_KINDS:
                raise ValueError("fault kind %r is not one of %s" % (kind, ", ".join(FAULT_KINDS)))
            k = {"open": _F_OPEN, "noisy": _F_NOISY, "saturated": _F_SAT}.get(kind, _F_FULL)
            i = self.names.index(name)
            if k == _F_SAT:
                # pressed past its range: the reading sits just above the f_max_n level
                ch = channels[i]
                level = int(counts_from_force(NOMINAL[ch[4]]["f_max_n"], ch[4], float(ch[5]),
                                              float(ch[6]), self.full)) + 2
                arg = level if level < self.full else self.full
            else:
                arg = _rint(float(flt.get("noise_counts", FAULT_NOISE_COUNTS)) * _CQ)
            self._faults.append((self._mux[i], k, _rint(float(flt.get("start_s", 0.0)) * 1e6),
                                 _rint(float(flt.get("end_s", 1e12)) * 1e6), arg,
                                 _key(seed, 5000 + i, len(self._faults))))

        # --- per-call scratch (preallocated: fill_counts allocates nothing) ---
        self._j = 0
        self._amp = [0] * (2 * nh)      # Q15 stroke envelope x gain; [0:nh] current, [nh:] previous
        self._base = [0] * (2 * nh)     # Q15 steady part of the envelope (stroke baseline)
        self._hs = [0] * (2 * nh)       # stroke hash (site spread, impact length)
        self._trem = [0] * nh           # Q16 tremor force per hand
        self._cj = [-1] * (2 * nh)      # stroke cache: segment, start, end, gain, hash
        self._cs0 = [0] * (2 * nh)
        self._cs1 = [0] * (2 * nh)
        self._cg = [0] * (2 * nh)
        self._chs = [0] * (2 * nh)

    def _seg_peaks(self, j, s, tech, sites, classes, spread, seed):
        nch, nh = self.n_channels, self._nh
        gains = [1.0 + 0.5 * spread * _uniform(_key(seed, 200 + j, h)) for h in range(nh)]
        byc = s.get("force_by_channel")
        if byc is not None:
            for name in byc:
                if name not in self.names:
                    raise ValueError("segment %d: force_by_channel names unknown channel %r"
                                     % (j, name))
        fn = s.get("force_n")
        if fn is None:
            if byc is None and tech not in ("off", "rest"):
                raise ValueError("segment %d (%s): force_n is required" % (j, tech))
            fn = REST_FORCE_N if tech == "rest" else {}
        for cls in fn:
            if cls not in NOMINAL:
                raise ValueError("segment %d: force_n names unknown sensor class %r" % (j, cls))
        weights = SITE_WEIGHTS[tech]
        for i in range(nch):
            if tech == "off":
                f = 0.0
            elif byc is not None:
                f = float(byc.get(self.names[i], 0.0))
            else:
                w = weights.get(sites[i], weights["_other"])
                f = float(fn.get(classes[i], 0.0)) * w
            if f < 0.0:
                raise ValueError("segment %d: negative force" % j)
            self._peak[j * nch + i] = _rint(f * gains[self._hand[i]] * _FQ)

    def _exp_q15(self, dt_us):
        idx = (dt_us * self._ekc) >> 24
        return _EXP[idx] if idx < _EXP_LEN else 0

    # --- evaluation ----------------------------------------------------------------------

    def _locate(self, t):
        """Index of the segment at t_us; -1 before 0, n_segments after the end."""
        S = self._start
        j = self._j
        if S[j] <= t < S[j + 1]:
            return j
        n = self._nseg
        if t >= S[n]:
            return n
        if t < 0:
            return -1
        if t < S[j + 2 if j + 2 <= n else n] and t >= S[j + 1]:
            j += 1
        else:
            lo, hi = 0, n
            while hi - lo > 1:
                mid = (lo + hi) >> 1
                if S[mid] <= t:
                    lo = mid
                else:
                    hi = mid
            j = lo
        self._j = j
        return j

    def _hand_env(self, p, j, h, t):
        """Envelope of hand h in segment j at t into slot p (Q15): a steady part (_base)
        and a stroke part (_amp, times the stroke's gain; the site spread applies to it).
        Strokes start and end on the steady part, so a new stroke's gain makes no step."""
        jh = j * self._nh + h
        self._base[p] = 0
        if not self._on[jh]:
            self._amp[p] = 0
            return
        code = self._code[j]
        if code == _T_REST:
            self._amp[p] = _ONE
            self._hs[p] = self._hkey[jh]
            return
        if code == _T_HOLD:
            tau = t - self._start[j]
            left = self._start[j + 1] - t
            r = self._hramp[j]
            if tau < r:
                e = _RC[(tau << 11) // r] if tau > 0 else 0
            elif left < r:
                e = _RC[(left << 11) // r] if left > 0 else 0
            else:
                e = _ONE
            self._amp[p] = e
            self._hs[p] = self._hkey[jh]
            return
        # Stroke techniques: find the stroke k with start s0 <= tau < s1 (next start).
        tau = t - self._start[j] - self._hoff[jh]
        if self._cj[p] == j and self._cs0[p] <= tau < self._cs1[p]:
            s0 = self._cs0[p]
            s1 = self._cs1[p]
            gain = self._cg[p]
            hs = self._chs[p]
        else:
            T = self._per[j]
            jit = self._jit[j]
            key = self._hkey[jh]
            k = tau // T
            hk = _mix(key ^ (k & _M30))
            s0 = k * T + ((((hk & 0xFFFF) - 32768) * jit) >> 15)
            if tau < s0:
                s1 = s0
                k -= 1
                hk = _mix(key ^ (k & _M30))
                s0 = k * T + ((((hk & 0xFFFF) - 32768) * jit) >> 15)
            else:
                hk1 = _mix(key ^ ((k + 1) & _M30))
                s1 = (k + 1) * T + ((((hk1 & 0xFFFF) - 32768) * jit) >> 15)
                if tau >= s1:
                    k += 1
                    hk = hk1
                    s0 = s1
                    hk1 = _mix(key ^ ((k + 1) & _M30))
                    s1 = (k + 1) * T + ((((hk1 & 0xFFFF) - 32768) * jit) >> 15)
            gain = _ONE + ((((hk >> 16) - 8192) * self._gsp[j]) >> 13)
            hs = _mix(hk ^ 0x15A4E35)
            self._cj[p] = j
            self._cs0[p] = s0
            self._cs1[p] = s1
            self._cg[p] = gain
            self._chs[p] = hs
        L = s1 - s0
        ph = tau - s0
        if code == _T_EFF:
            self._base[p] = _EFF_Q
            e = (_RC[(ph << 12) // L] * (_ONE - _EFF_Q)) >> 15
        elif code == _T_KNEAD:
            self._base[p] = _KNEAD_Q
            sq = (L * _KNEAD_SQ_Q) >> 15
            e = ((_RC[(ph << 12) // sq] * (_ONE - _KNEAD_Q)) >> 15) if ph < sq else 0
        elif code == _T_THUMB:
            self._base[p] = _THUMB_Q
            e = (_RC[(ph << 12) // L] * (_ONE - _THUMB_Q)) >> 15
        else:   # tapotement
            lo = self._tap[2 * j]
            d = lo + ((((hs >> 24) & 63) * (self._tap[2 * j + 1] - lo)) >> 6)
            dmax = (L * _TAP_MAX_Q) >> 15
            if d > dmax:
                d = dmax
            e = _RC[(ph << 12) // d] if ph < d else 0
        self._amp[p] = (e * gain) >> 15
        self._hs[p] = hs

    def _forces(self, t):
        """True forces (Q16 N) at t_us into self._F; returns the segment index (or -1/n)."""
        F = self._F
        nch = self.n_channels
        j = self._locate(t)
        if j < 0 or j >= self._nseg:
            for i in range(nch):
                F[i] = 0
            return j
        nh = self._nh
        amp = self._amp
        for h in range(nh):
            self._hand_env(h, j, h, t)
        S = self._start
        tau = t - S[j]
        X = self._xf[j]
        prev = False
        xw = _ONE
        if tau < X:
            xw = _RC[(tau << 11) // X]
            if j > 0 and self._code[j - 1] != _T_OFF:
                prev = True
                for h in range(nh):
                    self._hand_env(nh + h, j - 1, h, t)
        ow = _ONE
        if j == self._nseg - 1:
            left = S[j + 1] - t
            if left < self._fo:
                ow = _RC[(left << 11) // self._fo]
        base = self._base
        if prev or xw != _ONE or ow != _ONE:
            for h in range(nh):
                amp[h] = (((amp[h] * xw) >> 15) * ow) >> 15
                base[h] = (((base[h] * xw) >> 15) * ow) >> 15
                if prev:
                    amp[nh + h] = (((amp[nh + h] * (_ONE - xw)) >> 15) * ow) >> 15
                    base[nh + h] = (((base[nh + h] * (_ONE - xw)) >> 15) * ow) >> 15
        tsc = self._tsc[j]
        trem = self._trem
        for h in range(nh):
            idx = (((t * self._tinc[h]) >> 20) + self._tph[h]) & (_N - 1)
            trem[h] = (((self._tamp[h] * _SIN[idx]) >> 15) * tsc) >> 15
        P = self._peak
        b = j * nch
        bp = b - nch
        sv = self._svs[j]
        svp = self._svs[j - 1] if prev else 0
        hs = self._hs
        hand = self._hand
        sh = self._sh
        for i in range(nch):
            h = hand[i]
            a = amp[h]
            if sv and a:
                a = (a * (_ONE + ((((hs[h] >> sh[i]) & 7) * 2 - 7) * sv))) >> 15
            f = (P[b + i] * (base[h] + a)) >> 15
            if prev:
                a = amp[nh + h]
                if svp and a:
                    a = (a * (_ONE + ((((hs[nh + h] >> sh[i]) & 7) * 2 - 7) * svp))) >> 15
                f += (P[bp + i] * (base[nh + h] + a)) >> 15
            if f > 0:
                tr = trem[h]
                if tr:
                    f += (tr * (f if f < _FQ else _FQ)) >> 16
                    if f < 0:
                        f = 0
            else:
                f = 0
            F[i] = f
        return j

    def fill_counts(self, t_us, out):
        """Write the ADC counts of every mux input at t_us (int, us since boot) into out."""
        j = self._forces(t_us)
        F = self._F
        nch = self.n_channels
        e = 0
        cb = 0
        if 0 <= j < self._nseg:
            e = self._exp_q15(t_us - self._start[j])
            cb = j * nch
        C0 = self._c0
        CT = self._ct
        fmin = self._fmin
        q0 = self._q0
        tabs = self._tabs
        tlast = self._tlast
        mux = self._mux
        ckey = self._ckey
        nq = self._nq
        full = self.full
        tk = _mix(((t_us ^ (t_us >> 30)) & _M30) ^ self._skey)
        for i in range(nch):
            f = F[i]
            if f > 0:
                c = CT[cb + i]
                c += ((C0[cb + i] - c) * e) >> 15
                if c:
                    f += (f * c) >> 15
            if f < fmin[i]:
                q = q0[i]
            else:
                x = f - fmin[i]
                k = x >> _TAB_SHIFT
                tab = tabs[i]
                if k >= tlast[i]:
                    q = tab[tlast[i]]
                else:
                    q = tab[k]
                    q += ((tab[k + 1] - q) * (x & (_TAB_STEP - 1))) >> _TAB_SHIFT
            if nq:
                x = _mix(tk ^ ckey[i])
                q += ((((x & 1023) + ((x >> 10) & 1023) + (x >> 20)) * 2 - 3069) * nq) >> 10
            c = (q + (_CQ >> 1)) >> 4
            if c < 0:
                c = 0
            elif c > full:
                c = full
            out[mux[i]] = c
        for m in self._unused:
            out[m] = 0
        for flt in self._faults:
            m, kind, s, en, rms, key = flt
            if s <= t_us < en:
                if kind == _F_FULL:
                    out[m] = full
                elif kind == _F_SAT:
                    out[m] = rms
                elif kind == _F_OPEN:
                    out[m] = 0
                else:
                    x = _mix(tk ^ key)
                    c = (out[m] * _CQ + ((((x & 1023) + ((x >> 10) & 1023) + (x >> 20)) * 2
                                           - 3069) * rms >> 10) + (_CQ >> 1)) >> 4
                    out[m] = 0 if c < 0 else (full if c > full else c)

    # --- host-side helpers (allocate; not for the sampling path) ------------------------

    def truth_us(self, t_us):
        """True applied forces (N) per channel at t_us (int): no creep, noise or faults."""
        self._forces(int(t_us))
        return [f / float(_FQ) for f in self._F]

    def truth(self, t_s):
        """True applied forces (N) per channel at t_s seconds since boot."""
        return self.truth_us(_rint(t_s * 1e6))

    def segment_at(self, t_s):
        """The script segment active at t_s (dict), or None before 0 / after the end."""
        j = self._locate(_rint(t_s * 1e6))
        if 0 <= j < self._nseg:
            return self.segments[j]
        return None

