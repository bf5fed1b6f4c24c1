"""Frequency-offset rotators (the FOC kernels): y[n] = x[n]·exp(j·φ(n)).

Both rotators key the phase to the ABSOLUTE sample index, so any chunking gives bit-identical
output and a copy taken mid-stream continues identically: every sample's phasor is a function of
its block alone (blocks are aligned to absolute indices), and every product is formed with the same
fused multiply-adds in vectorised and scalar code (``skycall.dsp._fma``). The kernels work on the
interleaved float32 (re, im) view of complex64, the form LLVM vectorises.

Fixed frequency (``Rotator``): y[b + m] = x[b + m]·(A_b·T_m), A_b = exp(j·φ(b)) from the uint64
phase accumulator and the table T_m = exp(j2π·a·m), m < ``_BLOCK``, a = f/fs, built once in float64
and stored as float32: two complex multiplies per sample.

Trajectory (``TrajectoryRotator``): the frequency is piecewise linear, so on a segment the phase is
quadratic. Blocks of at most ``_LANES``·``_ROWS`` samples are aligned to the segment start; a block
starting at b with frequency a (cycles/sample), chirp q = ḟ/(2·fs²) (cycles/sample²) and phase c
(cycles) has φ(b + m)/2π = c + a·m + q·m². With m = L·i + l (L = ``_LANES``, l < L) and
2·i·l = (i + l)² − i² − l²,

    P[L·i + l] = R_i · E_l · Y_{i+l}
    R_i = exp(j2π(c + a(L−1)·i + q(L² − L)·i²)),  E_l = exp(j2π·q(1 − L)·l²),
    Y_k = exp(j2π(a·k + q·L·k²)),

three short tables (rows + L + rows + L − 1 entries, about 4·√block, not one entry per sample), so
even a trajectory on a 10 ms grid costs little per segment. Each table entry is evaluated directly
from its float64 phase (``skycall.dsp._simd.chirp_cis_x16``: exact reduction to a quadrant, then a
float32 polynomial, |error| < 1.2e-7), so each phasor is a product of three independently rounded
unit phasors: the phase error stays below ~3e-7 rad at any distance from the block start and never
accumulates. Per sample: three complex multiplies, 16 samples per explicit vector (``_simd``: LLVM
lowers it to one AVX-512 register where the CPU has them, which its auto-vectoriser does not use here).
"""

import numpy as np
from numba import njit

from skycall.dsp._checks import DspArgumentError, complex_input, index_table, output_array, positive_float
from skycall.dsp._fma import cmul
from skycall.dsp._simd import chirp_cis_x16, rotate3_x16

_BLOCK = 1024  # Rotator: samples per exactly seeded block
_LANES = 64  # TrajectoryRotator: samples per row (L)
_ROWS = 128  # TrajectoryRotator: rows per block at most (blocks of L·_ROWS = 8192 samples)
_VEC = 16  # samples per explicit vector (``rotate3_x16``, ``chirp_cis_x16``); table lengths are padded to it
_E_LEN = _LANES + _VEC  # E_l for l < L, then E_0..E_15 again (a vector may run into the next row)
_Y_LEN = _ROWS + _LANES + _VEC  # Y needs rows + L − 1 entries, padded; vectors may read 16 beyond
_R0, _E0, _Y0 = 0, 2 * _ROWS, 2 * _ROWS + 2 * _E_LEN  # (re, im) table offsets in the float32 table view
_R1, _E1, _Y1 = _R0 + _ROWS, _E0 + _E_LEN, _Y0 + _Y_LEN
_TABLES_F32 = _Y0 + 2 * _Y_LEN
_TAB = 2  # float64 state offset of the float32 R/E/Y tables (after the block key and segment hint)
_POINTS = _TAB + _TABLES_F32 // 2  # float64 state offset of the trajectory table (4 rows of K points)
_TWO_PI = 2.0 * np.pi
_TWO_POW_64 = 2.0**64
_FAST = {"cache": True, "nogil": True, "boundscheck": False, "error_model": "numpy"}


@njit(cache=True, nogil=True, inline="always")
def _cis(cycles):
    """exp(j·2π·cycles) in complex128 (libm)."""
    return np.complex128(complex(np.cos(_TWO_PI * cycles), np.sin(_TWO_PI * cycles)))


