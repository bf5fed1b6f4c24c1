"""Streaming level normaliser: a received signal at unit power whatever level the ADC saw it at.

The emulated uplink budget (:mod:`groundstation.pass_channel`) scales a *unit-power* input to the
link's Es/N0 over the emulated receiver noise; a real radio delivers the uplink at whatever level
its gains and cable give (−5 … −35 dBFS). This stage measures the received power and divides it out.

Blocks of L samples are aligned to the absolute index (block b = samples [b·L, (b+1)·L)); with
p_b = mean |x|² of block b, the signal-power estimate P follows

    P ← p_b                      if p_b > 2·P        (attack: a carrier appears, or gets stronger)
    P ← P + α·(p_b − P)          if P/4 ≤ p_b ≤ 2·P  (track: α = L/(τ_track·fs), an unbiased mean)
    P ← d·P                      if p_b < P/4        (silence between bursts: slow release, d = exp(−L/(τ_rel·fs)))

and the output is the input delayed by one block, each block scaled by the estimate that includes it:

    y[n] = x[n − L] / sqrt(P_{b(n−L)})

so a burst is at unit power from its first block, and the noise between bursts keeps its level
relative to the last signal. Any chunking gives the same output (the state is the last block, the
fill position and P); a jump in the index restarts the delay line and keeps P.
"""

import math

import numpy as np
from numba import njit

from skycall.dsp._checks import complex_input, output_array, positive_float

ATTACK_RATIO, SILENCE_RATIO = 2.0, 0.25


@njit(cache=True, nogil=True)
def _level_kernel(x, hist, state, alpha, release, out):
    """state float64 [fill, P, gain of the block in hist[L:], unused]; hist complex64 (2L,):
    hist[:L] the block being filled, hist[L:] the previous block (as received)."""
    n_blk = hist.size // 2
    fill, power, gain = int(state[0]), state[1], state[2]
    for i in range(x.size):
        prev = hist[n_blk + fill]
        out[i] = complex(prev.real * gain, prev.imag * gain)
        hist[fill] = x[i]
        fill += 1
        if fill == n_blk:
            acc = 0.0
            for j in range(n_blk):
                acc += hist[j].real * hist[j].real + hist[j].imag * hist[j].imag
            p = acc / n_blk
            if p > ATTACK_RATIO * power:
                power = p
            elif p >= SILENCE_RATIO * power:
                power += alpha * (p - power)
            else:
                power *= release
            gain = 1.0 / math.sqrt(power) if power > 0.0 else 0.0
            for j in range(n_blk):
                hist[n_blk + j] = hist[j]
            fill = 0
    state[0], state[1], state[2] = fill, power, gain


class LevelNormaliser:
    """Bring a complex64 stream to unit power (see the module docstring); latency ``block_s``.

    Parameters
    ----------
    sample_rate_sps : float
    block_s : float
        Block length L/fs (5 ms: 60 symbols at 12 ksym/s).
    track_s, release_s : float
        Time constants τ_track (steady signal) and τ_rel (silence).
    """

    def __init__(self, sample_rate_sps: float, block_s: float = 0.005, track_s: float = 0.2, release_s: float = 10.0):
        self.sample_rate_sps = positive_float("sample_rate_sps", sample_rate_sps)
        self.block = max(1, round(positive_float("block_s", block_s) * self.sample_rate_sps))
        self.alpha = min(1.0, self.block / (positive_float("track_s", track_s) * self.sample_rate_sps))
        self.release = math.exp(-self.block / (positive_float("release_s", release_s) * self.sample_rate_sps))
        self._hist = np.zeros(2 * self.block, np.complex64)
        self._state = np.zeros(4)
        self._next: int | None = None

    @property
    def power(self) -> float:
        """Current signal-power estimate P (input units)."""
        return float(self._state[1])

    def process(self, x, first_index: int, out: np.ndarray | None = None) -> np.ndarray:
        """Normalise ``x`` whose first sample is absolute index ``first_index``."""
        x = complex_input(x)
        out = output_array(out, x.size)
        if first_index != self._next:  # a new stream or a jump: empty delay line, blocks realigned, P kept
            self._hist[:] = 0
            self._state[0], self._state[2] = first_index % self.block, 0.0
        _level_kernel(x, self._hist, self._state, self.alpha, self.release, out)
        self._next = first_index + x.size
        return out

    def reset(self) -> None:
        self._hist[:] = 0
        self._state[:] = 0
        self._next = None

    def copy(self) -> "LevelNormaliser":
        other = LevelNormaliser.__new__(LevelNormaliser)
        other.__dict__.update(self.__dict__)
        other._hist, other._state = self._hist.copy(), self._state.copy()
        return other
