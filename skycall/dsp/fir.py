"""Streaming FIR filter, polyphase interpolator and decimator for complex64 samples.

All three compute y[n] = Σ_k h[k]·x[n-k] over the whole stream; the input history is kept
between calls, so any chunking gives the same output as a single call (bit for bit).

Kernels work on a contiguous buffer ``[history (L-1 samples) | chunk]`` and accumulate with the
tap loop outside and the sample loop inside, so the inner loop is a contiguous multiply-add that
LLVM vectorises; the summation order per output is always k = 0, 1, ..., L-1.
"""

import numpy as np
from numba import njit

from skycall.dsp._checks import DspArgumentError, complex_input, output_array, positive_int, taps_array

_BLOCK = 1024  # outputs per cache block (complex samples)


@njit(cache=True, nogil=True, inline="always")
def _accumulate(taps, buf, out, stride):
    """out[i] = Σ_k taps[k]·buf[i + stride·(L-1-k)], block by block, k ascending.

    Slices keep every index provably non-negative, so LLVM vectorises the inner loop.
    """
    n_taps = taps.size
    n_out = out.size
    blk = stride * _BLOCK
    for b0 in range(0, n_out, blk):
        b1 = min(b0 + blk, n_out)
        dst = out[b0:b1]
        src = buf[b0 + stride * (n_taps - 1) : b1 + stride * (n_taps - 1)]
        t = taps[0]
        for i in range(b1 - b0):
            dst[i] = t * src[i]
        for k in range(1, n_taps):
            src = buf[b0 + stride * (n_taps - 1 - k) : b1 + stride * (n_taps - 1 - k)]
            t = taps[k]
            for i in range(b1 - b0):
                dst[i] += t * src[i]


@njit(cache=True, nogil=True)
def _fir_real_kernel(taps, buf, out):
    """Real taps on interleaved float32 (re, im) views: taps float32 (L,), buf (2(L-1)+2N,), out (2N,)."""
    _accumulate(taps, buf, out, 2)


@njit(cache=True, nogil=True)
def _fir_complex_kernel(taps, buf, out):
    """Complex taps: taps complex64 (L,), buf complex64 (L-1+N,), out complex64 (N,)."""
    _accumulate(taps, buf, out, 1)


