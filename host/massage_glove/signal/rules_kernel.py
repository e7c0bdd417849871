"""The rule engine as one per-sample kernel: the same alerts as RuleEngine, a sample at a time.

`rule_block` does, sample by sample, every condition RuleEngine (rules.py) evaluates a
chunk at a time, with the same floating-point operations, and the `Latch` that turns them
into prompts:

    too much, over the limit   the band, or the fast path: the unsmoothed force at or over
                               the edge on each of the last fast_alert_samples samples (a
                               ring of the last ones, so a region change re-reads them
                               against the new limits at once)
    over the limit, hand       the hand's sensors over the limit
    steady force               sliding max/min over the last steady_window_s (a monotonic
                               deque per channel: O(1) amortised, not a window recomputed),
                               run lengths of static contact and of holds
    impacts, percussion        rise within impact_rise_ms from below contact (a ring of the
                               last samples), refractory, strikes in the last window
    warm-up                    the clock of light/medium contact, with its contact gap
    region settle              duration rules off until region_settle_s after a change
    Latch                      persist / clear / hold-off / misses per episode key

It writes each prompt (sample, episode key, episode number, repeat, the hand's press
episode) with its sample's condition and value rows; `RuleSet.tell` (rules.py) makes the
alerts from them, the same code RuleEngine uses, so the alert texts are the same. Prompts
are rare: the Python side runs only when one fires.

The kernel is written once in the subset of Python numba compiles (jit.py): scalar
arithmetic, `math`, loops and indexing of flat vectors. Its parameters, state and outputs
are two flat vectors (`I` int64, `F` float64, layout below), and the chunk's inputs are
passed flat, so a call has nine arguments of fixed types: numba makes one specialisation.
Uncompiled, the same source runs on Python lists (the state converted once).

`RuleKernel` owns the vectors and compiles the kernel (or loads it from numba's disk
cache) when it is built, never on the first live sample.
"""
from __future__ import annotations

import math
import time
from typing import Sequence

import numpy as np

from . import jit
from .calibration import FAULT_BROKEN, FAULT_SATURATED
from .profiles import ProfileSet, Settings
from .rules import Alert, Regime, RuleSet
from ..samples import Channel

NAN = float("nan")
_NONE = -(1 << 40)          # "no sample yet" (as Latch.last_fire)

# --- layout of I (int64) ------------------------------------------------------------------
# scalars (fixed slots), then the offsets of the sections (filled by RuleKernel).
H_NCH, H_NH, H_NK, H_NE = 0, 1, 2, 3            # channels, hands, condition keys, episode keys
H_W, H_RISEK, H_REFR, H_PWIN = 4, 5, 6, 7       # steady window, rise, refractory, percussion window (samples)
H_MINIMP, H_HMS, H_GAP, H_KF = 8, 9, 10, 11     # strikes, hand_min_sensors, contact gap, fast samples
H_ALLOWED, H_STATIC, H_HOLD, H_PERC, H_WARMON = 12, 13, 14, 15, 16   # per region (Regime)
H_HAVERAW, H_CAP, H_CAPIMP = 17, 18, 19          # raw_n given; prompts per call; impacts ring
H_NSEEN, H_RPOS, H_FPOS, H_WARM, H_LASTTOUCH = 20, 21, 22, 23, 24   # running state
# condition-key columns (RuleSet.keys) and episode-key columns (RuleSet.ekeys)
H_CTM, H_COL, H_COLH, H_CST, H_CPC, H_CWU, H_CHO, H_CSAT, H_CBRK = range(25, 34)
H_ETM, H_EOL, H_EST, H_EPC, H_EWU, H_EHO, H_ESAT, H_EBRK = range(34, 42)
# offsets of the int sections
(O_HAND, O_PERSIST, O_CLEAR, O_HOLDOFF, O_MISSES, O_SETTLING,
 O_LRUN, O_LOFF, O_LSINCE, O_LACT, O_LPROM, O_LCOUNT, O_LEP, O_LLAST,
 O_RST, O_RHO, O_ONSET, O_IMP, O_IMPHEAD, O_IMPLEN, O_LASTIMP,
 O_DQI, O_DQH, O_DQL, O_COND, O_EC,
 O_OCNT, O_HOVER, O_HTM, O_HST, O_HHO, O_HFIRST, O_HFIRM, O_OUT) = range(42, 76)
