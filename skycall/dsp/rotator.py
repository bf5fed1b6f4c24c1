"""Frequency-offset rotators (the FOC kernels): y[n] = x[n]·exp(j·φ(n)).

Both rotators key the phase to the ABSOLUTE sample index, so any chunking gives bit-identical
output and a copy taken mid-stream continues identically. Samples are processed in blocks aligned
to absolute indices (multiples of ``_BLOCK`` or ``_CHIRP_BLOCK``, plus segment boundaries for
trajectories) whose start phase is computed exactly; rounding never accumulates beyond a block.

Fixed frequency (``Rotator``): y[b + m] = x[b + m]·(A_b·T_m), A_b = exp(j·φ(b)) from the uint64
phase accumulator and the table T_m = exp(j2π·a·m), m < ``_BLOCK``, a = f/fs, built once in float64
and stored as float32 re/im: the kernel works on interleaved float32 (re, im) pairs, the form LLVM
vectorises (complex64 arithmetic on complex arrays does not).

Trajectory (``TrajectoryRotator``): inside a block starting at b the phase is quadratic,
cycles(b + m) = c_b + a·m + q·m² (a = f/fs, q = f'/(2·fs²)), so with L = ``_LANES``

    P_m = exp(j2π·cycles(b + m)),   P_{m+L} = P_m·W_m,   W_m = exp(j2π(L·a + L²·q))·T_m,
    T_m = exp(j2π·2L·q·m)  (float32 table, rebuilt only when the segment changes).

The first L phasors are seeded from float64 (exact c_b); the recursion then runs L-strided in
float32 (vectorisable: dependence distance L) over at most ``_CHIRP_BLOCK``/L steps, so rounding never
accumulates beyond one block: no amplitude or phase drift.
"""

import numpy as np
from numba import njit

from skycall.dsp._checks import DspArgumentError, complex_input, index_table, output_array, positive_float

_BLOCK = 1024  # Rotator: samples per exactly seeded block
_LANES = 32  # TrajectoryRotator recursion stride: P[m + L] = P[m]·W[m]
_CHIRP_BLOCK = 2048  # TrajectoryRotator: samples per exactly seeded block (64 recursion steps)
_TWO_PI = 2.0 * np.pi
_TWO_POW_64 = 2.0**64
_FAST = {"cache": True, "nogil": True, "boundscheck": False, "error_model": "numpy"}


@njit(cache=True, nogil=True, inline="always")
def _cis(cycles):
    """exp(j·2π·cycles) in complex128."""
    return np.complex128(complex(np.cos(_TWO_PI * cycles), np.sin(_TWO_PI * cycles)))


@njit(cache=True, nogil=True, inline="always")
def _rotate_pair(xf, of, k, pr, pi):
    """Sample k (uint64) of the float32 views: out_k = x_k·(pr + j·pi), the one product formula.

    Unsigned indices spare the negative-index wraparound test, so LLVM vectorises the callers' loops.
    """
    j = k + k
    xr = xf[j]
    xi = xf[j + np.uint64(1)]
    of[j] = xr * pr - xi * pi
    of[j + np.uint64(1)] = xr * pi + xi * pr


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
            tr, ti = t_re[m0 + m], t_im[m0 + m]
            _rotate_pair(xf, of, k0 + m, ar * tr - ai * ti, ar * ti + ai * tr)
        pos = hi
    state[0] = n0 + n_x


