"""Flat fading of the handset's channel, keyed to the absolute sample index (Rician / Rayleigh, Clarke).

At 16 kHz the NTN channel's delay spread (TR 38.811 NTN-TDL: tens to hundreds of ns) is far below a
symbol (83 µs): it is one complex gain per sample,

    h[n] = √(K/(K+1)) · e^{j φ(n)} + √(1/(K+1)) · g[n]

* the direct path: phase ``φ(n) = φ0 + 2π Σ f_LOS / fs`` with the handset's own motion Doppler along
  the line of sight, ``f_LOS = f_D cos ε cos(az − heading)`` (``f_D = v f / c``), by a
  :class:`~skycall.dsp.rotator.TrajectoryRotator`; K from a table (TR 38.811 μ_K by elevation,
  :mod:`skycall.channel.tr38811`, or fixed; K = 0 is Rayleigh);
* the scattered paths: ``g`` zero-mean, unit-power complex Gaussian with Clarke's (Jakes') spectrum
  ``S(f) = 1 / (π f_D √(1 − (f/f_D)²))``, ``|f| < f_D``, i.e. autocorrelation ``J0(2π f_D τ)``.
  White Gaussian ``w[j]`` on a coarse grid ``j·D`` (``fs/D ≥ 32 f_D``) is filtered by the filter
  whose power response is Clarke's spectrum: ``∫(1 − f²)^(−1/4) e^{j2πft} df ∝ J_{1/4}(2πt)/t^{1/4}``,
  so ``h_J[m] ∝ J_{1/4}(2π f_D |t_m|) / |t_m|^{1/4}`` (Hann window over ±64/f_D, Σh² = 1), then
  ``g`` is interpolated linearly between grid points. ``w`` for grid block ``b = ⌊j/4096⌋`` comes
  from its own generator seeded with (key, b), and the filter output of each block of 4096 grid
  points is computed whole (FFT convolution): ``h[n]`` is a pure function of n — any chunking and
  any copy give the same bits. ``f_D = 0`` (handset at rest): ``g`` is one constant draw.

An optional :class:`~skycall.channel.shadowing.ShadowingStates` blocks the direct path in its bad
state — the direct path's share of the power, ``K/(K+1)``, is scaled by the LOS visibility ``v(n)``
(1 good, 0 bad, ramps between), the scattered paths take the rest — and scales h by its loss
``10^(−L(n)/20)``.
Checked against theory in tests/unit/channel/test_fading.py: Rayleigh and Rician envelope CDFs and
moments, the level-crossing rate ``N_R = √(2π) f_D ρ e^{−ρ²}``, the autocorrelation ``J0``, and
uncoded QPSK BER in Rayleigh fading.
"""

import numpy as np
from numba import njit
from scipy.signal import fftconvolve
from scipy.special import gamma, jv

from skycall.dsp.rotator import TrajectoryRotator
from skycall.errors import ConfigError

SPEED_OF_LIGHT_M_S = 299_792_458.0
GRID_PER_DOPPLER = 32  # grid rate ≥ this × f_D
SPAN_DOPPLER_PERIODS = 64  # the Clarke filter covers ±this / f_D (ACF within 0.04 of J0 up to 1/f_D)
_BLOCK = 4096  # grid points per independently seeded noise block and per filtered block


def doppler_spread_hz(speed_m_s: float, freq_hz: float) -> float:
    """Maximum Doppler shift of the scattered paths, ``f_D = v f / c``."""
    return float(speed_m_s) * float(freq_hz) / SPEED_OF_LIGHT_M_S


