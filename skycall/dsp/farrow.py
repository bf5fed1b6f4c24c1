"""Time-varying fractional delay: cubic-Lagrange Farrow interpolator.

Output sample n is the input evaluated at t = n - D(n), D(n) = delay(n)·fs in samples, where the
delay is piecewise linear in the absolute sample index n (held before the first and after the last
table point). With m = ⌊t⌋ and μ = t - m ∈ [0, 1), the cubic Lagrange interpolant through
x[m-1], x[m], x[m+1], x[m+2] in Farrow (Horner) form is

    y = ((k3·μ + k2)·μ + k1)·μ + k0
    k0 = x0,  k1 = -x₋₁/3 - x0/2 + x1 - x2/6,  k2 = x₋₁/2 - x0 + x1/2,  k3 = -x₋₁/6 + x0/2 - x1/2 + x2/6.

A delay ramp d'(t) (s/s) shifts a tone at f by -f·d'(t): the Doppler of a changing path length.

Evaluation: m = n - ⌈D⌉ and μ = ⌈D⌉ - D (exact in float64). D is linear on each table segment, so ⌈D⌉
is constant over long runs (a 40 µs/s drift steps it once every 1/(40e-6·fs) samples); within a run
x[m] walks the buffer contiguously and the interpolation is a vectorised loop, at ~1 ns/sample.
"""

from math import ceil

import numpy as np
from numba import njit

from skycall.dsp._checks import DspArgumentError, complex_input, index_table, output_array, positive_float

MIN_DELAY_SAMPLES = 2.0  # x[m+2] must already be known: m + 2 ≤ n


_THIRD, _HALF, _SIXTH = np.float32(1 / 3), np.float32(0.5), np.float32(1 / 6)
_RUN = 1024  # outputs per vectorised run at most (the μ scratch holds 2·_RUN float32)
_FAST = {"cache": True, "nogil": True, "boundscheck": False, "error_model": "numpy"}


@njit(**_FAST, inline="always")
def _ceil_delay(d_0, r, i_0, j):
    """⌈D⌉ at output j of a segment: D = d_0 + r·(j − i_0), the one float64 formula every path uses."""
    return np.ceil(d_0 + r * np.float64(j - i_0))


@njit(**_FAST)
def _run(buf, out, mu, d_0, r, i_0, c, a, b, n_hist):
    """Outputs a ≤ j < b of a segment, all with ⌈D⌉ = c: x0 = x[n − c] walks the buffer contiguously.

    μ = c − D (exact by Sterbenz, equal to the μ of t = n − D above, 0 when D is whole) is stored once
    per (re, im) lane, so the interpolation is a contiguous float32 loop over both lanes that LLVM
    vectorises; the arithmetic per lane is the scalar formula, in the same order.
    """
    n_lanes = 2 * (b - a)
    for t in range(b - a):
        u = np.float32(c - (d_0 + r * np.float64(a + t - i_0)))
        mu[2 * t] = u
        mu[2 * t + 1] = u
    p = 2 * (n_hist + a - np.int64(c))  # float index of x0 of output a; ≥ 2: history covers the delay
    xm1, x0 = buf[p - 2 : p - 2 + n_lanes], buf[p : p + n_lanes]
    x1, x2 = buf[p + 2 : p + 2 + n_lanes], buf[p + 4 : p + 4 + n_lanes]
    y = out[2 * a : 2 * a + n_lanes]
    for q in range(n_lanes):
        k1 = x1[q] - xm1[q] * _THIRD - x0[q] * _HALF - x2[q] * _SIXTH
        k2 = (xm1[q] + x1[q]) * _HALF - x0[q]
        k3 = (x0[q] - x1[q]) * _HALF + (x2[q] - xm1[q]) * _SIXTH
        u = mu[q]
        y[q] = ((k3 * u + k2) * u + k1) * u + x0[q]


@njit(**_FAST)
def _farrow_kernel(index, delay, slope, first, n_hist, buf, mu, out):
    """out[i] = cubic interpolation of the stream at t = (first + i) − D(first + i).

    index: int64 (K,) table points; delay: float64 (K,) D in samples; slope: float64 (K,) dD/dn on
    [index[k], index[k+1]) (0 for the last point). buf: float32 interleaved (re, im) view of the complex64
    [history (n_hist) | chunk], whose sample n_hist is absolute sample ``first``; mu: float32 scratch
    (2·_RUN,); out: float32 view. Each table segment is cut into runs of constant ⌈D⌉ (D is linear, so
    ⌈D⌉ is monotone along the segment: a bisection finds where it steps), each run one :func:`_run`.
    """
    n_pts = index.size
    n_out = out.size // 2
    k = np.searchsorted(index, first, side="right") - 1
    i = 0
    while i < n_out:
        n = first + i
        while k + 1 < n_pts and index[k + 1] <= n:
            k += 1
        seg_end = min(index[k + 1] - first, n_out) if k + 1 < n_pts else n_out
        kk = max(k, 0)
        d_0 = delay[kk]
        r = slope[kk] if k >= 0 else 0.0
        i_0 = index[kk] - first
        while i < seg_end:
            end = min(seg_end, i + _RUN)
            c = _ceil_delay(d_0, r, i_0, i)
            if _ceil_delay(d_0, r, i_0, end - 1) != c:
                lo, hi = i, end - 1  # ⌈D⌉ = c at lo, ≠ c at hi
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if _ceil_delay(d_0, r, i_0, mid) == c:
                        lo = mid
                    else:
                        hi = mid
                end = hi
            _run(buf, out, mu, d_0, r, i_0, c, i, end, n_hist)
            i = end


