"""The live chain as one per-sample kernel: counts in; faults, force, filtered force, bands out.

`chain_block` does, sample by sample and channel by channel, what the array stages do for
`ReferencePipeline` (pipeline.py), with the same floating-point operations in the same
order, so its outputs are bit-identical to theirs (tests/signal/test_kernel_equal.py):

    counts -> faults        ForceConverter.faults (short, saturated, open) and
                            NoiseDetector (quick and windowed reversal tests, `since` carry)
           -> force         a table of the tared force at every whole count (0 .. full),
                            made by ForceConverter.force_n itself (divider inversion with its
                            clip, tare, nominal / power-law / PCHIP curve); remade on tare
           -> filter input  over range -> the sensor's range; broken -> the last good value
           -> spike median  of 3, history before the first sample = the first sample
           -> low-pass      second-order sections in sosfilt's direct form II transposed,
                            starting at rest at the first sample (sosfilt_zi * x0)
           -> band          BandClassifier: per edge a Schmitt trigger with dwell up/down;
                            NaN (broken) holds the state, +inf (over range) is above every edge;
                            a region change restarts it from the last force (restart_bands)
           -> hand band     the highest band of the hand's sensors

ADC counts are whole numbers, so a per-count table is exact for every curve (no curve is
re-implemented here, and no pow/log/exp is left per sample): 4096 x 16 channels x 8 bytes
= 512 kB for a 12-bit glove.

The kernel is written once in the subset of Python numba compiles (jit.py): scalar
arithmetic, loops and indexing of flat vectors. Its parameters and state are a few flat
vectors (layout below, built by `ChainKernel`), so a call has eight arguments of fixed
types (float64 and int64 vectors, C order, and an int8 output): numba makes one
specialisation of it. Uncompiled, the same source runs on Python lists (the state
converted once), which gives the same floats: Python's float arithmetic is the same IEEE
double arithmetic as numba's and numpy's.

Each kernel has one explicit signature: numba compiles it (or loads it from its disk
cache) when this module is imported, and refuses other argument types rather than
compiling again. `ChainKernel` owns the vectors and, when it is built, runs the kernels
once on throwaway state: nothing is compiled or loaded on the first live sample, and
building a Pipeline takes milliseconds, not the seconds of a compile (a session building
its pipelines while its gloves already stream must not fall behind them).
"""
from __future__ import annotations

import math
import time

import numpy as np

from . import jit
from .calibration import (FAULT_BROKEN, FAULT_NOISY, FAULT_OPEN, FAULT_SATURATED, FAULT_SHORT,
                          ForceConverter, NoiseDetector)
from .bands import N_EDGES, UNKNOWN, BandClassifier
from .filters import LowPass

# --- layout of the vectors ----------------------------------------------------------------
# par (float64): globals, then the low-pass (6 coefficients then 2 unit states per section),
# then PC values per channel.
P_FULL = 0          # ADC full scale, counts
P_STEP = 1          # noise: a step this big (counts) ...
P_NOISE_LIMIT = 2   # ... reversals over the window above this count: noisy
P_SOS = 3
C_FMAX = 0          # top of the sensor's range, newtons
C_AREA = 1          # active area, mm^2
C_SHORT = 2         # fault thresholds, counts
C_SAT = 3
C_OPEN = 4
C_EDGE = 5          # band edges (3), newtons
C_OFF = 8           # switch-off levels (3), newtons
PC = 11
# ipar (int64): globals, then IC values per channel.
I_NCH = 0
I_NH = 1            # hands
I_NSEC = 2          # low-pass sections
I_W = 3             # noise window, samples
I_QW = 4            # quick noise window, samples
I_QLIM = 5          # quick noise test: this many reversals
I_DUP = 6           # band dwell up / down, samples
I_DDOWN = 7
I_SPIKE = 8         # 1: spike median on
I_RING = 9          # length of the reversal ring: max(I_W, I_QW)
I_CH = 10
IC_HAND = 0         # hand index
IC = 1
# lut (float64): (full + 1, n_channels) row-major, the tared force of every whole count.
# st (float64), per channel: S_ZI + 2 * sections values.
S_GOOD = 0          # last good filter input, newtons (held while broken)
S_H1 = 1            # spike median history: the two previous inputs
S_H2 = 2
S_LASTX = 3         # band classifier: last non-NaN input (NaN: none yet)
S_PREVC = 4         # noise: previous counts, previous step
S_PREVD = 5
S_ZI = 6            # low-pass state, 2 per section
# ist (int64): J_SEEN, then per channel J_RING + ring length values.
J_SEEN = 0          # samples processed so far (the stream starts at 0)
J_CH = 1
J_SINCE = 0         # noise: samples since a test fired
J_SUMQ = 1          # noise: reversals in the quick window, in the full window
J_SUMW = 2
J_ON = 3            # band: edge on (3)
J_RUP = 6           # band: run above each edge (3), run below its switch-off level (3)
J_RDN = 9
J_RING = 12         # noise: reversal (1/0) ending at each of the last ring-length samples