@njit(cache=True, nogil=True, inline="always")
def _rotate_pair(xf, of, k, pr, pi):
    """Sample k (uint64) of the float32 views: out_k = x_k·(pr + j·pi), the one product formula.

    Unsigned indices spare the negative-index wraparound test, so LLVM vectorises the callers' loops.
    """
    j = k + k
    yr, yi = cmul(xf[j], xf[j + np.uint64(1)], pr, pi)
    of[j] = yr
    of[j + np.uint64(1)] = yi


@njit(**_FAST)
def _fixed_kernel(table, coeffs, x, state, out):
    """Fixed-frequency rotation. Phase of absolute sample n: (phase0 + n·inc) / 2^64 cycles (uint64).

    table: float32 (2, _BLOCK) re/im of exp(j2π·a·m); coeffs: uint64 (inc, phase0); state: int64 (1,)
    next absolute index (advanced in place); out: complex64 like x (may be x).
    """
    inc, phase0 = coeffs[0], coeffs[1]
    t_re, t_im = table[0], table[1]
    xf, of = x.view(np.float32), out.view(np.float32)
    n0 = state[0]
    n_x = x.size
    pos = 0
    while pos < n_x:
        absolute = n0 + pos
        blk_abs = absolute - absolute % _BLOCK
        hi = min(blk_abs + _BLOCK - n0, n_x)
        a_b = _cis(np.float64(np.int64(phase0 + np.uint64(blk_abs) * inc)) / _TWO_POW_64)
        ar, ai = np.float32(a_b.real), np.float32(a_b.imag)
        k0, m0 = np.uint64(pos), np.uint64(absolute - blk_abs)
        for m in range(np.uint64(hi - pos)):
            pr, pi = cmul(ar, ai, t_re[m0 + m], t_im[m0 + m])
            _rotate_pair(xf, of, k0 + m, pr, pi)
        pos = hi
    state[0] = n0 + n_x


@njit(**_FAST)
def _chirp_table(c0, alpha, gamma, n, tabs, re_at, im_at):
    """tabs[re_at + k] + j·tabs[im_at + k] = exp(j2π(c0 + α·k + γ·k²)) for k < n rounded up to ``_VEC``."""
    for k in range(0, n, _VEC):
        chirp_cis_x16(tabs, re_at, im_at, k, c0, alpha, gamma)


@njit(**_FAST)
def _segment(index, hint, n):
    """k with index[k] <= n < index[k+1] (−1 before index[0]); tries ``hint`` and hint + 1 first."""
    size = index.size
    for k in (hint, hint + 1):
        if 0 <= k < size and index[k] <= n and (k + 1 == size or n < index[k + 1]):
            return k
    return np.searchsorted(index, n, side="right") - 1


# The vector helpers below are ordinary numba functions that LLVM inlines into the kernel: with numba's
# own inline="always" the kernel's row loop ran 10-40 % slower (measured on the pass benchmark).
@njit(**_FAST)
def _rotate3_vec(xf, of, k, tabs, i, l, split, lo, hi):
    """x[k + j]·(R_i·(E_{l+j}·Y_{i+l+j})) → out[k + j] for lo ≤ j < hi; lanes j ≥ split are lanes
    l + j − L of row i + 1 (``rotate3_x16``: next R, Y from L − 1 entries earlier, E wraps in the table)."""
    y = i + l
    rotate3_x16(xf, of, k, tabs, _E0 + l, _E1 + l, _Y0 + y, _Y1 + y, _R0 + i, _R1 + i, _LANES - 1, split, lo, hi)