# offsets of the float sections (in I too)
(OF_TMN, OF_LIM, OF_EDGE0, OF_THRC, OF_CONTACT, OF_RISEN, OF_RANGE,
 OF_DQV, OF_RH, OF_FH, OF_VAL, OF_OUT) = range(76, 88)
N_HEAD = 88
OUT_I = 5                   # per prompt in I: sample, key, episode, repeat, press; then K conditions

# --- layout of F (float64) ----------------------------------------------------------------
G_TOL, G_RATE, G_STATICMAX, G_HOLDMAX, G_WARMUP, G_PWINS, G_TBRK, G_SETTLE = range(8)
G_HEAD = 8


@jit.njit
def rule_block(I, F, t, f, b, flt, raw, i0, n):
    """Conditions and prompts for samples i0..n-1 of a chunk (see the module docstring).

    t (n,) seconds; f, b, flt, raw: (n * n_channels,) row-major smoothed force, band, fault
    bits, unsmoothed force (raw: ignored unless I[H_HAVERAW]). Stops early, before a sample,
    when the prompts written could overflow the output; returns (next sample, prompts).
    """
    nch = I[H_NCH]
    nh = I[H_NH]
    nk = I[H_NK]
    ne = I[H_NE]
    w = I[H_W]
    risek = I[H_RISEK]
    refr = I[H_REFR]
    pwin = I[H_PWIN]
    minimp = I[H_MINIMP]
    hms = I[H_HMS]
    gap = I[H_GAP]
    kf = I[H_KF]
    allowed = I[H_ALLOWED]
    static_on = I[H_STATIC]
    hold_on = I[H_HOLD]
    perc_on = I[H_PERC]
    warm_on = I[H_WARMON]
    have_raw = I[H_HAVERAW]
    cap = I[H_CAP]
    capimp = I[H_CAPIMP]
    c_tm = I[H_CTM]
    c_ol = I[H_COL]
    c_olh = I[H_COLH]
    c_st = I[H_CST]
    c_pc = I[H_CPC]
    c_wu = I[H_CWU]
    c_ho = I[H_CHO]
    c_sat = I[H_CSAT]
    c_brk = I[H_CBRK]
    e_tm = I[H_ETM]
    e_ol = I[H_EOL]
    e_st = I[H_EST]
    e_pc = I[H_EPC]
    e_wu = I[H_EWU]
    e_ho = I[H_EHO]
    e_sat = I[H_ESAT]
    e_brk = I[H_EBRK]
    o_hand = I[O_HAND]
    o_persist = I[O_PERSIST]
    o_clear = I[O_CLEAR]
    o_holdoff = I[O_HOLDOFF]
    o_misses = I[O_MISSES]
    o_settling = I[O_SETTLING]
    o_lrun = I[O_LRUN]
    o_loff = I[O_LOFF]
    o_lsince = I[O_LSINCE]
    o_lact = I[O_LACT]
    o_lprom = I[O_LPROM]
    o_lcount = I[O_LCOUNT]
    o_lep = I[O_LEP]
    o_llast = I[O_LLAST]
    o_rst = I[O_RST]
    o_rho = I[O_RHO]
    o_onset = I[O_ONSET]
    o_imp = I[O_IMP]
    o_imphead = I[O_IMPHEAD]
    o_implen = I[O_IMPLEN]
    o_lastimp = I[O_LASTIMP]
    o_dqi = I[O_DQI]
    o_dqh = I[O_DQH]
    o_dql = I[O_DQL]
    o_cond = I[O_COND]
    o_ec = I[O_EC]
    o_ocnt = I[O_OCNT]
    o_hover = I[O_HOVER]
    o_htm = I[O_HTM]
    o_hst = I[O_HST]
    o_hho = I[O_HHO]
    o_hfirst = I[O_HFIRST]
    o_hfirm = I[O_HFIRM]
    o_out = I[O_OUT]
    of_tmn = I[OF_TMN]
    of_lim = I[OF_LIM]
    of_edge0 = I[OF_EDGE0]
    of_thrc = I[OF_THRC]
    of_contact = I[OF_CONTACT]
    of_risen = I[OF_RISEN]
    of_range = I[OF_RANGE]
    of_dqv = I[OF_DQV]
    of_rh = I[OF_RH]
    of_fh = I[OF_FH]
    of_val = I[OF_VAL]
    of_out = I[OF_OUT]
    tol = F[G_TOL]
    rate = F[G_RATE]
    static_max = F[G_STATICMAX]
    hold_max = F[G_HOLDMAX]
    warmup = F[G_WARMUP]
    pwin_s = F[G_PWINS]
    tbrk = F[G_TBRK]
    settle = F[G_SETTLE]
    ostride = OUT_I + nk
    nout = 0
    i = i0
    while i < n:
        if nout + ne > cap:
            break
        g = I[H_NSEEN]
        row = i * nch
        for h in range(nh):
            I[o_ocnt + h] = 0
            I[o_hover + h] = 0
            I[o_htm + h] = 0
            I[o_hst + h] = 0
            I[o_hho + h] = 0
            I[o_hfirst + h] = 0
            I[o_hfirm + h] = 0
        touching = False
        gentle = True
        rpos = I[H_RPOS]
        fpos = I[H_FPOS]
        for j in range(nch):
            x = f[row + j]
            bb = b[row + j]
            fl = flt[row + j]
            h = I[o_hand + j]
            finite = not (math.isnan(x) or math.isinf(x))
            fz = x if finite else 0.0
            valid = finite and bb != -1
            broken = (fl & FAULT_BROKEN) != 0
            sat = (fl & FAULT_SATURATED) != 0 and not broken
            tmn = F[of_tmn + j]
            lim = F[of_lim + j]
            # too much / over the limit: the band, or the fast path
            r = NAN
            ftm = False
            fol = False
            if have_raw != 0:
                r = raw[row + j]
                ftm = r >= tmn
                fol = r >= lim
                for q in range(kf - 1):
                    hv = F[of_fh + q * nch + j]
                    if not hv >= tmn:
                        ftm = False
                    if not hv >= lim:
                        fol = False
            if kf > 1:
                F[of_fh + fpos * nch + j] = r
            tm = bb == 3 or ftm
            over = (bb > allowed and bb != -1) or fol
            fval = F[of_range + j] if sat else x
            vtm = fval
            if ftm and not fval >= tmn:
                vtm = r
            vol = x
            if fol and not x >= lim:
                vol = r
            I[o_cond + c_tm + j] = 1 if tm else 0
            F[of_val + c_tm + j] = vtm
            I[o_cond + c_ol + j] = 1 if over and not tm else 0
            F[of_val + c_ol + j] = vol
            if over:
                I[o_ocnt + h] += 1
                I[o_hover + h] = 1
            if tm:
                I[o_htm + h] = 1
            # steady force: max and min of the last w samples (monotonic deques: drop what
            # left the window at the front, what the new sample outranks at the back)
            base = j * w
            hd = I[o_dqh + j]
            ln = I[o_dql + j]
            while ln > 0 and I[o_dqi + base + hd] <= g - w:
                hd = hd + 1 if hd + 1 < w else 0
                ln -= 1
            back = hd + ln - 1
            while ln > 0 and F[of_dqv + base + (back if back < w else back - w)] <= fz:
                ln -= 1
                back -= 1
            pos = hd + ln if hd + ln < w else hd + ln - w
            I[o_dqi + base + pos] = g
            F[of_dqv + base + pos] = fz
            I[o_dqh + j] = hd
            I[o_dql + j] = ln + 1
            mxv = F[of_dqv + base + hd]
            base = (nch + j) * w
            hd = I[o_dqh + nch + j]
            ln = I[o_dql + nch + j]
            while ln > 0 and I[o_dqi + base + hd] <= g - w:
                hd = hd + 1 if hd + 1 < w else 0
                ln -= 1
            back = hd + ln - 1
            while ln > 0 and F[of_dqv + base + (back if back < w else back - w)] >= fz:
                ln -= 1
                back -= 1
            pos = hd + ln if hd + ln < w else hd + ln - w
            I[o_dqi + base + pos] = g
            F[of_dqv + base + pos] = fz
            I[o_dqh + nch + j] = hd
            I[o_dql + nch + j] = ln + 1
            mnv = F[of_dqv + base + hd]
            shape_ok = (mxv - mnv) <= tol * mxv
            rs = I[o_rst + j] + 1 if shape_ok and mnv >= F[of_thrc + j] else 0
            rh = I[o_rho + j] + 1 if shape_ok and mnv >= F[of_edge0 + j] else 0
            I[o_rst + j] = rs
            I[o_rho + j] = rh
            d_st = (rs + w - 1) / rate if rs > 0 else 0.0
            d_ho = (rh + w - 1) / rate if rh > 0 else 0.0
            cst = static_on != 0 and d_st > static_max
            cho = hold_on != 0 and d_ho > hold_max
            I[o_cond + c_st + j] = 1 if cst else 0
            F[of_val + c_st + j] = d_st
            I[o_cond + c_ho + j] = 1 if cho else 0
            F[of_val + c_ho + j] = d_ho
            if cst:
                I[o_hst + h] = 1
            if cho:
                I[o_hho + h] = 1
            # impacts: a rise from below contact within rise_k samples
            before = F[of_rh + rpos * nch + j]
            onset = (x - before) >= F[of_risen + j] and before < F[of_contact + j]
            F[of_rh + rpos * nch + j] = x
            if onset and I[o_onset + j] == 0:
                I[o_hfirst + h] = 1
            I[o_onset + j] = 1 if onset else 0
            # warm-up
            if valid and fz >= F[of_contact + j]:
                touching = True
            if valid and bb >= 2:
                gentle = False
            if bb == 2:
                I[o_hfirm + h] = 1
            # faults
            I[o_cond + c_sat + j] = 1 if sat else 0
            F[of_val + c_sat + j] = F[of_range + j]
            I[o_cond + c_brk + j] = 1 if broken else 0
            F[of_val + c_brk + j] = tbrk
        rpos += 1
        if rpos == risek:
            rpos = 0
        I[H_RPOS] = rpos
        if kf > 1:
            fpos += 1
            if fpos == kf - 1:
                fpos = 0
            I[H_FPOS] = fpos
        # warm-up clock
        if touching:
            I[H_LASTTOUCH] = g
        lt = I[H_LASTTOUCH]
        if lt >= 0 and g - lt < gap and gentle:
            I[H_WARM] += 1
        warm_s = I[H_WARM] / rate
        for h in range(nh):
            cnt = I[o_ocnt + h]
            I[o_cond + c_olh + h] = 1 if cnt >= hms else 0
            F[of_val + c_olh + h] = cnt
            # strikes of the hand in the last pwin samples, refractory between them
            base = o_imp + h * capimp
            hd = I[o_imphead + h]
            ln = I[o_implen + h]
            while ln > 0 and I[base + hd] <= g - pwin:
                hd += 1
                if hd == capimp:
                    hd = 0
                ln -= 1
            if I[o_hfirst + h] != 0 and g - I[o_lastimp + h] >= refr:
                pos = hd + ln
                if pos >= capimp:
                    pos -= capimp
                I[base + pos] = g
                ln += 1
                I[o_lastimp + h] = g
            I[o_imphead + h] = hd
            I[o_implen + h] = ln
            cpc = perc_on != 0 and ln >= minimp
            I[o_cond + c_pc + h] = 1 if cpc else 0
            F[of_val + c_pc + h] = ln / pwin_s
            cwu = warm_on != 0 and I[o_hfirm + h] != 0 and warm_s < warmup
            I[o_cond + c_wu + h] = 1 if cwu else 0
            F[of_val + c_wu + h] = warm_s
            # episode conditions of the hand
            I[o_ec + e_tm + h] = I[o_htm + h]
            I[o_ec + e_ol + h] = I[o_hover + h]
            I[o_ec + e_st + h] = I[o_hst + h]
            I[o_ec + e_pc + h] = 1 if cpc else 0
            I[o_ec + e_wu + h] = 1 if cwu else 0
            I[o_ec + e_ho + h] = I[o_hho + h]
        for j in range(nch):
            I[o_ec + e_sat + j] = I[o_cond + c_sat + j]
            I[o_ec + e_brk + j] = I[o_cond + c_brk + j]
        # the hands are moving to a new region: its duration rules wait (RuleEngine)
        if t[i] < settle:
            for k in range(ne):
                if I[o_settling + k] != 0:
                    I[o_ec + k] = 0
        # the Latch
        first_out = nout
        for k in range(ne):
            c = I[o_ec + k]
            act = I[o_lact + k]
            if c == 0 and act == 0:
                I[o_lrun + k] = 0
                continue
            if c != 0:
                I[o_lrun + k] += 1
                I[o_loff + k] = 0
            else:
                I[o_lrun + k] = 0
                I[o_loff + k] += 1
            I[o_lsince + k] += act
            start = c != 0 and act == 0 and I[o_lrun + k] >= I[o_persist + k]
            if start:
                act = 1
                I[o_lep + k] += 1
                I[o_lcount + k] += 1
            quiet = I[o_misses + k] == 1 or g - I[o_llast + k] >= I[o_holdoff + k]
            fire_new = start and I[o_lcount + k] >= I[o_misses + k] and quiet
            fire_again = (c != 0 and act != 0 and I[o_lprom + k] != 0 and not start
                          and I[o_lsince + k] >= I[o_holdoff + k])
            if fire_new or fire_again:
                I[o_lsince + k] = 0
                I[o_llast + k] = g
                if fire_new:
                    I[o_lcount + k] = 0
                    I[o_lprom + k] = 1
                q = o_out + nout * ostride
                I[q] = i
                I[q + 1] = k
                I[q + 2] = I[o_lep + k]
                I[q + 3] = 0 if fire_new else 1
                for m in range(nk):
                    I[q + OUT_I + m] = I[o_cond + m]
                    F[of_out + nout * nk + m] = F[of_val + m]
                nout += 1
            if act != 0 and c == 0 and I[o_loff + k] >= I[o_clear + k]:
                act = 0
                I[o_lprom + k] = 0
            I[o_lact + k] = act
        for p in range(first_out, nout):
            q = o_out + p * ostride
            k = I[q + 1]
            if k >= e_brk:
                hand = I[o_hand + k - e_brk]
            elif k >= e_sat:
                hand = I[o_hand + k - e_sat]
            else:
                hand = k % nh
            I[q + 4] = I[o_lep + e_ol + hand]
        I[H_NSEEN] = g + 1
        i += 1
    return i, nout