_SINCE_START = 1 << 30    # NoiseDetector's initial `since`: long ago


# The one specialisation of each kernel, compiled (or loaded from the cache) at import.
CHAIN_SIGNATURE = ("void(float64[::1], float64[::1], int64[::1], float64[::1], float64[::1], "
                   "int64[::1], float64[::1], int8[::1])")
RESTART_SIGNATURE = "void(float64[::1], int64[::1], float64[::1], int64[::1])"


@jit.njit(signature=CHAIN_SIGNATURE)
def chain_block(cnt, par, ipar, lut, st, ist, out, outb):
    """Run n samples (cnt: n * n_channels counts, row-major) through the chain.

    Writes, row-major (n, n_channels) each: out[0:nn] force (tared, unsmoothed; NaN broken,
    range over range), out[nn:2nn] filtered force, out[2nn:3nn] pressure (kPa);
    outb[0:nn] band, outb[nn:2nn] fault bits, outb[2nn:] hand band (n, n_hands).
    Updates st and ist. cnt, par, lut, st, out: float64; ipar, ist: int64; outb: int8
    (or Python lists of floats and ints, uncompiled).
    """
    nch = ipar[I_NCH]
    nh = ipar[I_NH]
    nsec = ipar[I_NSEC]
    n = len(cnt) // nch
    nn = n * nch
    w = ipar[I_W]
    qw = ipar[I_QW]
    qlim = ipar[I_QLIM]
    dup = ipar[I_DUP]
    ddown = ipar[I_DDOWN]
    spike = ipar[I_SPIKE]
    ring = ipar[I_RING]
    full = par[P_FULL]
    top = int(full)
    step = par[P_STEP]
    nlimit = par[P_NOISE_LIMIT]
    p_zi = P_SOS + 6 * nsec
    p_ch = p_zi + 2 * nsec
    sc = S_ZI + 2 * nsec
    jc = J_RING + ring
    seen0 = ist[J_SEEN]
    nan = math.nan
    inf = math.inf
    for j in range(nch):
        p = p_ch + j * PC
        fmax = par[p + C_FMAX]
        area = par[p + C_AREA]
        c_short = par[p + C_SHORT]
        c_sat = par[p + C_SAT]
        c_open = par[p + C_OPEN]
        e0 = par[p + C_EDGE]
        e1 = par[p + C_EDGE + 1]
        e2 = par[p + C_EDGE + 2]
        o0 = par[p + C_OFF]
        o1 = par[p + C_OFF + 1]
        o2 = par[p + C_OFF + 2]
        s = j * sc
        good = st[s + S_GOOD]
        h1 = st[s + S_H1]
        h2 = st[s + S_H2]
        lastx = st[s + S_LASTX]
        prevc = st[s + S_PREVC]
        prevd = st[s + S_PREVD]
        q = J_CH + j * jc
        since = ist[q + J_SINCE]
        sumq = ist[q + J_SUMQ]
        sumw = ist[q + J_SUMW]
        on0 = ist[q + J_ON]
        on1 = ist[q + J_ON + 1]
        on2 = ist[q + J_ON + 2]
        ru0 = ist[q + J_RUP]
        ru1 = ist[q + J_RUP + 1]
        ru2 = ist[q + J_RUP + 2]
        rd0 = ist[q + J_RDN]
        rd1 = ist[q + J_RDN + 1]
        rd2 = ist[q + J_RDN + 2]
        qr = q + J_RING
        pos = seen0 % ring          # the ring slot of sample r
        for i in range(n):
            r = seen0 + i
            k = i * nch + j
            c = cnt[k]
            # --- faults: thresholds (ForceConverter.faults) --------------------------------
            if c >= c_short:
                fl = FAULT_SHORT
            elif c >= c_sat:
                fl = FAULT_SATURATED
            else:
                fl = 0
            if c < c_open:
                fl = FAULT_OPEN
            # --- faults: reversals (NoiseDetector) -------------------------------------------
            rev = 0
            if r >= 1:
                d = c - prevc
                if r >= 2 and abs(d) >= step and abs(prevd) >= step:
                    sd = (1 if d > 0.0 else 0) - (1 if d < 0.0 else 0)
                    sp = (1 if prevd > 0.0 else 0) - (1 if prevd < 0.0 else 0)
                    if sd != sp:
                        rev = 1
                prevd = d
            prevc = c
            old_q = 0
            if r >= qw:
                pq = pos - qw
                old_q = ist[qr + (pq + ring if pq < 0 else pq)]
            old_w = 0
            if r >= w:
                pw = pos - w
                old_w = ist[qr + (pw + ring if pw < 0 else pw)]
            ist[qr + pos] = rev
            pos += 1
            if pos == ring:
                pos = 0
            sumq += rev - old_q
            sumw += rev - old_w
            if r >= 2 and (sumq >= qlim or (r >= w + 1 and sumw > nlimit)):
                since = 0
            else:
                since += 1
            if since < w:
                fl |= FAULT_NOISY
            # --- force: the table of the channel's tared curve at every whole count ----------
            if c <= 0.0:
                f = lut[j]
            elif c >= full:
                f = lut[top * nch + j]
            else:
                f = lut[int(c) * nch + j]
            # --- over range and broken --------------------------------------------------------
            broken = (fl & FAULT_BROKEN) != 0
            sat = (fl & FAULT_SATURATED) != 0 and not broken
            x = fmax if sat else f
            if broken:
                out[k] = nan
            else:
                out[k] = x
            if broken or x != x:
                x = good
            good = x
            # --- spike median of 3, then the low-pass -------------------------------------------
            if r == 0:
                h1 = x
                h2 = x
            if spike != 0:
                a = h1 if h1 < h2 else h2
                b = h2 if h1 < h2 else h1
                y = b if x > b else x
                y = a if a > y else y
                h1 = h2
                h2 = x
            else:
                y = x
            if r == 0:
                for z in range(nsec):
                    st[s + S_ZI + 2 * z] = par[p_zi + 2 * z] * y
                    st[s + S_ZI + 2 * z + 1] = par[p_zi + 2 * z + 1] * y
            xc = y
            for z in range(nsec):
                ps = P_SOS + 6 * z
                zs = s + S_ZI + 2 * z
                xn = par[ps] * xc + st[zs]
                st[zs] = par[ps + 1] * xc - par[ps + 4] * xn + st[zs + 1]
                st[zs + 1] = par[ps + 2] * xc - par[ps + 5] * xn
                xc = xn
            if broken:
                fv = nan
            elif sat:
                fv = fmax
            else:
                fv = xc
            out[nn + k] = fv
            out[2 * nn + k] = fv / area * 1000.0
            outb[nn + k] = fl
            # --- band --------------------------------------------------------------------------
            if broken:
                xb = nan
            elif sat:
                xb = inf
            else:
                xb = xc
            if xb != xb:
                ru0 = 0
                ru1 = 0
                ru2 = 0
                rd0 = 0
                rd1 = 0
                rd2 = 0
                outb[k] = UNKNOWN
            else:
                lastx = xb
                if xb >= e0:
                    ru0 += 1
                else:
                    ru0 = 0
                if xb < o0:
                    rd0 += 1
                else:
                    rd0 = 0
                if ru0 == dup:
                    on0 = 1
                elif rd0 == ddown:
                    on0 = 0
                if xb >= e1:
                    ru1 += 1
                else:
                    ru1 = 0
                if xb < o1:
                    rd1 += 1
                else:
                    rd1 = 0
                if ru1 == dup:
                    on1 = 1
                elif rd1 == ddown:
                    on1 = 0
                if xb >= e2:
                    ru2 += 1
                else:
                    ru2 = 0
                if xb < o2:
                    rd2 += 1
                else:
                    rd2 = 0
                if ru2 == dup:
                    on2 = 1
                elif rd2 == ddown:
                    on2 = 0
                outb[k] = on0 + on1 + on2
        st[s + S_GOOD] = good
        st[s + S_H1] = h1
        st[s + S_H2] = h2
        st[s + S_LASTX] = lastx
        st[s + S_PREVC] = prevc
        st[s + S_PREVD] = prevd
        ist[q + J_SINCE] = since
        ist[q + J_SUMQ] = sumq
        ist[q + J_SUMW] = sumw
        ist[q + J_ON] = on0
        ist[q + J_ON + 1] = on1
        ist[q + J_ON + 2] = on2
        ist[q + J_RUP] = ru0
        ist[q + J_RUP + 1] = ru1
        ist[q + J_RUP + 2] = ru2
        ist[q + J_RDN] = rd0
        ist[q + J_RDN + 1] = rd1
        ist[q + J_RDN + 2] = rd2
    ist[J_SEEN] = seen0 + n
    # --- hand bands: the highest band of each hand's sensors (UNKNOWN = -1 is the lowest) ---
    ho = 2 * nn
    for i in range(n):
        for h in range(nh):
            outb[ho + i * nh + h] = UNKNOWN
        for j in range(nch):
            h = ipar[I_CH + j * IC + IC_HAND]
            b = outb[i * nch + j]
            if b > outb[ho + i * nh + h]:
                outb[ho + i * nh + h] = b


