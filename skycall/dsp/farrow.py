"""Time-varying fractional delay: cubic-Lagrange Farrow interpolator.

Output sample n is the input evaluated at t = n - D(n), D(n) = delay(n)·fs in samples, where the
delay is piecewise linear in the absolute sample index n (held before the first and after the last
table point). With m = ⌊t⌋ and μ = t - m ∈ [0, 1), the cubic Lagrange interpolant through
x[m-1], x[m], x[m+1], x[m+2] in Farrow (Horner) form is

    y = ((k3·μ + k2)·μ + k1)·μ + k0
    k0 = x0,  k1 = -x₋₁/3 - x0/2 + x1 - x2/6,  k2 = x₋₁/2 - x0 + x1/2,  k3 = -x₋₁/6 + x0/2 - x1/2 + x2/6.

A delay ramp d'(t) (s/s) shifts a tone at f by -f·d'(t): the Doppler of a changing path length.
"""

from math import ceil

import numpy as np
from numba import njit

from skycall.dsp._checks import DspArgumentError, complex_input, index_table, output_array, positive_float
from skycall.dsp.fir import _History

MIN_DELAY_SAMPLES = 2.0  # x[m+2] must already be known: m + 2 ≤ n


_THIRD, _HALF, _SIXTH = np.float32(1 / 3), np.float32(0.5), np.float32(1 / 6)


@njit(cache=True, nogil=True)
def _farrow_kernel(index, delay, slope, first, n_hist, buf, out):
    """out[i] = cubic interpolation of the stream at t = (first + i) - D(first + i).

    index: int64 (K,) table points; delay: float64 (K,) D in samples; slope: float64 (K,) dD/dn on
    [index[k], index[k+1]) (0 for the last point). buf: float32 interleaved (re, im) view of the complex64
    [history (n_hist) | chunk], whose sample n_hist is absolute sample ``first``; out: float32 view.
    """
    n_pts = index.size
    n_out = out.size // 2
    k = np.searchsorted(index, first, side="right") - 1
    i = 0
    while i < n_out:
        n = first + i
        while k + 1 < n_pts and index[k + 1] <= n:
            k += 1
        seg_end = index[k + 1] - first if k + 1 < n_pts else n_out  # the segment holds i < seg_end
        kk = max(k, 0)
        d_0 = delay[kk]
        r = slope[kk] if k >= 0 else 0.0
        i_0 = index[kk] - first
        for j in range(i, min(seg_end, n_out)):
            d = d_0 + r * np.float64(j - i_0)
            d_int = np.int64(np.floor(d))
            mu = d_int + 1.0 - d  # t = (n - d_int - 1) + mu, mu in (0, 1]
            m = n_hist + j - d_int - 1
            if mu >= 1.0:
                mu -= 1.0
                m += 1
            mu32 = np.float32(mu)
            for c in range(2):  # real, imaginary part
                u = np.uint64(2 * m + c)  # m ≥ 1 (history covers the largest delay): unsigned indexing
                xm1, x0 = buf[u - np.uint64(2)], buf[u]
                x1, x2 = buf[u + np.uint64(2)], buf[u + np.uint64(4)]
                k1 = x1 - xm1 * _THIRD - x0 * _HALF - x2 * _SIXTH
                k2 = (xm1 + x1) * _HALF - x0
                k3 = (x0 - x1) * _HALF + (x2 - xm1) * _SIXTH
                out[2 * j + c] = ((k3 * mu32 + k2) * mu32 + k1) * mu32 + x0
        i = min(seg_end, n_out)


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

    The history buffer holds max(delay)·fs + 4 samples, so delays of many ms cost only memory.
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
        self._hist = _History(int(ceil(np.max(delay))) + 4)
        self._next_index = 0

    @property
    def sample_index(self) -> int:
        """Absolute index of the next output sample."""
        return self._next_index

    def process(self, x, first_index: int | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """Delay ``x``; the result goes to ``out`` (complex64, len(x)) when given."""
        x = complex_input(x)
        if first_index is not None and int(first_index) != self._next_index:
            raise DspArgumentError(
                f"FarrowDelay: first_index {first_index} does not continue the stream "
                f"(expected {self._next_index}); call reset() before starting a new stream"
            )
        out = output_array(out, x.size)
        if x.size:
            buf = self._hist.load(x)
            _farrow_kernel(
                self.index, self._delay, self._slope, self._next_index, self._hist.n_hist,
                buf.view(np.float32), out.view(np.float32),
            )  # fmt: skip
            self._hist.keep_tail(x.size)
            self._next_index += x.size
        return out

    def reset(self) -> None:
        """Zero the history and restart at absolute sample 0."""
        self._hist.reset()
        self._next_index = 0

    def copy(self) -> "FarrowDelay":
        other = FarrowDelay.__new__(FarrowDelay)
        other.__dict__.update(self.__dict__)
        other._hist = self._hist.copy()
        return other
