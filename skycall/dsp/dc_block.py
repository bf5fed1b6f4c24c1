"""Streaming DC blocker: a first-order high-pass that removes a zero-IF receiver's DC and LO leakage.

    y[n] = g·(x[n] − x[n−1]) + a·y[n−1],   H(z) = g·(1 − z⁻¹)/(1 − a·z⁻¹),
    a = exp(−2π·f_c/fs),   g = (1 + a)/2

A zero at DC (infinite rejection of a constant), a pole just inside it, unit gain at fs/2: the
−3 dB corner is ≈ f_c for f_c ≪ fs, and at f ≫ f_c the gain is 1 within ≈ (f_c/f)²/2 (1·10⁻⁵ at
fs/4 = 240 kHz for a 1 kHz corner). A DC step settles with time constant 1/(2π·f_c). The recursion
runs in float64 (state ``(x[n−1], y[n−1])``), so any chunking gives the same output, bit for bit.
"""

import math

import numpy as np
from numba import njit

from skycall.dsp._checks import DspArgumentError, complex_input, output_array, positive_float


@njit(cache=True, nogil=True)
def _dc_block_kernel(x, a, g, state, out):
    """out[n] = g·(x[n] − x[n−1]) + a·out[n−1]; state complex128 [x[−1], y[−1]] updated in place."""
    xp, yp = state[0], state[1]
    for n in range(x.size):
        xn = complex(x[n].real, x[n].imag)
        yp = g * (xn - xp) + a * yp
        xp = xn
        out[n] = yp
    state[0], state[1] = xp, yp


class DcBlocker:
    """Remove DC from a complex64 stream (see the module docstring).

    Parameters
    ----------
    corner_hz : float
        −3 dB corner f_c, 0 < f_c < fs/4.
    sample_rate_sps : float
        Sample rate fs.
    """

    def __init__(self, corner_hz: float, sample_rate_sps: float):
        self.sample_rate_sps = positive_float("sample_rate_sps", sample_rate_sps)
        self.corner_hz = positive_float("corner_hz", corner_hz)
        if self.corner_hz >= self.sample_rate_sps / 4:
            raise DspArgumentError(f"corner_hz must be below sample_rate_sps/4, got {corner_hz!r}")
        self.a = math.exp(-2.0 * math.pi * self.corner_hz / self.sample_rate_sps)
        self.g = (1.0 + self.a) / 2.0
        self._state = np.zeros(2, np.complex128)

    def process(self, x, out: np.ndarray | None = None) -> np.ndarray:
        """Filter ``x``; the result goes to ``out`` (complex64, len(x)) when given, which may be ``x``."""
        x = complex_input(x)
        out = output_array(out, x.size)
        _dc_block_kernel(x, self.a, self.g, self._state, out)
        return out

    def reset(self) -> None:
        """Forget the history (as freshly constructed: the previous input and output were 0)."""
        self._state[:] = 0

    def copy(self) -> "DcBlocker":
        other = DcBlocker.__new__(DcBlocker)
        other.__dict__.update(self.__dict__)
        other._state = self._state.copy()
        return other
