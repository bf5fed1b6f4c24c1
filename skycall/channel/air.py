"""The loopback air between two loopback radios: sample-clock offset, LO offset, AWGN floor.

For transmitted samples x[n] (absolute receive index n, sample rate fs, centre frequency f_c):

    y[n] = x(n − d(n)·fs) · exp(j·2π·Δf·n/fs) + w[n]

* sample-clock offset ε = ``clock_offset_ppm``·1e-6: a delay ramp d(n) = (D0 − ε·n)/fs seconds (−ppm·1e-6 s
  per second of stream), applied by the streaming Farrow interpolator ``skycall.dsp.farrow.FarrowDelay``;
  same output length as input. The interpolator needs d ≥ 2 samples and keeps max(d) samples of
  history, so the ramp runs over a finite ``horizon_samples`` (then holds) from a bulk latency
  D0 = ⌈2 + max(ε, 0)·horizon⌉ samples (``latency_samples``); without clock offset D0 = 0 and no
  interpolation happens.
* LO offset Δf = ``lo_offset_ppm``·1e-6·f_c Hz, applied by ``skycall.dsp.rotator.TrajectoryRotator``
  (phase keyed to the absolute index n).
* w[n]: complex white Gaussian noise of power P = 10^(``noise_floor_dbfs``/10) per sample, keyed to n
  (:class:`~skycall.channel.noise.KeyedNoise`, its key drawn from the ``rng`` given): any chunking, any
  pacing and a copy taken mid-stream give bit-identical output.

Every stage is a function of the absolute sample index, never of the wall clock.
"""

import numpy as np

from skycall.channel.noise import KeyedNoise
from skycall.dsp.rotator import TrajectoryRotator
from skycall.errors import ConfigError


class AirModel:
    """Streaming loopback air (see module docstring).

    Parameters
    ----------
    sample_rate_sps : float
        Sample rate fs of the link (S/s).
    centre_freq_hz : float
        Carrier f_c (Hz); scales the LO offset.
    noise_floor_dbfs : float
        Complex noise power per sample in dBFS (-200 or below disables the noise).
    lo_offset_ppm, clock_offset_ppm : float
        Receiver LO and sample-clock errors versus the transmitter (ppm).
    rng : numpy.random.Generator
        Source of the noise key (the model draws one 63-bit integer from it).
    horizon_samples : int
        Length of the clock-offset ramp (e.g. the run's duration × fs); held afterwards.

    ``process(x, first_index)`` returns complex64 of ``len(x)``; calls must be consecutive in
    index after the first (the Farrow interpolator keeps history); ``reset()`` rewinds to index 0.
    """

    def __init__(
        self,
        sample_rate_sps: float,
        centre_freq_hz: float,
        noise_floor_dbfs: float,
        lo_offset_ppm: float,
        clock_offset_ppm: float,
        rng: np.random.Generator,
        horizon_samples: int = 2**24,
    ):
        self.sample_rate_sps, self.centre_freq_hz = float(sample_rate_sps), float(centre_freq_hz)
        self.noise_floor_dbfs = float(noise_floor_dbfs)
        self.lo_offset_ppm, self.clock_offset_ppm = float(lo_offset_ppm), float(clock_offset_ppm)
        self.lo_offset_hz = self.lo_offset_ppm * 1e-6 * self.centre_freq_hz
        if abs(self.lo_offset_hz) > self.sample_rate_sps / 2:
            raise ConfigError(
                "<air>",
                "lo_offset_ppm",
                f"{self.lo_offset_ppm} ppm at {self.centre_freq_hz / 1e6:.3f} MHz "
                f"is {self.lo_offset_hz:.0f} Hz, "
                f"beyond ±fs/2 = ±{self.sample_rate_sps / 2:.0f} Hz; lower it or raise the sample rate",
            )
        self.noise = KeyedNoise(10.0 ** (self.noise_floor_dbfs / 10.0) if noise_floor_dbfs > -200 else 0.0, rng)
        self._rotator = (
            TrajectoryRotator(self.sample_rate_sps, np.array([0], np.int64), [self.lo_offset_hz])
            if self.lo_offset_hz
            else None
        )
        self.horizon_samples = int(horizon_samples)
        eps = self.clock_offset_ppm * 1e-6
        self.latency_samples = int(np.ceil(2.0 + max(eps, 0.0) * self.horizon_samples)) if eps else 0
        self._delay = self._make_delay(eps) if eps else None
        self.copy().process(np.zeros(8, np.complex64), 0)  # JIT-compile/load kernels now, not mid-stream

    def _make_delay(self, eps: float):
        from skycall.dsp.farrow import FarrowDelay  # the DSP engineer's streaming interpolator

        d_samples = np.array([self.latency_samples, self.latency_samples - eps * self.horizon_samples])
        index = np.array([0, self.horizon_samples], np.int64)
        return FarrowDelay(self.sample_rate_sps, index, d_samples / self.sample_rate_sps)

    def process(self, x: np.ndarray, first_index: int) -> np.ndarray:
        """Air applied to ``x`` whose first sample has absolute receive index ``first_index``."""
        y = np.asarray(x, dtype=np.complex64)
        if self._delay is not None:
            y = self._delay.process(y, first_index)
        if self._rotator is not None:
            y = self._rotator.process(y, first_index)
        if self.noise.power_w:
            y = y + self.noise.generate(y.size, first_index)
        return y.astype(np.complex64, copy=False)

    def reset(self) -> None:
        if self._delay is not None:
            self._delay.reset()
        if self._rotator is not None:
            self._rotator.reset()

    def copy(self) -> "AirModel":
        other = AirModel.__new__(AirModel)
        other.__dict__.update(self.__dict__)
        other._delay = self._delay.copy() if self._delay is not None else None
        other._rotator = self._rotator.copy() if self._rotator is not None else None
        other.noise = self.noise.copy()
        return other


__all__ = ["AirModel"]
