"""Streaming rational resampler (polyphase): rate × up/down.

Output m is the up-sampled, filtered stream at up-sampled index u = m·down:

    y[m] = Σ_j h[p + j·up]·x[n - j],   n = ⌊u/up⌋, p = u mod up

which is ``scipy.signal.upfirdn(h, x, up, down)`` computed only where it is kept.
"""

from math import gcd

import numpy as np
from scipy import signal

from skycall.dsp._checks import complex_input, positive_int, taps_array
from skycall.dsp.fir import _History, run_polyphase


def kaiser_lowpass(up: int, down: int) -> np.ndarray:
    """Default anti-alias/anti-image taps (as scipy.signal.resample_poly): cut-off at
    1/max(up, down) of Nyquist, 20·max(up, down)+1 taps, Kaiser β = 5, gain ``up`` (unity passband)."""
    max_rate = max(up, down)
    half_len = 10 * max_rate
    return signal.firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0)) * up


class RationalResampler:
    """Streaming polyphase resampler by ``up/down`` (reduced by their gcd) for complex64 samples.

    Parameters
    ----------
    up, down : int
        Interpolation and decimation factors (≥ 1).
    taps : array_like, optional
        Prototype filter at the up-sampled rate (real or complex); default :func:`kaiser_lowpass`.

    Over the whole stream the output equals ``scipy.signal.upfirdn(taps, x, up, down)`` (the part
    computable from the input so far). Group delay: (len(taps)-1)/2 up-sampled samples
    (``delay_in_samples`` at the input rate).
    """

    def __init__(self, up: int, down: int, taps=None):
        up, down = positive_int("up", up), positive_int("down", down)
        g = gcd(up, down)
        self.up, self.down = up // g, down // g
        self.taps = taps_array(kaiser_lowpass(self.up, self.down) if taps is None else taps)
        n_sub = -(-self.taps.size // self.up)
        padded = np.zeros(n_sub * self.up, dtype=self.taps.dtype)
        padded[: self.taps.size] = self.taps
        self._phases = np.ascontiguousarray(padded.reshape(n_sub, self.up).T)
        self._hist = _History(n_sub - 1)
        self._u_first = 0  # up-sampled index, relative to the next chunk, of the next output

    @property
    def delay_in_samples(self) -> float:
        """Group delay of the (linear-phase) filter, in input samples."""
        return (self.taps.size - 1) / 2 / self.up

    def process(self, x) -> np.ndarray:
        x = complex_input(x)
        n_out = max(0, -(-(x.size * self.up - self._u_first) // self.down))
        out = np.empty(n_out, dtype=np.complex64)
        if x.size:
            run_polyphase(self._phases, self._hist.load(x), self._u_first, self.up, self.down, out)
            self._hist.keep_tail(x.size)
            self._u_first += n_out * self.down - x.size * self.up
        return out

    def reset(self) -> None:
        self._hist.reset()
        self._u_first = 0

    def copy(self) -> "RationalResampler":
        other = RationalResampler.__new__(RationalResampler)
        other.__dict__.update(self.__dict__)
        other._hist = self._hist.copy()
        return other
