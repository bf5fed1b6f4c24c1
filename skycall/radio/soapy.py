"""HackRF (or any SoapySDR device) backend; SoapySDR is imported lazily, CF32 samples.

A HackRF is half duplex, so :func:`skycall.radio.guard.check_config` refuses a configuration that
asks for both directions. Receive indices are absolute and reads contiguous (``read`` gathers the
driver's partial reads): when the driver reports an overflow the samples lost are counted and the
next read starts at the later index (a :class:`~skycall.radio.base.Discontinuity`) — from the
buffer's hardware time, ``round((t − t0)·fs)``, when it has one.

A HackRF has none. Its driver (SoapyHackRF) receives whole USB transfers of M samples (the stream's
MTU) into a ring of ``RX_BUFFERS``; a full ring overwrites its *oldest* transfer and flags the
overflow, so after one the ring holds the newest transfers, contiguous, and a gap of whole transfers
lies before them. Every driver call here ends at a transfer boundary, so transfer k is samples
[kM, (k+1)M): a call that starts a transfer and had to wait returned as that transfer completed,
which feeds the :class:`~skycall.radio.hostclock.HostClock` with its end ``(k+1)M``. After an
overflow the reader drops the ring's stale transfers (``stale_samples``) until, with the ring's
``RX_BUFFERS·M`` samples drained, ``DRAIN_WAITS`` calls have waited (one may only look so: a host
descheduled in it). With S samples read since the overflow, the first one after the gap is at
``G = M·round(min(index_at(t_done) − S_before − M)/M)``, the minimum over the calls that started a
transfer (none is read before it is complete, so each gives an upper bound, tight for one that
waited; exact while the clock is good to M/2), and the last waiting transfer starts at ``G + S_before``.

Transmit samples are clipped to full scale before the driver's int8 conversion (a HackRF wraps what
overflows); transmit underflows are counted from the stream status; a ``writeStream`` that fails or
times out is an error that says so.
"""

import time
from dataclasses import dataclass

import numpy as np

from skycall.config.hw_profile import HwProfile
from skycall.errors import ConfigError, HardwareNotFound, MissingDependency, SkycallError
from skycall.radio import guard
from skycall.radio.base import RadioConfig, RadioCounters
from skycall.radio.hostclock import HostClock

WAITED_S = 0.002  # a read that took this long waited for the hardware (its last sample is just made)
RX_BUFFERS = 15  # the driver's receive ring in transfers (SoapyHackRF's default, set explicitly)
DRAIN_WAITS = 2  # waiting transfers after the drained ring before the gap's end is taken from the bound
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


@dataclass
class _Drain:
    """Draining the driver's ring after an overflow: samples dropped, read since, bound on the gap's end."""

    stale: int = 0
    since: int = 0
    bound: float = float("inf")
    waits: int = 0


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
        self._mtu = 0  # samples per driver transfer (0: unknown)
        self._offset = 0  # samples read of the current transfer
        self._drain: _Drain | None = None  # after an untimed overflow, until the ring is drained

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
            args = {"buffers": str(RX_BUFFERS)} if self._direction == self._soapy.SOAPY_SDR_RX else {}
            self._stream = self._dev.setupStream(self._direction, self._soapy.SOAPY_SDR_CF32, [0], args)
            self._mtu, self._offset, self._drain = int(self._dev.getStreamMTU(self._stream)), 0, None
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
            want = min(n - got, self._mtu - self._offset) if self._mtu else n - got  # end at a transfer's end
            t_req = time.monotonic()
            left_us = max(int(1e6 * (deadline - t_req)), 0)
            res = self._dev.readStream(self._stream, [buf[got:]], want, timeoutUs=left_us)
            t_done = time.monotonic()
            if res.ret == self._soapy.SOAPY_SDR_OVERFLOW:
                if self._drain is None:
                    self.counters.overflows += 1
                self._overflowed, self._offset = True, 0  # the driver let go of the transfer it was reading
                if self._t0_ns is None:  # no hardware time: drain the ring (module docstring)
                    self._drain = _Drain(self._drain.stale if self._drain else 0)
                if got:
                    break
                continue
            if res.ret == self._soapy.SOAPY_SDR_TIMEOUT or (res.ret == 0 and t_done >= deadline):
                break
            if res.ret < 0:
                raise SkycallError(f"{self.args}: readStream failed ({self._soapy.SoapySDR_errToStr(res.ret)}); "
                                   "check the USB cable and restart")
            index = self._index_of(res, t_req, t_done)
            if index is None:  # a stale transfer of the drained ring: dropped
                continue
            if index > self._rx_index:  # samples were lost: the read ends before the jump
                self.counters.gap(index, index - self._rx_index, time.time())
                if got:
                    self._pending = (index, buf[got : got + res.ret].copy())
                    break
                first = index
            got += res.ret
            self._rx_index = index + res.ret
        return first, buf[:got]

    def _index_of(self, res, t_req: float, t_done: float) -> int | None:
        """Index of the first sample of a read: the expected one, or after an overflow the hardware time's
        (when the buffer has one) or where the drained ring says (None: a stale sample, dropped)."""
        if not res.flags & self._soapy.SOAPY_SDR_HAS_TIME:
            return self._untimed_index(res.ret, t_req, t_done)
        self._drain = None  # a timed device (its overflow came before its first time stamp): the time places it
        fs = self.config.sample_rate_sps
        index = self._rx_index
        if self._t0_ns is None:
            self._t0_ns = res.timeNs - round(self._rx_index * 1e9 / fs)
        if self._overflowed:
            index = max(index, round((res.timeNs - self._t0_ns) * fs / 1e9))
        self._overflowed = False
        return index

    def _untimed_index(self, n: int, t_req: float, t_done: float) -> int | None:
        """A read without hardware time (module docstring): the expected index, None while the ring of an
        overflow is drained, then the index after the gap."""
        mtu = self._mtu or n
        starts_transfer = self._offset == 0
        waited = starts_transfer and t_done - t_req >= WAITED_S
        self._offset = (self._offset + n) % mtu
        drain = self._drain
        if drain is None:
            if waited:
                self.clock.observe(self._rx_index + mtu, t_done)  # the transfer just completed, whole
            return self._rx_index
        before, drain.since = drain.since, drain.since + n
        if starts_transfer:
            drain.bound = min(drain.bound, self.clock.index_at(t_done) - before - mtu)
        if waited and before >= RX_BUFFERS * mtu:
            drain.waits += 1
        if drain.waits < DRAIN_WAITS:
            drain.stale += n
            return None
        self._drain = None
        index = max(mtu * round(drain.bound / mtu) + before, self._rx_index + drain.stale)
        self.counters.stale_samples += drain.stale
        self.clock.observe(index + mtu, t_done)  # the same index space as before the gap: the clock goes on
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