@njit(**_FAST)
def _trajectory_kernel(index, table, x, first, scratch, chirp_key, out):
    """Rotation by a piecewise-linear frequency table keyed by absolute sample index.

    index: int64 (K,) table points; table: float64 (3, K) rows cycles[k] = φ(index[k])/2π mod 1,
    freq[k]/fs (cycles/sample) and rate[k]/fs (cycles/sample² on [index[k], index[k+1]), 0 for the
    last point, whose frequency is held; before index[0] freq[0] is held). x[0] is absolute sample
    ``first``. scratch: float32 (4, _CHIRP_BLOCK) re/im rows of the block phasors P and of the segment's
    chirp table T; chirp_key: int64 (1,) segment whose T is in scratch (-2: none yet).
    """
    cycles, freq, rate = table[0], table[1], table[2]
    p_re, p_im, t_re, t_im = scratch[0], scratch[1], scratch[2], scratch[3]
    xf, of = x.view(np.float32), out.view(np.float32)
    n_pts = index.size
    n_x = x.size
    big = np.iinfo(np.int64).max
    pos = 0
    while pos < n_x:
        absolute = first + pos
        k = np.searchsorted(index, absolute, side="right") - 1
        if k < 0:
            seg_lo, seg_hi, kk = -big, index[0], 0
        else:
            seg_lo, kk = index[k], k
            seg_hi = index[k + 1] if k + 1 < n_pts else big
        blk_abs = max(absolute - absolute % _CHIRP_BLOCK, seg_lo)
        blk_end = min(absolute - absolute % _CHIRP_BLOCK + _CHIRP_BLOCK, seg_hi)
        hi = min(blk_end - first, n_x)
        u = np.float64(blk_abs - index[kk])
        r = rate[kk] if k >= 0 else 0.0
        a = freq[kk] + r * u  # cycles per sample at the block start
        q = 0.5 * r  # cycles per sample²
        c_b = cycles[kk] + freq[kk] * u + 0.5 * r * u * u
        c_b -= np.floor(c_b)
        if chirp_key[0] != k:  # T_m = exp(j2π·2L·q·m): once per segment
            for m in range(_CHIRP_BLOCK):
                t_m = _cis(2.0 * _LANES * q * m)
                t_re[m], t_im[m] = t_m.real, t_m.imag
            chirp_key[0] = k
        n = hi - (blk_abs - first)  # block samples needed; those before pos are replayed
        p_i = _cis(c_b)  # P_i = exp(j2π(c_b + a·i + q·i²)) for the first L samples
        lane_step = _cis(a + q)
        lane_chirp = _cis(2.0 * q)
        for i in range(min(n, _LANES)):
            p_re[i], p_im[i] = p_i.real, p_i.imag
            p_i *= lane_step
            lane_step *= lane_chirp
        w_0 = _cis(_LANES * a + _LANES * _LANES * q)
        w_re, w_im = np.float32(w_0.real), np.float32(w_0.imag)
        lanes = np.uint64(_LANES)
        for m in range(np.uint64(max(n - _LANES, 0))):  # P_{m+L} = P_m·w_0·T_m
            wr = w_re * t_re[m] - w_im * t_im[m]
            wi = w_re * t_im[m] + w_im * t_re[m]
            pr, pi = p_re[m], p_im[m]
            p_re[m + lanes] = pr * wr - pi * wi
            p_im[m + lanes] = pr * wi + pi * wr
        k0, m0 = np.uint64(pos), np.uint64(absolute - blk_abs)
        for m in range(np.uint64(hi - pos)):
            _rotate_pair(xf, of, k0 + m, p_re[m0 + m], p_im[m0 + m])
        pos = hi


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
        self._table = np.array([self._cycles, freq / self.sample_rate_sps, rate / self.sample_rate_sps])
        self._scratch = np.empty((4, _CHIRP_BLOCK), dtype=np.float32)
        self._chirp_key = np.full(1, -2, dtype=np.int64)

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
        x = complex_input(x)
        first = self._next_index if first_index is None else int(first_index)
        if first < 0:
            raise DspArgumentError(f"first_index must be >= 0, got {first_index!r}")
        out = output_array(out, x.size)
        _trajectory_kernel(self.index, self._table, x, first, self._scratch, self._chirp_key, out)
        self._next_index = first + x.size
        return out

    def reset(self) -> None:
        """Continue from absolute sample 0 on the next call without ``first_index``."""
        self._next_index = 0

    def copy(self) -> "TrajectoryRotator":
        other = TrajectoryRotator.__new__(TrajectoryRotator)
        other.__dict__.update(self.__dict__)
        other._scratch = np.empty_like(self._scratch)
        other._chirp_key = np.full(1, -2, dtype=np.int64)
        return other