@jit.njit(signature=RESTART_SIGNATURE)
def restart_bands(par, ipar, st, ist):
    """New edges (a region change): each edge of a channel that has seen a force is on if
    that force reaches it, with no hysteresis or dwell; every run restarts
    (BandClassifier.set_edges)."""
    nch = ipar[I_NCH]
    nsec = ipar[I_NSEC]
    p_ch = P_SOS + 8 * nsec
    sc = S_ZI + 2 * nsec
    jc = J_RING + ipar[I_RING]
    for j in range(nch):
        lx = st[j * sc + S_LASTX]
        q = J_CH + j * jc
        for e in range(N_EDGES):
            if lx == lx:
                ist[q + J_ON + e] = 1 if lx >= par[p_ch + j * PC + C_EDGE + e] else 0
            ist[q + J_RUP + e] = 0
            ist[q + J_RDN + e] = 0


class ChainKernel:
    """The vectors of `chain_block` for one glove, and the calls that use them.

    converter: the glove's ForceConverter (thresholds, force curves, ranges, areas);
    noise, lowpass, classifier: the stages whose parameters the kernel takes (their own
    state is not used); spike: the spike median is on; hand_of: (n_channels,) hand index;
    compiled: True numba, False the same source uncompiled on lists, None numba if installed.
    """

    def __init__(self, converter: ForceConverter, noise: NoiseDetector, lowpass: LowPass,
                 spike: bool, classifier: BandClassifier, hand_of, n_hands: int,
                 compiled: bool | None = None):
        if compiled is None:
            compiled = jit.COMPILED
        if compiled and not jit.COMPILED:
            raise RuntimeError("the compiled kernel needs numba (pip install numba), "
                               "or MG_KERNEL is set to python")
        self.compiled = bool(compiled)
        self.name = jit.kernel_name() if self.compiled else "python"
        self.converter = converter
        nch = converter.n_channels
        self.n_channels = nch
        self.n_hands = int(n_hands)
        sos = np.asarray(lowpass.sos, np.float64)
        zi_unit = np.asarray(lowpass._zi_unit, np.float64)
        nsec = sos.shape[0]
        ring = max(noise.w, noise.qw)
        hand_of = np.asarray(hand_of, np.int64)
        par = [float(converter.full), noise.step_counts, float(noise.limit)]
        par += sos.reshape(-1).tolist() + zi_unit.reshape(-1).tolist()
        ipar = [nch, self.n_hands, nsec, noise.w, noise.qw, noise.qlimit,
                classifier.dwell_up, classifier.dwell_down, 1 if spike else 0, ring]
        for j in range(nch):
            row = [0.0] * PC
            row[C_FMAX] = float(converter.f_max_n[j])
            row[C_AREA] = float(converter.area_mm2[j])
            row[C_SHORT] = float(converter.short_counts[j])
            row[C_SAT] = float(converter.saturated_counts[j])
            row[C_OPEN] = float(converter.open_counts[j])
            par += row
            ipar += [int(hand_of[j])]
        self._p_ch = len(par) - nch * PC
        st = [0.0] * (nch * (S_ZI + 2 * nsec))
        for j in range(nch):
            st[j * (S_ZI + 2 * nsec) + S_LASTX] = math.nan
        ist = [0] * (J_CH + nch * (J_RING + ring))
        for j in range(nch):
            ist[J_CH + j * (J_RING + ring) + J_SINCE] = _SINCE_START
        self._par = np.array(par, np.float64)
        self._ipar = np.array(ipar, np.int64)
        self._st = np.array(st, np.float64)
        self._ist = np.array(ist, np.int64)
        self._all_counts = np.repeat(np.arange(converter.full + 1, dtype=np.float64)[:, None],
                                     nch, axis=1)
        self.set_tare(np.zeros(nch))
        self.set_edges(classifier.edges_n, classifier.off_n, restart=False)
        if self.compiled:
            self._chain, self._restart = chain_block, restart_bands
            self.warmup_s = self._warm_up()
        else:
            self._chain = getattr(chain_block, "py_func", chain_block)
            self._restart = getattr(restart_bands, "py_func", restart_bands)
            for name in ("_par", "_ipar", "_st", "_ist"):
                setattr(self, name, getattr(self, name).tolist())
            self.warmup_s = 0.0

    def _warm_up(self) -> float:
        """Run both kernels once on throwaway state, with the argument types every later
        call uses (compiled at import; anything left to do happens here, not on a live
        sample); returns the seconds it took."""
        t0 = time.perf_counter()
        nch = self.n_channels
        cnt = np.zeros(2 * nch, np.float64)
        out = np.empty(3 * cnt.size, np.float64)
        outb = np.empty(2 * cnt.size + 2 * self.n_hands, np.int8)
        st, ist = self._st.copy(), self._ist.copy()
        chain_block(cnt, self._par, self._ipar, self._lut, st, ist, out, outb)
        restart_bands(self._par, self._ipar, st, ist)
        return time.perf_counter() - t0

    # --- settings ---------------------------------------------------------------------------
    def set_tare(self, tare_s) -> None:
        """Conductance offsets (siemens, (n_channels,)) subtracted from now on: the force
        table is ForceConverter.force_n of every whole count with this tare (so the kernel's
        forces are the converter's, whatever the curve: nominal, power law or PCHIP)."""
        lut = self.converter.force_n(self._all_counts, np.asarray(tare_s, np.float64))
        lut = np.ascontiguousarray(lut, np.float64).reshape(-1)
        self._lut = lut if self.compiled else lut.tolist()

    def set_edges(self, edges_n, off_n, restart: bool = True) -> None:
        """New band edges and switch-off levels ((n_channels, 3) newtons, checked by
        BandClassifier); restart: the band restarts from the last force (a region change)."""
        e = np.asarray(edges_n, np.float64)
        o = np.asarray(off_n, np.float64)
        for j in range(self.n_channels):
            p = self._p_ch + j * PC
            for k in range(N_EDGES):
                self._par[p + C_EDGE + k] = float(e[j, k])
                self._par[p + C_OFF + k] = float(o[j, k])
        if restart:
            self._restart(self._par, self._ipar, self._st, self._ist)

    # --- processing ---------------------------------------------------------------------------
    def process(self, counts: np.ndarray):
        """(n, n_channels) whole ADC counts -> force_n, filtered_n, pressure_kpa (float64),
        band (int8), hand_band (int8, (n, n_hands)), fault (uint8): new arrays."""
        nch, nh = self.n_channels, self.n_hands
        c = np.ascontiguousarray(counts, dtype=np.float64).reshape(-1)
        if counts.dtype.kind not in "ui" and not np.array_equal(c, np.floor(c)):
            raise ValueError("counts must be whole ADC readings (SampleBlock.counts, uint16)")
        n = c.shape[0] // nch
        nn = n * nch
        if self.compiled:
            out = np.empty(3 * nn, np.float64)
            outb = np.empty(2 * nn + n * nh, np.int8)
            self._chain(c, self._par, self._ipar, self._lut, self._st, self._ist, out, outb)
        else:
            lo = [0.0] * (3 * nn)
            lb = [0] * (2 * nn + n * nh)
            self._chain(c.tolist(), self._par, self._ipar, self._lut, self._st, self._ist, lo, lb)
            out = np.array(lo, np.float64)
            outb = np.array(lb, np.int8)
        return (out[:nn].reshape(n, nch), out[nn:2 * nn].reshape(n, nch),
                out[2 * nn:].reshape(n, nch), outb[:nn].reshape(n, nch),
                outb[2 * nn:].reshape(n, nh), outb[nn:2 * nn].view(np.uint8).reshape(n, nch))
