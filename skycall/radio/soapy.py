"""HackRF (or any SoapySDR device) backend; SoapySDR is imported lazily, CF32 samples.

A HackRF is half duplex, so :func:`skycall.radio.guard.check_config` refuses a configuration that
asks for both directions. Receive indices are absolute: when the driver reports an overflow and the
next buffer carries a hardware time, the index jumps by the samples lost,
``round((t − t0)·fs)``; without a time the loss is unknowable and only the event is counted (+1).
"""

import numpy as np

from skycall.config.hw_profile import HwProfile
from skycall.errors import ConfigError, HardwareNotFound, MissingDependency
from skycall.radio import guard
from skycall.radio.base import RadioConfig, RadioCounters

INSTALL_HINT = (
    "SoapySDR is not importable: install the Debian packages `python3-soapysdr soapysdr-module-hackrf` "
    "(sudo apt-get install python3-soapysdr soapysdr-module-hackrf), then link them into the venv "
    "by re-running scripts/bootstrap.sh"
)


def import_soapy():
    """Return the ``SoapySDR`` module or raise one :class:`MissingDependency` saying how to install it."""
    try:
        import SoapySDR
    except ImportError:
        raise MissingDependency(INSTALL_HINT) from None
    return SoapySDR


class SoapyRadio:
    """:class:`~skycall.radio.base.Radio` on a SoapySDR device selected by ``args`` (``"driver=hackrf"``)."""

    def __init__(self, profile: HwProfile, args: str = ""):
        if profile.driver != "soapy":
            raise ConfigError(
                profile.path, "driver", f"SoapyRadio needs a soapy profile, got {profile.driver!r}"
            )
        self.profile = profile
        self.args = args or profile.default_args
        self.counters = RadioCounters()
        self.config: RadioConfig | None = None
        self._soapy = None
        self._dev = None
        self._stream = None
        self._direction = None
        self._rx_index = 0
        self._t0_ns: int | None = None
        self._overflowed = False

    def open(self) -> None:
        if self._dev is not None:
            return
        self._soapy = import_soapy()
        try:
            self._dev = self._soapy.Device(self.args)
        except Exception as err:
            raise HardwareNotFound(
                f"no SoapySDR device matches {self.args!r} ({err}); run `skycall probe` to list devices"
            ) from None

    @property
    def serial(self) -> str:
        """The device's serial from ``getHardwareInfo()`` (falls back to its args)."""
        info = dict(self._dev.getHardwareInfo()) if self._dev is not None else {}
        return info.get("serial", self.args)

    def configure(self, config: RadioConfig) -> None:
        """Validate against the profile first (nothing touched on failure), then tune one direction."""
        guard.check_config(self.profile, config)
        if self._dev is None:
            raise ConfigError(self.profile.path, "", "call open() before configure()")
        soapy, dev = self._soapy, self._dev
        receive = config.rx_freq_hz is not None
        self._direction = soapy.SOAPY_SDR_RX if receive else soapy.SOAPY_SDR_TX
        freq_hz = config.rx_freq_hz if receive else config.tx_freq_hz
        gain_db = (
            guard.rx_gain_of(self.profile, config) if receive else guard.tx_gain_of(self.profile, config)
        )
        bandwidth_hz = config.rf_bandwidth_hz or max(self.profile.rf_bandwidth_min_hz, config.sample_rate_sps)
        dev.setSampleRate(self._direction, 0, float(config.sample_rate_sps))
        dev.setBandwidth(self._direction, 0, float(bandwidth_hz))
        dev.setFrequency(self._direction, 0, float(freq_hz))
        dev.setGain(self._direction, 0, float(gain_db))
        self.config = config

    def set_tx_freq(self, freq_hz: float) -> None:
        """Retune the transmitter, guard-checked first."""
        config = self._require_tx()
        bandwidth_hz = config.rf_bandwidth_hz or config.sample_rate_sps
        gain_db = guard.tx_gain_of(self.profile, config)
        guard.check_tx(self.profile, freq_hz, bandwidth_hz, gain_db, guard.allow_any_tx(config))
        self._dev.setFrequency(self._soapy.SOAPY_SDR_TX, 0, float(freq_hz))
        config.tx_freq_hz = freq_hz

    def set_tx_gain(self, gain_db: float) -> None:
        """Change the transmit gain, guard-checked first."""
        config = self._require_tx()
        bandwidth_hz = config.rf_bandwidth_hz or config.sample_rate_sps
        guard.check_tx(self.profile, config.tx_freq_hz, bandwidth_hz, gain_db, guard.allow_any_tx(config))
        self._dev.setGain(self._soapy.SOAPY_SDR_TX, 0, float(gain_db))
        config.tx_gain_db = gain_db

    def start(self) -> None:
        if self.config is None:
            raise ConfigError(self.profile.path, "", "call configure() before start()")
        if self._stream is None:
            self._stream = self._dev.setupStream(self._direction, self._soapy.SOAPY_SDR_CF32)
            self._dev.activateStream(self._stream)

    def read(self, n: int, timeout_s: float | None = None) -> tuple[int, np.ndarray]:
        """Up to ``n`` samples and the absolute index of the first one (see the module docstring)."""
        if self._direction != getattr(self._soapy, "SOAPY_SDR_RX", None) or self._stream is None:
            raise ConfigError(self.profile.path, "rx_freq_hz", "receiver not configured and started")
        soapy = self._soapy
        buf = np.empty(n, np.complex64)
        timeout_us = int(1e6 * (timeout_s if timeout_s is not None else 1.0))
        res = self._dev.readStream(self._stream, [buf], n, timeoutUs=timeout_us)
        if res.ret == soapy.SOAPY_SDR_OVERFLOW:
            self.counters.overflows += 1
            self._overflowed = True
            return self._rx_index, buf[:0]
        if res.ret == soapy.SOAPY_SDR_TIMEOUT:
            return self._rx_index, buf[:0]
        if res.ret < 0:
            raise HardwareNotFound(f"{self.args}: readStream failed: {soapy.SoapySDR_errToStr(res.ret)}")
        if res.flags & soapy.SOAPY_SDR_HAS_TIME:
            if self._t0_ns is None:
                self._t0_ns = res.timeNs - round(self._rx_index * 1e9 / self.config.sample_rate_sps)
            timed_index = round((res.timeNs - self._t0_ns) * self.config.sample_rate_sps / 1e9)
            if self._overflowed and timed_index > self._rx_index:
                self.counters.overflows += timed_index - self._rx_index - 1
                self._rx_index = timed_index
        self._overflowed = False
        first = self._rx_index
        self._rx_index += res.ret
        return first, buf[: res.ret]

    def write(self, samples: np.ndarray, first_sample_index: int | None = None) -> None:
        """Send ``samples`` (full scale 1.0 × ``tx_full_scale``), counting the driver's underflows."""
        self._require_tx()
        if self._stream is None:
            raise ConfigError(self.profile.path, "tx_freq_hz", "call start() before write()")
        soapy = self._soapy
        x = np.ascontiguousarray(np.asarray(samples, np.complex64) * np.float32(self.profile.tx_full_scale))
        sent = 0
        while sent < len(x):
            res = self._dev.writeStream(self._stream, [x[sent:]], len(x) - sent, timeoutUs=1_000_000)
            if res.ret == soapy.SOAPY_SDR_UNDERFLOW:
                self.counters.underflows += 1
                continue
            if res.ret < 0:
                raise HardwareNotFound(f"{self.args}: writeStream failed: {soapy.SoapySDR_errToStr(res.ret)}")
            sent += res.ret
        status = self._dev.readStreamStatus(self._stream, timeoutUs=0)
        if status.ret == soapy.SOAPY_SDR_UNDERFLOW:
            self.counters.underflows += 1

    def stop(self) -> None:
        if self._stream is not None:
            self._dev.deactivateStream(self._stream)
            self._dev.closeStream(self._stream)
            self._stream = None

    def close(self) -> None:
        self.stop()
        self._dev = None

    def _require_tx(self) -> RadioConfig:
        if self.config is None or self.config.tx_freq_hz is None:
            raise ConfigError(self.profile.path, "tx_freq_hz", "transmitter not configured")
        return self.config