def clarke_taps(doppler_hz: float, grid_rate_hz: float) -> np.ndarray:
    """Symmetric FIR (2L+1,) whose power response is Clarke's spectrum at ``doppler_hz`` (module docstring)."""
    half = int(np.ceil(SPAN_DOPPLER_PERIODS * grid_rate_hz / doppler_hz))
    t = np.arange(-half, half + 1) / grid_rate_hz
    x = 2.0 * np.pi * doppler_hz * np.abs(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(x > 0, jv(0.25, x) / np.maximum(x, 1e-300) ** 0.25, 0.5**0.25 / gamma(1.25))  # limit x → 0
    h *= 0.5 * (1.0 + np.cos(np.pi * t * grid_rate_hz / (half + 1)))  # Hann
    return h / np.sqrt(np.sum(h * h))


@njit(cache=True, nogil=True)
def _interp_grid(grid, step, offset, out):
    """out[m] = grid[q] + (r/step)(grid[q+1] − grid[q]), (q, r) = divmod(offset + m, step)."""
    for m in range(out.size):
        q, r = divmod(offset + m, step)
        out[m] = grid[q] + (r / step) * (grid[q + 1] - grid[q])


class FlatFading:
    """Streaming flat-fading gain (module docstring).

    Parameters
    ----------
    sample_rate_sps : float
    doppler_hz : float
        ``f_D`` of the scattered paths (≥ 0).
    index : int64 (P,)
        Absolute sample indices of the table points (strictly increasing).
    k_factor_db : float64 (P,)
        Rician K at the table points (``-inf``: Rayleigh, ``+inf``: the direct path alone).
    los_doppler_hz : float64 (P,)
        Doppler of the direct path from the handset's motion.
    rng : numpy.random.Generator
        Source of the noise key and the direct path's phase.
    shadowing : ShadowingStates or None
    """

    def __init__(self, sample_rate_sps: float, doppler_hz: float, index, k_factor_db, los_doppler_hz,
                 rng: np.random.Generator, shadowing=None):
        if not doppler_hz >= 0.0 or not np.isfinite(doppler_hz) or doppler_hz > sample_rate_sps / 64:
            raise ConfigError("<channel>", "speed_kmh", f"a Doppler spread of {doppler_hz} Hz is outside "
                              f"[0, fs/64 = {sample_rate_sps / 64:g}] Hz")
        self.sample_rate_sps, self.doppler_hz = float(sample_rate_sps), float(doppler_hz)
        self.index = np.asarray(index, dtype=np.int64)
        self._idx_f = self.index.astype(np.float64)
        k = 10.0 ** (np.asarray(k_factor_db, dtype=np.float64) / 10.0)
        self.los_fraction = 1.0 / (1.0 + 1.0 / np.maximum(k, 1e-300))  # K/(K+1): 0 Rayleigh, 1 pure direct path
        self.shadowing = shadowing
        self._key = int(rng.integers(0, 2**63 - 1))
        phase0 = float(rng.uniform(0.0, 2.0 * np.pi))
        self._los = TrajectoryRotator(self.sample_rate_sps, self.index, los_doppler_hz, phase_rad=phase0)
        if self.doppler_hz > 0.0:
            self.grid_step = max(1, int(self.sample_rate_sps // (GRID_PER_DOPPLER * self.doppler_hz)))
            self.taps = clarke_taps(self.doppler_hz, self.sample_rate_sps / self.grid_step)
        else:
            self.grid_step, self.taps = 0, np.ones(1)
        self._noise_blocks: dict[int, np.ndarray] = {}
        self._grid_blocks: dict[int, np.ndarray] = {}

    @staticmethod
    def _cached(cache: dict, key: int, make) -> np.ndarray:
        if key not in cache:
            if len(cache) > 8:
                cache.pop(next(iter(cache)))
            cache[key] = make(key)
        return cache[key]

    def _noise_block(self, block: int) -> np.ndarray:
        gen = np.random.Generator(np.random.PCG64([self._key, block & (2**63 - 1), int(block < 0)]))
        return gen.standard_normal(2 * _BLOCK).view(np.complex128) / np.sqrt(2.0)

    def _noise(self, j0: int, n: int) -> np.ndarray:
        """White complex Gaussian w[j0 : j0 + n] (unit power), blockwise seeded."""
        out = np.empty(n, np.complex128)
        pos = 0
        while pos < n:
            block, off = divmod(j0 + pos, _BLOCK)
            take = min(n - pos, _BLOCK - off)
            out[pos : pos + take] = self._cached(self._noise_blocks, block, self._noise_block)[off : off + take]
            pos += take
        return out

    def _grid_block(self, block: int) -> np.ndarray:
        """g on grid points [block·B, (block+1)·B): the Clarke filter over w, one FFT convolution."""
        half = self.taps.size // 2
        return fftconvolve(self._noise(block * _BLOCK - half, _BLOCK + 2 * half), self.taps, mode="valid")

    def scattered(self, n: int, first_index: int) -> np.ndarray:
        """``g[first_index : first_index + n]`` (complex128)."""
        if self.grid_step == 0:
            return np.full(n, self._noise(0, 1)[0])
        d = self.grid_step
        j_lo, j_hi = first_index // d, (first_index + n - 1) // d + 1
        blocks = range(j_lo // _BLOCK, j_hi // _BLOCK + 1)
        grid = np.concatenate([self._cached(self._grid_blocks, b, self._grid_block) for b in blocks])
        grid = grid[j_lo - blocks[0] * _BLOCK : j_hi - blocks[0] * _BLOCK + 1]
        out = np.empty(n, np.complex128)
        _interp_grid(grid, d, first_index - j_lo * d, out)
        return out

    def gains(self, n: int, first_index: int) -> np.ndarray:
        """``h[first_index : first_index + n]`` (complex64)."""
        pos = np.arange(first_index, first_index + n, dtype=np.float64)
        p_los = np.interp(pos, self._idx_f, self.los_fraction)
        if self.shadowing is not None:
            p_los = p_los * self.shadowing.visibility(n, first_index)
        los = self._los.process(np.sqrt(p_los).astype(np.complex64), first_index)
        h = los + (np.sqrt(1.0 - p_los) * self.scattered(n, first_index)).astype(np.complex64)
        if self.shadowing is not None:
            h *= (10.0 ** (-self.shadowing.loss_db(n, first_index) / 20.0)).astype(np.float32)
        return h.astype(np.complex64, copy=False)

    def process(self, x: np.ndarray, first_index: int) -> np.ndarray:
        """``x · h`` for ``x`` starting at absolute index ``first_index``; the block's mean |h|² is kept in
        ``last_power_gain``."""
        h = self.gains(len(x), first_index)
        self.last_power_gain = float(np.mean(np.abs(h) ** 2)) if len(x) else 1.0
        return (np.asarray(x, dtype=np.complex64) * h).astype(np.complex64, copy=False)

    def reset(self) -> None:
        self._los.reset()

    def copy(self) -> "FlatFading":
        other = FlatFading.__new__(FlatFading)
        other.__dict__.update(self.__dict__)
        other._los = self._los.copy()
        other._noise_blocks, other._grid_blocks = dict(self._noise_blocks), dict(self._grid_blocks)
        return other
