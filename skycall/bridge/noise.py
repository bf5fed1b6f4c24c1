"""Gain and additive white Gaussian noise keyed to the absolute sample index (numba).

    y[n] = g(n)·x[n] + σ·w[n]

* g(n): amplitude, piecewise linear in n through table points (index[k], amp[k]), held outside the table;
* w[n] = T[h(key, n) >> (64 − B)]: a draw from a fixed table T of 2^B (B = ``TABLE_BITS``) complex
  Gaussian values (drawn once from the seeded generator, scaled to mean power exactly 1), at a
  position given by the SplitMix64 finaliser h of (key + n·φ), φ = 0x9E3779B97F4A7C15. SplitMix64 used
  as a counter-based generator passes BigCrush, so w is white, circularly symmetric and has the table's
  Gaussian marginal (a Kolmogorov distance from the Gaussian of order 2^(−B/2)).

Every output sample is a function of (n, x[n]) alone: any chunking, a restart at any index and a copy
give bit-identical output, and no state is carried between calls. Cost: one table gather per sample
(the table fits in L2), ~10× cheaper than drawing normals per message.
"""

import numpy as np
from numba import njit

from skycall.dsp._checks import DspArgumentError, complex_input, index_table, output_array

TABLE_BITS = 16
_SHIFT = np.uint64(64 - TABLE_BITS)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


@njit(cache=True, nogil=True, inline="always")
def _mix(z):
    """SplitMix64 finaliser (a bijection of uint64 with full avalanche)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, nogil=True, boundscheck=False)
def _gain_noise_kernel(index, amp, slope, table, key, sigma, first, x, out):
    """out[i] = g(first + i)·x[i] + sigma·table[h(key, first + i)] (see the module docstring).

    index: int64 (K,) table points; amp: float64 (K,) amplitudes; slope: float64 (K,) d amp/dn on
    [index[k], index[k+1]) (0 for the last point); table: complex64 (2^TABLE_BITS,); key: uint64;
    sigma: float32 (0: no noise); x, out: complex64 (out may be x).
    """
    n_pts = index.size
    n_x = x.size
    k = np.searchsorted(index, first, side="right") - 1
    i = 0
    while i < n_x:
        n = first + i
        while k + 1 < n_pts and index[k + 1] <= n:
            k += 1
        end = min(index[k + 1] - first, n_x) if k + 1 < n_pts else n_x
        kk = max(k, 0)
        a0, r, i0 = amp[kk], (slope[kk] if k >= 0 else 0.0), index[kk] - first
        for j in range(i, end):
            g = np.float32(a0 + r * np.float64(j - i0))
            h = _mix(key + np.uint64(first + j) * _GOLDEN)
            w = table[h >> _SHIFT]
            out[j] = np.complex64(
                complex(g * x[j].real + sigma * w.real, g * x[j].imag + sigma * w.imag)
            )
        i = end


class GainNoise:
    """y[n] = g(n)·x[n] + σ·w[n] on absolute sample indices (see the module docstring).

    Parameters
    ----------
    index : int64 array (K,)
        Strictly increasing absolute sample indices of the gain points.
    gain_db : float64 array (K,)
        Power gain at each point in dB (the amplitude 10^(gain_db/20) is interpolated linearly).
    noise_power : float
        E|σ·w|² per complex sample (0: no noise).
    rng : numpy.random.Generator
        Source of the noise table and key (drawn once here).
    """

    def __init__(self, index, gain_db, noise_power: float, rng: np.random.Generator):
        self.index, gain_db = index_table("GainNoise", index, gain_db)
        if not (np.isfinite(noise_power) and noise_power >= 0.0):
            raise DspArgumentError(f"GainNoise: noise_power must be finite and >= 0, got {noise_power!r}")
        self._amp = 10.0 ** (gain_db / 20.0)
        self._slope = np.zeros_like(self._amp)
        self._slope[:-1] = np.diff(self._amp) / np.diff(self.index).astype(np.float64)
        w = rng.standard_normal((1 << TABLE_BITS, 2))
        w /= np.sqrt(np.mean(np.sum(w * w, axis=1)))
        self._table = np.ascontiguousarray(w).view(np.complex128)[:, 0].astype(np.complex64)
        self._key = np.uint64(rng.integers(0, 2**63, dtype=np.int64))
        self._sigma = np.float32(np.sqrt(noise_power))

    def process(self, x, first_index: int, out: np.ndarray | None = None) -> np.ndarray:
        """Apply to ``x`` whose first sample is absolute index ``first_index`` (out may be x)."""
        x = complex_input(x)
        out = output_array(out, x.size)
        _gain_noise_kernel(self.index, self._amp, self._slope, self._table, self._key, self._sigma,
                           np.int64(first_index), x, out)
        return out
