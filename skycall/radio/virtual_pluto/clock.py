"""A board's crystal: one frequency error for its LOs and its sample clock, drifting as it warms up.

Every frequency a Pluto synthesises (both LOs, the baseband PLL that clocks ADC and DAC) is derived
from one 40 MHz crystal, so all of them carry the same relative error

    ε(t) = (ε0 + Δ·(1 − exp(−u/τ)))·1e-6,     u = t − t_on  (time since power-up, s),

ε0 the initial error (``ppm``), Δ the warm-up drift (``drift_ppm``) settling with time constant τ.
What matters for sample counts and carrier phases is the crystal's integral, the elapsed
*reference* time between two wall times t0 < t1:

    R(t0, t1) = ∫ (1 + ε) dt = (t1 − t0) + 1e-6·(E(t1) − E(t0)),
    E(t) = ε0·u + Δ·(u − τ·(1 − exp(−u/τ))).

A stream clocked at nominal rate fs by a driver that believes the reference is ``xo`` Hz has
produced n = fs·(40 MHz/xo)·R(t_start, t) samples by time t (see :class:`StreamClock`). Wall times
are ``time.monotonic()``, shared by every process on the machine.
"""

import math
from dataclasses import dataclass

import numpy as np

REF_CLOCK_HZ = 40e6


@dataclass(frozen=True)
class Crystal:
    """The crystal of one board (see the module docstring)."""

    ppm: float = 0.0
    drift_ppm: float = 0.0
    drift_tau_s: float = 600.0
    t_on: float = 0.0

    def error(self, t) -> np.ndarray | float:
        """Relative frequency error ε(t) (not in ppm)."""
        u = np.maximum(np.asarray(t, np.float64) - self.t_on, 0.0)
        return (self.ppm + self.drift_ppm * -np.expm1(-u / self.drift_tau_s)) * 1e-6

    def _e(self, t) -> np.ndarray | float:
        u = np.maximum(np.asarray(t, np.float64) - self.t_on, 0.0)
        return self.ppm * u + self.drift_ppm * (u + self.drift_tau_s * np.expm1(-u / self.drift_tau_s))

    def elapsed(self, t0: float, t1) -> np.ndarray | float:
        """R(t0, t1): crystal-referenced seconds between wall times ``t0`` and ``t1``."""
        return (np.asarray(t1, np.float64) - t0) + 1e-6 * (self._e(t1) - self._e(t0))

    def time_after(self, t0: float, elapsed_s: float) -> float:
        """The wall time t with R(t0, t) = ``elapsed_s`` (Newton's method on the monotonic R)."""
        t = t0 + elapsed_s / (1.0 + float(self.error(t0)))
        for _ in range(3):
            t -= (float(self.elapsed(t0, t)) - elapsed_s) / (1.0 + float(self.error(t)))
        return t


class StreamClock:
    """Sample index ↔ wall time of one stream: index 0 at ``t_start``, nominal rate ``fs`` at ``scale``.

    ``scale`` is 40 MHz/``xo_correction`` (the driver's belief about the reference), so the true
    rate is ``fs·scale·(1 + ε(t))``.
    """

    def __init__(self, crystal: Crystal, t_start: float, fs: float, scale: float):
        self.crystal, self.t_start, self.fs, self.scale = crystal, float(t_start), float(fs), float(scale)
        self._rate = self.fs * self.scale

    def index_at(self, t) -> np.ndarray | float:
        """Samples produced between ``t_start`` and ``t`` (fractional)."""
        return self._rate * self.crystal.elapsed(self.t_start, t)

    def time_of(self, index: float) -> float:
        """Wall time of sample ``index``."""
        return self.crystal.time_after(self.t_start, index / self._rate)

    def true_rate(self, t: float) -> float:
        """Instantaneous sample rate (S/s) at wall time ``t``."""
        return self._rate * (1.0 + float(self.crystal.error(t)))

    def sample_times(self, first: int, n: int, lead_s: float = 0.0) -> tuple[float, float]:
        """``(t0, dt)``: samples ``first … first+n−1`` happen at ``t0 + k·dt − lead_s`` (linear over the block:
        the drift changes the rate by < 1e-12 within a few ms)."""
        t0 = self.time_of(first)
        return t0 - lead_s, 1.0 / self.true_rate(t0 + 0.5 * n / self._rate)


def wrap_cycles(cycles: float) -> float:
    """Fractional part of a phase in cycles, in [0, 1)."""
    return cycles - math.floor(cycles)