@njit(**_FAST)
def _rotate3_at(xf, of, base, tabs, m, lo, hi):
    """Block samples m + j, lo ≤ j < hi (< 16), as one vector, wherever m lies in its row; x index base + m."""
    l = m % _LANES
    _rotate3_vec(xf, of, base + m, tabs, m // _LANES, l, min(_VEC, _LANES - l), lo, hi)


@njit(**_FAST)
def _rotate3_row(xf, of, base, tabs, i, s, split):
    """The 64 block samples from lane s of row i on (s < 8, split = 16 − s: the last s belong to row i + 1)
    as four whole vectors; called with constants for s = 0, so that LLVM drops the next-row selects."""
    ob = base + i * _LANES + s
    for v in range(0, _LANES - _VEC, _VEC):
        _rotate3_vec(xf, of, ob + v, tabs, i, s + v, _VEC, 0, _VEC)
    _rotate3_vec(xf, of, ob + _LANES - _VEC, tabs, i, s + _LANES - _VEC, split, 0, _VEC)


@njit("b1(f8[::1], c8[::1], i8, c8[::1])", **_FAST)
def _trajectory_kernel(state, x, first, out):
    """Rotation by a piecewise-linear frequency table keyed by absolute sample index; False (and
    nothing written) when ``out`` is not as long as ``x``.

    state: float64, state[0] = start of the block whose R, E, Y tables the float32 view of
    state[_TAB:_POINTS] holds (−1: none), state[1] = the table segment of the last block (a hint
    that spares the binary search while streaming), then the trajectory as 4 rows of K points:
    cycles[k] = φ(index[k])/2π mod 1, freq[k]/fs (cycles/sample), rate[k]/fs (cycles/sample² on
    [index[k], index[k+1]); 0 for the last point, whose frequency is held; before index[0] freq[0]
    is held) and index[k] (the absolute sample indices, exact in float64). x[0] is absolute sample
    ``first``; out: complex64 (may be x). The explicit signature makes numba's dispatcher the type
    check of the streaming fast path (anything else: TypeError). The samples go through
    ``rotate3_x16`` in 16-sample vectors placed so that their stores to ``out`` are 64-byte aligned
    (a vector may run from one row into the next; ragged ends are masked vectors): every lane forms
    the same products in the same order, so the bits depend neither on where a chunk ends nor on
    where ``out`` lies in memory.
    """
    if out.size != x.size:
        return False
    n_pts = (state.size - _POINTS) // 4
    cycles, freq = state[_POINTS : _POINTS + n_pts], state[_POINTS + n_pts : _POINTS + 2 * n_pts]
    rate, index = state[_POINTS + 2 * n_pts : _POINTS + 3 * n_pts], state[_POINTS + 3 * n_pts :]
    tabs = state[_TAB:_POINTS].view(np.float32)
    xf, of = x.view(np.float32), out.view(np.float32)
    block = _LANES * _ROWS
    n_x = x.size
    big = np.iinfo(np.int64).max
    addr = out.ctypes.data
    lead = -(addr // 8) % 8 if addr % 8 == 0 else 0  # x index of the first 64-byte aligned sample of out
    pos = 0
    while pos < n_x:
        absolute = first + pos
        k = _segment(index, np.int64(state[1]), np.float64(absolute))
        state[1] = k
        if k < 0:  # before the first point: freq[0] held, blocks aligned to absolute 0
            kk, seg_lo, seg_hi, origin = 0, -big, np.int64(index[0]), 0
        else:
            kk, seg_lo = k, np.int64(index[k])
            seg_hi = np.int64(index[k + 1]) if k + 1 < n_pts else big
            origin = seg_lo
        aligned = origin + (absolute - origin) // block * block
        blk_abs = max(aligned, seg_lo)
        blk_len = min(aligned + block, seg_hi) - blk_abs
        n_rows = (blk_len + _LANES - 1) // _LANES
        if state[0] != blk_abs:
            u = np.float64(blk_abs) - index[kk]
            q = 0.5 * rate[kk] if k >= 0 else 0.0
            a = freq[kk] + 2.0 * q * u
            c = cycles[kk] + freq[kk] * u + q * u * u
            c -= np.floor(c)
            _chirp_table(c, a * (_LANES - 1), q * (_LANES * _LANES - _LANES), n_rows, tabs, _R0, _R1)
            _chirp_table(0.0, 0.0, q * (1 - _LANES), _LANES, tabs, _E0, _E1)
            for at in (_E0, _E1):  # E_L..E_{L+15} = E_0..E_15: the lanes of a vector that ran into the next row
                for j in range(_VEC):  # (an element loop: numba's slice assignment costs ~10× as much here)
                    tabs[at + _LANES + j] = tabs[at + j]
            _chirp_table(0.0, a, q * _LANES, n_rows + _LANES - 1, tabs, _Y0, _Y1)
            state[0] = blk_abs
        m0 = absolute - blk_abs  # block samples before x[pos]
        m1 = min(blk_len, n_x - (blk_abs - first))  # block samples up to the end of x
        base = blk_abs - first  # x index of the block start (may be negative)
        s = (lead - base) % 8  # vectors start at block samples m ≡ s (mod 16): their stores are aligned
        m = m0 + (s - m0) % _VEC
        if m > m0:  # ragged head
            _rotate3_at(xf, of, base, tabs, m0, 0, min(m, m1) - m0)
        while m + _VEC <= m1 and (m - s) % _LANES:
            _rotate3_at(xf, of, base, tabs, m, 0, _VEC)
            m += _VEC
        if s == 0:  # whole rows (nearly all samples); out aligned like the rows: no vector leaves its row
            for i in range(m // _LANES, m1 // _LANES):
                _rotate3_row(xf, of, base, tabs, i, 0, _VEC)
        else:
            for i in range(m // _LANES, (m1 - s) // _LANES):
                _rotate3_row(xf, of, base, tabs, i, s, _VEC - s)
        m = max(m, (m1 - s) // _LANES * _LANES + s)
        while m + _VEC <= m1:
            _rotate3_at(xf, of, base, tabs, m, 0, _VEC)
            m += _VEC
        if m < m1:  # ragged tail
            _rotate3_at(xf, of, base, tabs, m, 0, m1 - m)
        pos = blk_abs - first + m1
    return True


def _freq_to_inc(freq_hz: float, sample_rate_sps: float) -> np.uint64:
    """Per-sample phase increment as an unsigned 64-bit fraction of a cycle (two's complement)."""
    return np.uint64(int(round(freq_hz / sample_rate_sps * _TWO_POW_64)) % (1 << 64))


class Rotator:
    """Fixed-frequency rotator y[n] = x[n]·exp(j(φ0 + 2π·f·n/fs)), n counted from the first sample.

    Parameters
    ----------
    freq_hz : float
        Frequency shift in Hz, |f| ≤ fs/2.
    sample_rate_sps : float
        Sample rate fs in samples/s.
    phase_rad : float
        Phase φ0 of the first sample, in radians.

    The phase is a 64-bit fixed-point accumulator (frequency resolution fs/2^64), exact for any
    stream length. ``process(x)`` returns complex64 of the same length; rate ratio 1:1.
    """

    def __init__(self, freq_hz: float, sample_rate_sps: float, phase_rad: float = 0.0):
        self.sample_rate_sps = positive_float("sample_rate_sps", sample_rate_sps)
        self.freq_hz = float(freq_hz)
        if not np.isfinite(self.freq_hz) or abs(self.freq_hz) > self.sample_rate_sps / 2:
            raise DspArgumentError(
                f"freq_hz must be finite and within ±sample_rate_sps/2 = ±{self.sample_rate_sps / 2:g} Hz, "
                f"got {freq_hz!r}"
            )
        self.phase_rad = float(phase_rad)
        self._inc = _freq_to_inc(self.freq_hz, self.sample_rate_sps)
        self._phase0 = np.uint64(int(round(self.phase_rad / _TWO_PI * _TWO_POW_64)) % (1 << 64))
        a = float(np.int64(self._inc)) / _TWO_POW_64
        table = np.exp(1j * _TWO_PI * a * np.arange(_BLOCK))
        self._table = np.array([table.real, table.imag], dtype=np.float32)
        self._coeffs = np.array([self._inc, self._phase0], dtype=np.uint64)
        self._state = np.zeros(1, dtype=np.int64)

    @property
    def sample_index(self) -> int:
        """Index (from the first sample) of the next sample to be processed."""
        return int(self._state[0])

    def process(self, x, out: np.ndarray | None = None) -> np.ndarray:
        """Rotate ``x``; the result goes to ``out`` (complex64, len(x)) when given, which may be ``x``."""
        x = complex_input(x)
        out = output_array(out, x.size)
        _fixed_kernel(self._table, self._coeffs, x, self._state, out)
        return out

    def reset(self) -> None:
        """Restart at sample 0 with the initial phase."""
        self._state[0] = 0

    def copy(self) -> "Rotator":
        other = Rotator.__new__(Rotator)
        other.__dict__.update(self.__dict__)
        other._state = self._state.copy()
        return other


class TrajectoryRotator:
    """Rotator following a frequency trajectory keyed by absolute sample index.

    y[n] = x[n]·exp(j·sign·2π·∫₀ⁿ f(t)/fs dt + j·phase_rad), where f is piecewise linear in the
    (continuous) sample index t through the points (index[k], freq_hz[k]) and held constant before
    the first and after the last point. On a segment with slope r (Hz/sample) the phase is
    quadratic: cycles(n) = C_k + (f_k·u + r·u²/2)/fs, u = n − index[k]; C_k is accumulated in
    float64 once at construction, so the phase never jumps or drifts.

    Parameters
    ----------
    sample_rate_sps : float
        Sample rate fs in samples/s.
    index : int64 array, shape (K,)
        Strictly increasing absolute sample indices of the table points.
    freq_hz : float64 array, shape (K,)
        Frequency at each point, in Hz (|f| ≤ fs/2).
    sign : {+1, -1}
        +1 applies the trajectory (channel Doppler), -1 removes it (pre-/post-compensation).
    phase_rad : float
        Phase at absolute sample 0, in radians.
    """

    def __init__(self, sample_rate_sps: float, index, freq_hz, sign: int = 1, phase_rad: float = 0.0):
        self.sample_rate_sps = positive_float("sample_rate_sps", sample_rate_sps)
        self.index, self.freq_hz = index_table("TrajectoryRotator", index, freq_hz)
        if np.any(np.abs(self.freq_hz) > self.sample_rate_sps / 2):
            raise DspArgumentError(
                f"TrajectoryRotator: |freq_hz| must not exceed sample_rate_sps/2 = {self.sample_rate_sps / 2:g} Hz"
            )
        if sign not in (1, -1):
            raise DspArgumentError(f"sign must be +1 or -1, got {sign!r}")
        self.sign, self.phase_rad = int(sign), float(phase_rad)
        freq = self.sign * self.freq_hz
        rate = np.zeros_like(freq)
        rate[:-1] = np.diff(freq) / np.diff(self.index).astype(np.float64)
        span = np.diff(self.index).astype(np.float64)
        seg_cycles = (freq[:-1] * span + 0.5 * rate[:-1] * span * span) / self.sample_rate_sps
        cycles = np.zeros_like(freq)
        for k, inc in enumerate(seg_cycles):  # K table points, once
            cycles[k + 1] = np.fmod(cycles[k] + inc, 1.0)
        self._freq, self._rate = freq, rate
        # shift so that the phase at absolute sample 0 is phase_rad
        self._cycles = cycles
        self._cycles = np.fmod(cycles - self._cycles_at(0) + self.phase_rad / _TWO_PI, 1.0)
        self._next_index = 0
        points = [self._cycles, freq / self.sample_rate_sps, rate / self.sample_rate_sps, self.index.astype(np.float64)]
        # the kernel's whole state in one array (one argument less to dispatch per call): block key
        # (−1: no tables yet), segment hint, the block tables, the trajectory points
        self._state = np.concatenate([[-1.0, 0.0], np.zeros(_POINTS - _TAB), *points])

    def _cycles_at(self, n: int) -> float:
        """Phase in cycles at absolute sample n (float64; used for the reference point)."""
        k = int(np.searchsorted(self.index, n, side="right")) - 1
        kk, r = max(k, 0), (self._rate[k] if k >= 0 else 0.0)
        u = float(n - self.index[kk])
        return self._cycles[kk] + (self._freq[kk] * u + 0.5 * r * u * u) / self.sample_rate_sps

    @property
    def sample_index(self) -> int:
        """Absolute index of the next sample when ``first_index`` is not given."""
        return self._next_index

    def process(self, x, first_index: int | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """Rotate ``x``; ``x[0]`` is absolute sample ``first_index`` (default: continue the stream).

        The result goes to ``out`` (complex64, len(x)) when given, which may be ``x`` itself.
        """
        first = self._next_index if first_index is None else int(first_index)
        if first < 0:
            raise DspArgumentError(f"first_index must be >= 0, got {first_index!r}")
        if out is None:
            x = complex_input(x)
            out = output_array(out, x.size)
        try:  # contiguous complex64 x and out: the kernel's compiled signature is the whole check
            done = _trajectory_kernel(self._state, x, first, out)
        except TypeError:  # anything else (lists, other dtypes or strides): converted and checked
            x = complex_input(x)
            out = output_array(out, x.size)
            done = _trajectory_kernel(self._state, x, first, out)
        if not done:  # out has the wrong length: output_array raises the one message for that
            output_array(out, x.size)
        self._next_index = first + x.size
        return out

    def reset(self) -> None:
        """Continue from absolute sample 0 on the next call without ``first_index``."""
        self._next_index = 0

    def copy(self) -> "TrajectoryRotator":
        other = TrajectoryRotator.__new__(TrajectoryRotator)
        other.__dict__.update(self.__dict__)
        other._state = self._state.copy()
        return other
