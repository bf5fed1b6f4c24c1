"""Chirp NCO mixer: y[n] = x[n]·exp(-j2π·φ[n]) with φ[n+1] = φ[n] + f[n], f[n+1] = f[n] + r (cycles).

The receiver sets the frequency ``freq_hz`` (f = freq_hz/fs cycles/sample) and its rate ``rate_hz_s``
(r = rate_hz_s/fs² cycles/sample²) between calls; phase and frequency carry across calls, so the output
never jumps. φ and f are accumulated in float64 every sample. The phasor is a recursion instead of
cos/sin per sample: p[n+1] = p[n]·w[n], w[n+1] = w[n]·e^{-j2π·r} with p = e^{-j2πφ}, w = e^{-j2πf}
(float64), re-anchored exactly from φ and f at every absolute sample index multiple of ``ANCHOR`` and
after each :meth:`ChirpMixer.set` — so the rounding drift stays below ~1e-14 and the output depends only
on the absolute sample index, never on how the stream is chunked.
"""

import numpy as np
from numba import njit

ANCHOR = 64  # samples between exact re-evaluations of the phasor
_PH, _FR, _RT, _COUNT, _PRE, _PIM, _WRE, _WIM, _VALID = range(9)
STATE_SIZE = 9


@njit(cache=True, nogil=True)
def _chirp_mix_kernel(x, state, out):
    """state: float64 (STATE_SIZE,) [phase, freq, rate (cycles), absolute count, phasor re/im,
    increment re/im, valid flag], updated in place."""
    ph = state[_PH]
    fr = state[_FR]
    rt = state[_RT]
    count = np.int64(state[_COUNT])
    pre = state[_PRE]
    pim = state[_PIM]
    wre = state[_WRE]
    wim = state[_WIM]
    valid = state[_VALID] > 0.5
    two_pi = 2.0 * np.pi
    cre = np.cos(two_pi * rt)
    cim = -np.sin(two_pi * rt)
    for n in range(x.size):
        if not valid or count % ANCHOR == 0:
            ph -= np.floor(ph)
            pre = np.cos(two_pi * ph)
            pim = -np.sin(two_pi * ph)
            wre = np.cos(two_pi * fr)
            wim = -np.sin(two_pi * fr)
            valid = True
        xr = x[n].real
        xi = x[n].imag
        out[n] = complex(xr * pre - xi * pim, xr * pim + xi * pre)
        t = pre * wre - pim * wim
        pim = pre * wim + pim * wre
        pre = t
        t = wre * cre - wim * cim
        wim = wre * cim + wim * cre
        wre = t
        ph += fr
        fr += rt
        count += 1
    state[_PH] = ph  # wrapped only at anchors: the rounding must not depend on call boundaries
    state[_FR] = fr
    state[_RT] = rt
    state[_COUNT] = count
    state[_PRE] = pre
    state[_PIM] = pim
    state[_WRE] = wre
    state[_WIM] = wim
    state[_VALID] = 1.0 if valid else 0.0


class ChirpMixer:
    """Streaming down-mixer with frequency ``freq_hz`` and frequency rate ``rate_hz_s`` (1:1, complex64)."""

    def __init__(self, sample_rate_sps: float):
        self.sample_rate_sps = float(sample_rate_sps)
        self._state = np.zeros(STATE_SIZE, dtype=np.float64)

    @property
    def freq_hz(self) -> float:
        return float(self._state[_FR] * self.sample_rate_sps)

    @property
    def rate_hz_s(self) -> float:
        return float(self._state[_RT] * self.sample_rate_sps**2)

    def set(self, freq_hz: float, rate_hz_s: float) -> None:
        """Change frequency and rate from the next sample on (phase continues)."""
        self._state[_FR] = freq_hz / self.sample_rate_sps
        self._state[_RT] = rate_hz_s / self.sample_rate_sps**2
        self._state[_VALID] = 0.0

    def process(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(x.size, dtype=np.complex64)
        _chirp_mix_kernel(np.ascontiguousarray(x, dtype=np.complex64), self._state, out)
        return out

    def reset(self) -> None:
        self._state[:] = 0.0

    def copy(self) -> "ChirpMixer":
        other = ChirpMixer(self.sample_rate_sps)
        other._state[:] = self._state
        return other