@njit(cache=True, nogil=True)
def _polyphase_real_kernel(phases, buf, u_first, up, down, out):
    """Real-tap polyphase resampling on interleaved float32 views.

    Output m sits at up-sampled index u = u_first + m·down: out[m] = Σ_j phases[u % up, j]·x[u // up - j],
    where x[n] is complex sample L_s - 1 + n of ``buf`` ([history (L_s - 1) | chunk]).
    phases: float32 (up, L_s); buf, out: float32 (re, im) views.
    """
    n_sub = phases.shape[1]
    for m in range(out.size // 2):
        u = u_first + m * down
        row = phases[u % up]
        top = np.uint64(2 * (n_sub - 1 + u // up))  # ≥ 0: unsigned indexing
        acc_re = np.float32(0.0)
        acc_im = np.float32(0.0)
        for j in range(n_sub):
            t = row[j]
            pos = top - np.uint64(2 * j)
            acc_re += t * buf[pos]
            acc_im += t * buf[pos + np.uint64(1)]
        out[2 * m] = acc_re
        out[2 * m + 1] = acc_im


@njit(cache=True, nogil=True)
def _polyphase_complex_kernel(phases, buf, u_first, up, down, out):
    """Complex-tap variant of :func:`_polyphase_real_kernel` on complex64 arrays."""
    n_sub = phases.shape[1]
    for m in range(out.size):
        u = u_first + m * down
        row = phases[u % up]
        top = np.uint64(n_sub - 1 + u // up)
        acc = np.complex64(0.0)
        for j in range(n_sub):
            acc += row[j] * buf[top - np.uint64(j)]
        out[m] = acc


def run_polyphase(phases: np.ndarray, buf: np.ndarray, u_first: int, up: int, down: int, out: np.ndarray) -> None:
    """Dispatch polyphase resampling (see :func:`_polyphase_real_kernel`) on real or complex taps."""
    if phases.dtype == np.float32:
        _polyphase_real_kernel(phases, buf.view(np.float32), u_first, up, down, out.view(np.float32))
    else:
        _polyphase_complex_kernel(phases, buf, u_first, up, down, out)


def _run_fir(taps: np.ndarray, buf: np.ndarray, out: np.ndarray) -> None:
    """Dispatch to the real or complex FIR kernel (buf/out complex64, contiguous)."""
    if taps.dtype == np.float32:
        _fir_real_kernel(taps, buf.view(np.float32), out.view(np.float32))
    else:
        _fir_complex_kernel(taps, buf, out)


class _History:
    """A reusable ``[history | chunk]`` buffer holding the last ``n_hist`` input samples."""

    def __init__(self, n_hist: int):
        self.n_hist = n_hist
        self.buf = np.zeros(n_hist + _BLOCK, dtype=np.complex64)

    def load(self, x: np.ndarray) -> np.ndarray:
        """Append chunk ``x`` after the history; return the contiguous view ``[history | x]``."""
        need = self.n_hist + x.size
        if self.buf.size < need:
            grown = np.zeros(need, dtype=np.complex64)
            grown[: self.n_hist] = self.buf[: self.n_hist]
            self.buf = grown
        self.buf[self.n_hist : need] = x
        return self.buf[:need]

    def keep_tail(self, n_loaded: int) -> None:
        """After processing ``n_loaded`` new samples, keep the last ``n_hist`` as history."""
        if self.n_hist:
            end = self.n_hist + n_loaded
            self.buf[: self.n_hist] = self.buf[end - self.n_hist : end]

    def reset(self) -> None:
        self.buf[: self.n_hist] = 0

    def copy(self) -> "_History":
        other = _History.__new__(_History)
        other.n_hist, other.buf = self.n_hist, self.buf.copy()
        return other


class FirFilter:
    """Streaming FIR filter y[n] = Σ_k h[k]·x[n-k] for complex64 input, real or complex taps.

    Parameters
    ----------
    taps : array_like
        Impulse response h, shape (L,); real taps run on float32, complex taps on complex64.

    ``process(x)`` returns complex64 of the same length as ``x``; rate ratio 1:1.
    """

    def __init__(self, taps):
        self.taps = taps_array(taps)
        self._hist = _History(self.taps.size - 1)

    def process(self, x, out: np.ndarray | None = None) -> np.ndarray:
        """Filter ``x``; the result goes to ``out`` (complex64, len(x)) when given."""
        x = complex_input(x)
        out = output_array(out, x.size)
        if x.size:
            _run_fir(self.taps, self._hist.load(x), out)
            self._hist.keep_tail(x.size)
        return out

    def reset(self) -> None:
        """Clear the history (as if freshly constructed)."""
        self._hist.reset()

    def copy(self) -> "FirFilter":
        """An independent filter in the same state."""
        other = FirFilter.__new__(FirFilter)
        other.taps, other._hist = self.taps, self._hist.copy()
        return other


class FirInterpolator:
    """Polyphase interpolator: zero-stuff by ``up`` then filter with ``taps``.

    Equals ``scipy.signal.upfirdn(taps, x, up)[:len(x)·up]`` over the whole stream. Phase p of the
    output (n·up + p) is the sub-filter h[p], h[p+up], ... applied to x. Taps are used as given
    (multiply them by ``up`` for unity passband gain). Output length = len(x)·up.
    """

    def __init__(self, taps, up: int):
        self.taps = taps_array(taps)
        self.up = positive_int("up", up)
        n_sub = -(-self.taps.size // self.up)
        padded = np.zeros(n_sub * self.up, dtype=self.taps.dtype)
        padded[: self.taps.size] = self.taps
        self._phases = np.ascontiguousarray(padded.reshape(n_sub, self.up).T)  # (up, n_sub)
        self._hist = _History(n_sub - 1)
        self._tmp = np.empty((self.up, 0), dtype=np.complex64)

    def process(self, x) -> np.ndarray:
        x = complex_input(x)
        out = np.empty(x.size * self.up, dtype=np.complex64)
        if x.size:
            if self._tmp.shape[1] < x.size:
                self._tmp = np.empty((self.up, x.size), dtype=np.complex64)
            buf = self._hist.load(x)
            for p in range(self.up):
                _run_fir(self._phases[p], buf, self._tmp[p, : x.size])
            out.reshape(x.size, self.up)[:] = self._tmp[:, : x.size].T
            self._hist.keep_tail(x.size)
        return out

    def reset(self) -> None:
        self._hist.reset()

    def copy(self) -> "FirInterpolator":
        other = FirInterpolator.__new__(FirInterpolator)
        other.taps, other.up, other._phases = self.taps, self.up, self._phases
        other._hist, other._tmp = self._hist.copy(), np.empty((self.up, 0), dtype=np.complex64)
        return other


class FirDecimator:
    """Filter with ``taps`` and keep every ``down``-th output: y[m] = Σ_k h[k]·x[m·down - k].

    Equals ``scipy.signal.upfirdn(taps, x, 1, down)`` over the whole stream (outputs at absolute
    input indices 0, down, 2·down, ...). A chunk yields as many outputs as such indices it holds,
    so the output length depends on the chunk's alignment, exactly as one call would produce.
    """

    def __init__(self, taps, down: int):
        self.taps = taps_array(taps)
        self.down = positive_int("down", down)
        self._phases = self.taps.reshape(1, -1)
        self._hist = _History(self.taps.size - 1)
        self._first = 0  # offset in the next chunk of the next kept output

    def process(self, x) -> np.ndarray:
        x = complex_input(x)
        n_out = max(0, -(-(x.size - self._first) // self.down))
        out = np.empty(n_out, dtype=np.complex64)
        if x.size:
            run_polyphase(self._phases, self._hist.load(x), self._first, 1, self.down, out)
            self._hist.keep_tail(x.size)
            self._first = self._first + n_out * self.down - x.size
        return out

    def reset(self) -> None:
        self._hist.reset()
        self._first = 0

    def copy(self) -> "FirDecimator":
        other = FirDecimator.__new__(FirDecimator)
        other.__dict__.update(self.__dict__)
        other._hist = self._hist.copy()
        return other


__all__ = ["DspArgumentError", "FirDecimator", "FirFilter", "FirInterpolator"]
