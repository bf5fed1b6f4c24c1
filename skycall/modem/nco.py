"""Chirp NCO mixer: y[n] = x[n]·exp(-j·φ[n]) with φ[n+1] = φ[n] + ω[n], ω[n+1] = ω[n] + β.

The receiver sets the frequency ``freq_hz`` (ω = 2π·f/fs) and its rate ``rate_hz_s`` (β = 2π·r/fs²) at
block boundaries; phase and frequency are carried across calls, so the output never jumps. Phase and
frequency are accumulated in float64 cycles; the phasor is evaluated exactly every sample.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _chirp_mix_kernel(x, state, out):
    """state: float64 [phase_cycles, freq_cycles_per_sample, rate_cycles_per_sample²] (updated)."""
    ph = state[0]
    fr = state[1]
    rt = state[2]
    two_pi = 2.0 * np.pi
    for n in range(x.size):
        a = -two_pi * ph
        out[n] = x[n] * np.complex64(complex(np.cos(a), np.sin(a)))
        ph += fr
        fr += rt
        ph -= np.floor(ph)
    state[0] = ph
    state[1] = fr
    state[2] = rt


class ChirpMixer:
    """Streaming down-mixer with frequency ``freq_hz`` and frequency rate ``rate_hz_s`` (1:1, complex64)."""

    def __init__(self, sample_rate_sps: float):
        self.sample_rate_sps = float(sample_rate_sps)
        self._state = np.zeros(3, dtype=np.float64)

    @property
    def freq_hz(self) -> float:
        return float(self._state[1] * self.sample_rate_sps)

    @property
    def rate_hz_s(self) -> float:
        return float(self._state[2] * self.sample_rate_sps**2)

    def set(self, freq_hz: float, rate_hz_s: float) -> None:
        """Change frequency and rate from the next sample on (phase continues)."""
        self._state[1] = freq_hz / self.sample_rate_sps
        self._state[2] = rate_hz_s / self.sample_rate_sps**2

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
