"""Complex white Gaussian noise keyed to the absolute sample index.

    w[n] ~ CN(0, P):  Re, Im independent N(0, P/2)

Samples of block k = ⌊n/4096⌋ come from their own generator, ``PCG64([key, k])``, with ``key`` drawn
once from the ``rng`` given: ``w`` is a pure function of n, so any chunking, any pacing and a copy
taken mid-stream give the same bits (the air, the pass paths' receiver noise and the co-channel
residual all use it).
"""

import numpy as np

BLOCK = 4096  # samples per independently seeded block


class KeyedNoise:
    """``generate(n, first_index)`` → ``w[first_index : first_index + n]`` (complex64) of power ``power_w``."""

    def __init__(self, power_w: float, rng: np.random.Generator):
        self.power_w = float(power_w)
        self._std = np.float32(np.sqrt(self.power_w / 2.0))
        self._key = int(rng.integers(0, 2**63 - 1))
        self._block = -1  # the block held in ``_w`` (the last one used: calls run forward)
        self._w = np.zeros(BLOCK, np.complex64)

    def generate(self, n: int, first_index: int) -> np.ndarray:
        out = np.empty(n, np.complex64)
        pos = 0
        while pos < n:
            block, off = divmod(first_index + pos, BLOCK)
            if block != self._block:
                gen = np.random.Generator(np.random.PCG64([self._key, block]))
                self._w = (gen.standard_normal(2 * BLOCK, dtype=np.float32) * self._std).view(np.complex64)
                self._block = block
            take = min(n - pos, BLOCK - off)
            out[pos : pos + take] = self._w[off : off + take]
            pos += take
        return out

    def copy(self) -> "KeyedNoise":
        other = KeyedNoise.__new__(KeyedNoise)
        other.__dict__.update(self.__dict__)
        return other  # ``_w`` is replaced, never written in place: sharing it is safe


__all__ = ["BLOCK", "KeyedNoise"]