class RuleKernel(RuleSet):
    """The rule engine for one glove as a per-sample kernel: RuleEngine's constructor,
    `process` and alerts (equal, in the same order, on any stream cut into any blocks).

    compiled: True numba, False the same source uncompiled (on lists), None numba when it
    is installed and MG_KERNEL is not "python".
    """

    def __init__(self, channels: Sequence[Channel], profile_set: ProfileSet | None = None,
                 skill: str = "trained", sensitivity: str | float = "normal",
                 rate_hz: float = 200.0, settings: Settings | None = None, *,
                 compiled: bool | None = None):
        super().__init__(channels, profile_set, skill, sensitivity, rate_hz, settings)
        if compiled is None:
            compiled = jit.COMPILED
        if compiled and not jit.COMPILED:
            raise RuntimeError("the compiled rule kernel needs numba (pip install numba), "
                               "or MG_KERNEL is set to python")
        self.compiled = bool(compiled)
        self.name = jit.kernel_name() if self.compiled else "python"
        s = self.settings
        nch, nh = self.n_channels, len(self.hands)
        nk, ne = len(self.keys), len(self.ekeys)
        w = self.steady_w
        kf = max(self.fast_k, 0)
        capimp = self.pwin // self.refractory + 2
        cap = 4 * ne
        self._cap = cap
        head = [0] * N_HEAD
        sections: list[int] = []

        def section(slot: int, values) -> None:
            head[slot] = N_HEAD + len(sections)
            sections.extend(int(v) for v in values)

        head[H_NCH], head[H_NH], head[H_NK], head[H_NE] = nch, nh, nk, ne
        head[H_W], head[H_RISEK], head[H_REFR], head[H_PWIN] = w, self.rise_k, self.refractory, self.pwin
        head[H_MINIMP], head[H_HMS], head[H_GAP], head[H_KF] = (
            s.percussion_min_impacts, s.hand_min_sensors, self.contact_gap, kf)
        head[H_CAP], head[H_CAPIMP] = cap, capimp
        head[H_LASTTOUCH] = -1
        for slot, rule in ((H_CTM, "too_much"), (H_COL, "over_limit"), (H_COLH, "over_limit_hand"),
                           (H_CST, "static_pressure"), (H_CPC, "percussion"),
                           (H_CWU, "too_deep_too_fast"), (H_CHO, "hold_too_long"),
                           (H_CSAT, "sensor_saturated"), (H_CBRK, "sensor_broken")):
            head[slot] = self._col[rule].start
        for slot, rule in ((H_ETM, "too_much"), (H_EOL, "over_limit"), (H_EST, "static_pressure"),
                           (H_EPC, "percussion"), (H_EWU, "too_deep_too_fast"),
                           (H_EHO, "hold_too_long"), (H_ESAT, "sensor_saturated"),
                           (H_EBRK, "sensor_broken")):
            head[slot] = self._ecol[rule].start
        # the kernel finds a prompt's hand from its key: hand keys first, then sensor keys
        assert self._ecol["sensor_saturated"].start == 6 * nh and \
            self._ecol["sensor_broken"].start == 6 * nh + nch
        section(O_HAND, self.hand_of)
        section(O_PERSIST, self.persist)
        section(O_CLEAR, self.clear)
        section(O_HOLDOFF, self.holdoff)
        section(O_MISSES, self.misses)
        section(O_SETTLING, self._settling)
        for slot in (O_LRUN, O_LOFF, O_LSINCE, O_LACT, O_LPROM, O_LCOUNT, O_LEP):
            section(slot, [0] * ne)
        section(O_LLAST, [_NONE] * ne)
        section(O_RST, [0] * nch)
        section(O_RHO, [0] * nch)
        section(O_ONSET, [0] * nch)
        section(O_IMP, [0] * (nh * capimp))
        section(O_IMPHEAD, [0] * nh)
        section(O_IMPLEN, [0] * nh)
        section(O_LASTIMP, [_NONE] * nh)
        # deques: max then min per channel, each starting as the w - 1 zeros before the
        # stream (RuleEngine's _Window history): one entry, sample -1, value 0
        dqi = [0] * (2 * nch * w)
        for d in range(2 * nch):
            dqi[d * w] = -1
        section(O_DQI, dqi)
        section(O_DQH, [0] * (2 * nch))
        section(O_DQL, [1] * (2 * nch))
        section(O_COND, [0] * nk)
        section(O_EC, [0] * ne)
        for slot in (O_OCNT, O_HOVER, O_HTM, O_HST, O_HHO, O_HFIRST, O_HFIRM):
            section(slot, [0] * nh)
        section(O_OUT, [0] * (cap * (OUT_I + nk)))
        I = head + sections

        fhead = [0.0] * G_HEAD
        fsec: list[float] = []

        def fsection(slot: int, values) -> None:
            I[slot] = G_HEAD + len(fsec)
            fsec.extend(float(v) for v in values)

        fhead[G_TOL] = float(s.steady_tolerance)
        fhead[G_RATE] = self.rate_hz
        fhead[G_WARMUP] = float(s.warmup_s)
        fhead[G_PWINS] = float(s.percussion_window_s)
        fhead[G_TBRK] = self.t_broken_s
        fhead[G_SETTLE] = -math.inf
        for slot in (OF_TMN, OF_LIM, OF_EDGE0, OF_THRC, OF_CONTACT, OF_RISEN):
            fsection(slot, [NAN] * nch)
        fsection(OF_RANGE, self.range_n)
        fsection(OF_DQV, [0.0] * (2 * nch * w))
        fsection(OF_RH, [NAN] * (self.rise_k * nch))
        fsection(OF_FH, [NAN] * (max(kf - 1, 0) * nch))
        fsection(OF_VAL, [NAN] * nk)
        fsection(OF_OUT, [0.0] * (cap * nk))
        F = fhead + fsec
        self._I = np.array(I, np.int64)
        self._F = np.array(F, np.float64)
        self._fh = slice(self._I[OF_FH], self._I[OF_FH] + max(kf - 1, 0) * nch)
        self._lat = {name: slice(int(self._I[slot]), int(self._I[slot]) + ne)
                     for name, slot in (("run", O_LRUN), ("off", O_LOFF), ("since", O_LSINCE),
                                        ("active", O_LACT), ("prompted", O_LPROM), ("count", O_LCOUNT))}
        self._regional_idx = [int(k) for k in np.flatnonzero(self._regional)]
        self._rg: Regime | None = None
        self._tech: str | None = None       # the technique of the regime written
        self._have_raw = False
        self._region: str | None = None
        self._started = False
        self._dummy = np.zeros(1, np.float64)
        self.set_regime(self.regime(None, None))
        if self.compiled:
            self._kernel = rule_block
            self.warmup_s = self._warm_up()
        else:
            self._kernel = getattr(rule_block, "py_func", rule_block)
            self._I = self._I.tolist()
            self._F = self._F.tolist()
            self._dummy = [0.0]
            self.warmup_s = 0.0

    def _warm_up(self) -> float:
        """Compile the kernel (or load it from numba's cache) on throwaway state, with the
        argument types of every later call; returns the seconds it took."""
        t0 = time.perf_counter()
        nch = self.n_channels
        I, F = self._I.copy(), self._F.copy()
        rule_block(I, F, np.zeros(1), np.zeros(nch), np.zeros(nch, np.int8),
                   np.zeros(nch, np.uint8), np.zeros(nch), 0, 1)
        return time.perf_counter() - t0

    # --- state seen from outside -----------------------------------------------------------
    def _active_keys(self):
        act = self._I[self._lat["active"]]
        return np.flatnonzero(act) if self.compiled else [k for k, v in enumerate(act) if v]

    @property
    def warmup_done_s(self) -> float:
        """Seconds of light/medium contact so far (the warm-up clock)."""
        return int(self._I[H_WARM]) / self.rate_hz

    # --- processing ---------------------------------------------------------------------
    def set_regime(self, rg: Regime) -> None:
        """Write the parameters of a region and technique into the kernel's vectors."""
        I, F = self._I, self._F
        P = rg.profile
        s = self.settings
        I[H_ALLOWED] = int(P.allowed_band)
        I[H_STATIC] = int(rg.static_max_s is not None)
        I[H_HOLD] = int(rg.hold_max_s is not None)
        I[H_PERC] = int(rg.percussion)
        I[H_WARMON] = int(rg.warmup)
        F[G_STATICMAX] = float(rg.static_max_s) if rg.static_max_s is not None else NAN
        F[G_HOLDMAX] = float(rg.hold_max_s) if rg.hold_max_s is not None else NAN
        thr = np.maximum(P.contact_n, s.static_min_fraction * P.edges_n[:, 0])
        rise = s.impact_rise_fraction * P.edges_n[:, 0]
        for slot, v in ((OF_TMN, P.too_much_n), (OF_LIM, P.limit_n), (OF_EDGE0, P.edges_n[:, 0]),
                        (OF_THRC, thr), (OF_CONTACT, P.contact_n), (OF_RISEN, rise)):
            o = int(I[slot])
            F[o:o + self.n_channels] = [float(x) for x in v]
        self._rg = rg

    def process(self, t_s, force_n, bands, faults, region: str | None,
                technique_hint: str | None = None, raw_n=None) -> list[Alert]:
        """Alerts for one chunk: arguments and alerts as RuleEngine.process."""
        f = np.asarray(force_n, np.float64)
        n = f.shape[0]
        if technique_hint != self._tech:
            self.check_technique(technique_hint)
        raw = self._check_raw(raw_n, n)
        I, F = self._I, self._F
        t = np.asarray(t_s, np.float64)
        if self._started and region != self._region:
            for name in ("run", "off", "since", "active", "prompted", "count"):
                o = self._lat[name].start
                for k in self._regional_idx:
                    I[o + k] = 0
            if n:
                F[G_SETTLE] = float(t[0]) + self.settings.region_settle_s
        self._region = region
        self._started = True
        if n == 0:
            return []
        if region != self._rg.profile.region_id or technique_hint != self._tech:
            self.set_regime(self.regime(region, technique_hint))
            self._tech = technique_hint
        rg = self._rg
        flt = np.asarray(faults)
        if raw is None:
            if self._have_raw:
                I[H_HAVERAW] = 0
                self._have_raw = False
            if self.fast_k > 1:
                F[self._fh] = [NAN] * (self._fh.stop - self._fh.start)
        elif not self._have_raw:
            I[H_HAVERAW] = 1
            self._have_raw = True
        if self.compiled:
            args = (np.ascontiguousarray(t), np.ascontiguousarray(f).reshape(-1),
                    np.ascontiguousarray(bands, np.int8).reshape(-1),
                    np.ascontiguousarray(flt, np.uint8).reshape(-1),
                    self._dummy if raw is None else np.ascontiguousarray(raw).reshape(-1))
        else:
            args = (t.tolist(), f.reshape(-1).tolist(),
                    np.asarray(bands, np.int8).reshape(-1).tolist(),
                    np.asarray(flt, np.uint8).reshape(-1).tolist(),
                    self._dummy if raw is None else raw.reshape(-1).tolist())
        alerts: list[Alert] = []
        i = 0
        while i < n:
            i0 = i
            i, m = self._kernel(I, F, *args, i, n)
            if m:
                alerts += self.tell(self._prompts(m), t, flt, rg)
            elif i == i0:
                raise RuntimeError("rule kernel: its prompt output holds less than one sample's")
        return alerts

    def _prompts(self, m: int):
        """The kernel's m prompts of the last call, as RuleSet.tell takes them."""
        I, F = self._I, self._F
        nk = len(self.keys)
        stride = OUT_I + nk
        o, of = int(I[O_OUT]), int(I[OF_OUT])
        out = []
        for p in range(m):
            q = o + p * stride
            hdr = [int(x) for x in I[q:q + OUT_I]]
            crow = np.array(I[q + OUT_I:q + stride], bool)
            vrow = np.array(F[of + p * nk:of + (p + 1) * nk], np.float64)
            out.append((hdr[0], hdr[1], hdr[2], bool(hdr[3]), hdr[4], crow, vrow))
        return out
