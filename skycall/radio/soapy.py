"""HackRF (or any SoapySDR device) backend; SoapySDR is imported lazily, CF32 samples.

A HackRF is half duplex, so :func:`skycall.radio.guard.check_config` refuses a configuration that
asks for both directions. Receive indices are absolute and reads contiguous (``read`` gathers the
driver's partial reads): when the driver reports an overflow the samples lost are counted and the
next read starts at the later index (a :class:`~skycall.radio.base.Discontinuity`) — from the
buffer's hardware time, ``round((t − t0)·fs)``, when it has one; a HackRF has none, so from the
sample count against the host clock (:class:`~skycall.radio.hostclock.HostClock`, fed by the reads
that had to wait). Transmit samples are clipped to full scale before the driver's int8 conversion
(a HackRF wraps what overflows); transmit underflows are counted from the stream status; a
``writeStream`` that fails or times out is an error that says so.
"""

import time

import numpy as np

from skycall.config.hw_profile import HwProfile
from skycall.errors import ConfigError, HardwareNotFound, MissingDependency, SkycallError
from skycall.radio import guard
from skycall.radio.base import RadioConfig, RadioCounters
from skycall.radio.hostclock import HostClock

WAITED_S = 0.002  # a read that took this long waited for the hardware (its last sample is just made)
TX_TIMEOUT_US = 1_000_000

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
        self.clock: HostClock | None = None
        self._pending: tuple[int, np.ndarray] | None = None

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
        dev.setFrequency(self._direction, 0, float(freq_hz) * (1.0 + config.freq_correction_ppm * 1e-6))
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
            self.clock = HostClock(self.config.sample_rate_sps)
            self.clock.observe(0, time.monotonic())

    def read(self, n: int, timeout_s: float | None = None) -> tuple[int, np.ndarray]:
        """Up to ``n`` contiguous samples and the absolute index of the first (see the module docstring).

        Gathers the driver's partial reads until ``n`` samples, a discontinuity (the read ends before
        it; the next one starts after it) or ``timeout_s`` (default 1 s).
        """
        if self._direction != getattr(self._soapy, "SOAPY_SDR_RX", None) or self._stream is None:
            raise ConfigError(self.profile.path, "rx_freq_hz", "receiver not configured and started")
        buf = np.empty(n, np.complex64)
        first, got = self._rx_index, 0
        if self._pending is not None:  # what the previous read fetched after a jump
            first, chunk = self._pending
            got = min(n, len(chunk))
            buf[:got] = chunk[:got]
            self._pending = (first + got, chunk[got:]) if got < len(chunk) else None
            self._rx_index = first + got
            if self._pending is not None:
                return first, buf[:got]
        deadline = time.monotonic() + (1.0 if timeout_s is None else timeout_s)
        while got < n:
            t_req = time.monotonic()
            left_us = max(int(1e6 * (deadline - t_req)), 0)
            res = self._dev.readStream(self._stream, [buf[got:]], n - got, timeoutUs=left_us)
            t_done = time.monotonic()
            if res.ret == self._soapy.SOAPY_SDR_OVERFLOW:
                self.counters.overflows += 1
                self._overflowed = True
                if got:
                    break
                continue
            if res.ret == self._soapy.SOAPY_SDR_TIMEOUT or (res.ret == 0 and t_done >= deadline):
                break
            if res.ret < 0:
                raise SkycallError(f"{self.args}: readStream failed ({self._soapy.SoapySDR_errToStr(res.ret)}); "
                                   "check the USB cable and restart")
            index = self._index_of(res, t_req, t_done)
            if index > self._rx_index:  # samples were lost: the read ends before the jump
                self.counters.gap(index, index - self._rx_index, time.time())
                if got:
                    self._pending = (index, buf[got : got + res.ret].copy())
                    break
                first = index
            got += res.ret
            self._rx_index = index + res.ret
        return first, buf[:got]

    def _index_of(self, res, t_req: float, t_done: float) -> int:
        """Index of the first sample of a read: the expected one, or after an overflow the hardware time's
        (when the buffer has one) or the host clock's."""
        fs = self.config.sample_rate_sps
        index = self._rx_index
        if res.flags & self._soapy.SOAPY_SDR_HAS_TIME:
            if self._t0_ns is None:
                self._t0_ns = res.timeNs - round(self._rx_index * 1e9 / fs)
            if self._overflowed:
                index = max(index, round((res.timeNs - self._t0_ns) * fs / 1e9))
        elif self._overflowed:
            index = max(index, round(self.clock.index_at(t_done)) - res.ret)
        self._overflowed = False
        if t_done - t_req >= WAITED_S and not res.flags & self._soapy.SOAPY_SDR_HAS_TIME:
            self.clock.observe(index + res.ret, t_done)
        return index

    def write(self, samples: np.ndarray, first_sample_index: int | None = None) -> None:
        """Send ``samples`` (full scale 1.0 × ``tx_full_scale``, clipped there first), counting underflows."""
        self._require_tx()
        if self._stream is None:
            raise ConfigError(self.profile.path, "tx_freq_hz", "call start() before write()")
        soapy = self._soapy
        x = np.asarray(samples, np.complex64)
        parts = x.view(np.float32)
        clipped = np.clip(parts, -1.0, 127.0 / 128.0).view(np.complex64)  # the int8 the driver makes must not wrap
        x = np.ascontiguousarray(clipped * np.float32(self.profile.tx_full_scale))
        sent = 0
        while sent < len(x):
            res = self._dev.writeStream(self._stream, [x[sent:]], len(x) - sent, timeoutUs=TX_TIMEOUT_US)
            if res.ret == soapy.SOAPY_SDR_UNDERFLOW:
                self.counters.underflows += 1
                continue
            if res.ret == soapy.SOAPY_SDR_TIMEOUT or res.ret == 0:
                raise SkycallError(f"{self.args}: the transmitter took no samples for {TX_TIMEOUT_US / 1e6:.0f} s "
                                   "(writeStream timed out); check the radio and restart")
            if res.ret < 0:
                raise SkycallError(f"{self.args}: writeStream failed ({soapy.SoapySDR_errToStr(res.ret)}); "
                                   "check the USB cable and restart")
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