@njit(**_FAST)
def _farrow_stream(index, delay, slope, first, n_hist, start, x, buf, mu, out):
    """Append chunk x (complex64) to the stream held in ``buf`` and interpolate it into ``out``.

    The last n_hist input samples sit at buf[start − n_hist : start]; x goes after them. When it does
    not fit, the history moves to the front first, so the copy is amortised over several chunks (buf
    holds ≥ 2·n_hist + 2·len(x)) instead of paid per chunk. ``out`` may be ``x``. Returns the new start.
    """
    n = x.size
    if start + n > buf.size:
        for i in range(n_hist):  # the source lies ahead of the destination: a forward copy is safe
            buf[i] = buf[start - n_hist + i]
        start = n_hist
    buf[start : start + n] = x
    view = buf[start - n_hist : start + n].view(np.float32)
    _farrow_kernel(index, delay, slope, first, n_hist, view, mu, out.view(np.float32))
    return start + n


class FarrowDelay:
    """Delay a complex64 stream by a time-varying fractional delay (cubic Lagrange, Farrow form).

    Parameters
    ----------
    sample_rate_sps : float
        Sample rate fs in samples/s.
    index : int64 array, shape (K,)
        Strictly increasing absolute OUTPUT sample indices of the table points.
    delay_s : float64 array, shape (K,)
        Delay at each point in seconds, ≥ 2/fs (the interpolator needs two future samples). Linear
        between points (drift d' = Δdelay/Δt, e.g. ±40 µs/s for LEO), held outside the table.

    The history holds max(delay)·fs + 4 samples, so delays of many ms cost only memory.
    ``process(x, first_index=None)`` returns complex64 of the same length (rate 1:1); before the
    stream start the input is taken as zero. ``first_index`` must equal the next expected index
    (the stream is contiguous); it is accepted to check alignment.
    """

    def __init__(self, sample_rate_sps: float, index, delay_s):
        self.sample_rate_sps = positive_float("sample_rate_sps", sample_rate_sps)
        self.index, self.delay_s = index_table("FarrowDelay", index, delay_s)
        delay = self.delay_s * self.sample_rate_sps
        if np.min(delay) < MIN_DELAY_SAMPLES:
            raise DspArgumentError(
                f"FarrowDelay: every delay must be >= {MIN_DELAY_SAMPLES:g} samples "
                f"({MIN_DELAY_SAMPLES / self.sample_rate_sps:.3g} s at this rate), got {np.min(self.delay_s):.3g} s"
            )
        slope = np.zeros_like(delay)
        slope[:-1] = np.diff(delay) / np.diff(self.index).astype(np.float64)
        if np.any(np.abs(slope) >= 0.5):
            raise DspArgumentError("FarrowDelay: the delay may change by less than 0.5 s per second")
        self._delay, self._slope = delay, slope
        self._n_hist = int(ceil(np.max(delay))) + 4
        self._buf = np.zeros(2 * self._n_hist + 2 * _RUN, dtype=np.complex64)  # grown for larger chunks
        self._start = self._n_hist  # the history is _buf[_start - _n_hist : _start]
        self._mu = np.empty(2 * _RUN, dtype=np.float32)
        self._next_index = 0

    @property
    def sample_index(self) -> int:
        """Absolute index of the next output sample."""
        return self._next_index

    def process(self, x, first_index: int | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """Delay ``x``; the result goes to ``out`` (complex64, len(x); may be ``x``) when given."""
        x = complex_input(x)
        if first_index is not None and int(first_index) != self._next_index:
            raise DspArgumentError(
                f"FarrowDelay: first_index {first_index} does not continue the stream "
                f"(expected {self._next_index}); call reset() before starting a new stream"
            )
        out = output_array(out, x.size)
        if x.size:
            if self._buf.size < self._n_hist + x.size:
                self._grow(x.size)
            self._start = _farrow_stream(self.index, self._delay, self._slope, self._next_index, self._n_hist,
                                         self._start, x, self._buf, self._mu, out)
            self._next_index += x.size
        return out

    def _grow(self, n: int) -> None:
        """Room for chunks of ``n`` samples: the history moves to the front of a larger buffer."""
        grown = np.zeros(2 * self._n_hist + 2 * n, dtype=np.complex64)
        grown[: self._n_hist] = self._buf[self._start - self._n_hist : self._start]
        self._buf, self._start = grown, self._n_hist

    def reset(self) -> None:
        """Zero the history and restart at absolute sample 0."""
        self._buf[: self._n_hist] = 0
        self._start, self._next_index = self._n_hist, 0

    def copy(self) -> "FarrowDelay":
        other = FarrowDelay.__new__(FarrowDelay)
        other.__dict__.update(self.__dict__)
        other._buf, other._mu = self._buf.copy(), np.empty_like(self._mu)
        return other
