"""Receive level at the ADC: RMS and peak in dBFS, clipped samples, and a warning outside a window.

Full scale is 1.0 per component (a Pluto's ±2048, a HackRF's ±1.0): a complex tone at full scale
has power 1, i.e. 0 dBFS RMS. Peak is the largest |I| or |Q| (what clips), in dBFS. A sample is
clipped when either component reaches ``CLIP_LEVEL``. :class:`LevelMeter` accumulates per block
(vectorised) and is read out once per report period; :func:`level_warning` turns a reading into the
one-line warning a user acts on.
"""

import math

import numpy as np

CLIP_LEVEL = 2047.0 / 2048.0
WEAK_DBFS = -50.0  # loudest buffer below this: too weak (raise the RX gain or lower the attenuation)
HOT_DBFS = -3.0  # RMS above this: no headroom left for the signal's peaks


def dbfs(power: float) -> float:
    return 10.0 * math.log10(power) if power > 0 else -math.inf


class LevelMeter:
    """Running receive level; ``take()`` returns and restarts the period's reading."""

    def __init__(self):
        self.total_power = 0.0
        self.total_samples = 0
        self.total_peak = 0.0
        self.clipped = 0
        self._reset_period()

    def _reset_period(self) -> None:
        self._power, self._n, self._peak, self._loudest, self._clipped = 0.0, 0, 0.0, 0.0, 0

    def add(self, x: np.ndarray) -> None:
        """Account one block of received samples (complex, full scale 1.0)."""
        if not len(x):
            return
        comp = np.asarray(x).view(np.float32 if np.asarray(x).dtype == np.complex64 else np.float64)
        power = float(np.vdot(x, x).real)
        peak = max(float(comp.max()), -float(comp.min()))
        clipped = 0
        if peak >= CLIP_LEVEL:  # rare: only then look for the clipped samples
            clipped = int(np.count_nonzero((np.abs(comp) >= CLIP_LEVEL).reshape(-1, 2).any(axis=1)))
        self._power += power
        self._n += len(x)
        self._peak = max(self._peak, peak)
        self._loudest = max(self._loudest, power / len(x))
        self._clipped += clipped
        self.total_power += power
        self.total_samples += len(x)
        self.total_peak = max(self.total_peak, peak)
        self.clipped += clipped

    def take(self) -> dict:
        """This period's ``rx_rms_dbfs``, ``rx_peak_dbfs``, ``loudest_block_dbfs``, ``clipped``; restart."""
        out = {
            "rx_rms_dbfs": dbfs(self._power / self._n) if self._n else -math.inf,
            "rx_peak_dbfs": 20.0 * math.log10(self._peak) if self._peak > 0 else -math.inf,
            "loudest_block_dbfs": dbfs(self._loudest),
            "clipped": self._clipped,
        }
        self._reset_period()
        return out

    def summary(self) -> dict:
        """The whole run: RMS over every sample, highest peak, clipped samples."""
        return {
            "rx_rms_dbfs": dbfs(self.total_power / self.total_samples) if self.total_samples else -math.inf,
            "rx_peak_dbfs": 20.0 * math.log10(self.total_peak) if self.total_peak > 0 else -math.inf,
            "clipped": self.clipped,
        }


def level_warning(reading: dict) -> str | None:
    """One line when a period's reading is outside the window (clipping, too hot, too weak), else None."""
    if reading["clipped"]:
        return (f"receive level clipping: {reading['clipped']} samples at full scale (peak "
                f"{reading['rx_peak_dbfs']:.1f} dBFS); lower the RX gain or add attenuation")
    if reading["rx_rms_dbfs"] > HOT_DBFS:
        return (f"receive level {reading['rx_rms_dbfs']:.1f} dBFS RMS leaves no headroom; lower the RX gain "
                "or add attenuation")
    if reading["loudest_block_dbfs"] < WEAK_DBFS:
        return (f"receive level weak: loudest buffer at {reading['loudest_block_dbfs']:.1f} dBFS; check the cable, "
                "raise the RX gain or lower the attenuation")
    return None
