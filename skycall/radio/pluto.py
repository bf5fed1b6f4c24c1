"""ADALM-PLUTO backend through pyadi-iio (``adi.Pluto``), full duplex, streamed in threads.

A receive thread refills ``buffer_size``-sample buffers into a bounded queue (blocking when it is full,
so the kernel's ring does the buffering); a transmit thread pushes ``buffer_size`` blocks. Transmit
samples are scaled to the profile's ``tx_full_scale`` (2^14), rounded and saturated to int16.
:meth:`PlutoRadio.read` returns samples contiguous in the absolute sample index. Two pacing modes:

* **real time** (a real Pluto, or a free-running virtual one, clocked by its DMA; see
  :mod:`skycall.radio.pluto_stream`): the kernel rings get ``rx_kernel_buffers``/``tx_kernel_buffers``
  blocks; overflows and underflows are read from the DMA cores' xflow status register; after an
  overflow the reader skips ahead to the newest samples and a read ends at the jump (a
  :class:`~skycall.radio.base.Discontinuity`); writes carry the receive index they are for, and the
  transmitter places them there. :meth:`PlutoRadio.start` opens both streams together.
* **lock-step** (a device whose context attribute ``skycall,paced_by`` is ``sample_index``, i.e. a
  lock-step virtual Pluto): nothing is dropped or invented; a full receive queue blocks the receive
  thread and an empty transmit queue just waits, so back-pressure paces both peers by sample count
  whatever the machine's speed. The context timeout is raised to ``LOCKSTEP_TIMEOUT_MS``.

Writes leave in whole ``buffer_size`` blocks. A calibration is applied as ``xo_correction``
(``RadioConfig.freq_correction_ppm``: LOs and sample clock together). Safe exit: ``stop``, ``close``
and interpreter exit leave the TX attenuation at maximum and the TX LO powered down.
"""

import atexit
import logging
import queue
import threading
import time

import numpy as np

from skycall.config.hw_profile import HwProfile
from skycall.errors import ConfigError, HardwareNotFound, MissingDependency, SkycallError
from skycall.radio import guard
from skycall.radio.base import RadioConfig, RadioCounters
from skycall.radio.hostclock import HostClock
from skycall.radio.pluto_stream import RxReader, TxWriter, find_by_serial

log = logging.getLogger(__name__)

QUEUE_BLOCKS = 8
PACING_ATTR, LOCKSTEP = "skycall,paced_by", "sample_index"
LOCKSTEP_TIMEOUT_MS = 30_000
POLL_S = 0.1  # how often blocked threads and reads look at the stop/failure flags
STATUS_REG = 0x80000088  # AXI ADC/DAC core status: bit 2 overflow, bit 0 underflow (write 1 to clear)
TX_OFF_DB = -89.75
DEFAULT_KERNEL_BUFFERS = 4


class PlutoRadio:
    """:class:`~skycall.radio.base.Radio` on a Pluto at ``args``: a libiio URI (``"ip:192.168.2.1"``,
    ``"usb:1.2.5"``) or ``"serial:104473dc59"`` (the USB-attached Pluto whose serial starts so, which
    unlike a ``usb:`` bus address does not change when it is plugged elsewhere)."""

    def __init__(self, profile: HwProfile, args: str = ""):
        if profile.driver != "pluto":
            raise ConfigError(profile.path, "driver", f"PlutoRadio needs a pluto profile, got {profile.driver!r}")
        self.profile = profile
        self.uri = args or profile.default_args
        self.counters = RadioCounters()
        self.config: RadioConfig | None = None
        self._sdr = None
        self.lockstep = False
        self._stop = threading.Event()
        self._rx_stop = threading.Event()
        self._drain = threading.Event()
        self._failed: str | None = None
        self._threads: list[threading.Thread] = []
        self._rx_queue: queue.Queue = queue.Queue(QUEUE_BLOCKS)
        self._tx_queue: queue.Queue = queue.Queue(QUEUE_BLOCKS)
        self._rx_next_index = 0
        self._pending: tuple[int, np.ndarray] | None = None
        self.clock: HostClock | None = None
        self._writer: TxWriter | None = None

    # ------------------------------------------------------------------ set-up
    def open(self) -> None:
        if self._sdr is not None:
            return
        try:
            import adi
        except ImportError as err:
            raise MissingDependency(
                f"pyadi-iio is not importable ({err}); run scripts/bootstrap.sh to create the venv"
            ) from None
        if self.uri.startswith("serial:"):
            self.uri = find_by_serial(self.uri.removeprefix("serial:"))
        try:
            self._sdr = adi.Pluto(uri=self.uri)
        except Exception as err:
            raise HardwareNotFound(
                f"no Pluto answered at {self.uri!r} ({err}); check the cable/IP, or run `skycall probe`"
            ) from None
        self.lockstep = self._context_attr(PACING_ATTR) == LOCKSTEP
        if self.lockstep:
            self._sdr.ctx.set_timeout(LOCKSTEP_TIMEOUT_MS)
        atexit.register(self._tx_off)

    @property
    def serial(self) -> str:
        """The context's ``hw_serial`` (the key of the calibration file)."""
        self._require_open()
        return self._context_attr("hw_serial")

    @property
    def xo_boot_hz(self) -> float:
        """The reference frequency the driver assumed at boot (the context's ``ad9361-phy,xo_correction``)."""
        return float(self._context_attr("ad9361-phy,xo_correction") or 40e6)

    def _context_attr(self, name: str) -> str:
        attr = self._sdr.ctx.attrs.get(name, "")
        return getattr(attr, "value", attr)

    def configure(self, config: RadioConfig) -> None:
        """Validate ``config`` against the profile (nothing touched on failure), then apply it."""
        guard.check_config(self.profile, config)
        self._require_open()
        sdr = self._sdr
        sdr.sample_rate = int(config.sample_rate_sps)
        xo_hz = round(self.xo_boot_hz * (1.0 - config.freq_correction_ppm * 1e-6))
        sdr._set_iio_dev_attr_str("xo_correction", str(xo_hz))
        bandwidth_hz = int(config.rf_bandwidth_hz or max(config.sample_rate_sps, self.profile.rf_bandwidth_min_hz))
        if config.rx_freq_hz is not None:
            sdr.rx_lo = int(config.rx_freq_hz)
            sdr.rx_rf_bandwidth = bandwidth_hz
            sdr.gain_control_mode_chan0 = config.rx_gain_mode
            if config.rx_gain_mode == "manual":
                sdr.rx_hardwaregain_chan0 = float(guard.rx_gain_of(self.profile, config))
            sdr.rx_buffer_size = int(config.buffer_size)
        if config.tx_freq_hz is not None:
            sdr.tx_hardwaregain_chan0 = float(guard.tx_gain_of(self.profile, config))
            sdr.tx_lo = int(config.tx_freq_hz)
            sdr.tx_rf_bandwidth = bandwidth_hz
            sdr._set_iio_attr("altvoltage1", "powerdown", True, 0)
        self.config = config

    def set_tx_freq(self, freq_hz: float) -> None:
        """Retune the transmitter (guard-checked first)."""
        config = self._require_config()
        guard.check_tx(self.profile, freq_hz, self._tx_bandwidth(), self._sdr_tx_gain(), guard.allow_any_tx(config))
        self._sdr.tx_lo = int(freq_hz)
        config.tx_freq_hz = freq_hz

    def set_tx_gain(self, gain_db: float) -> None:
        """Change the transmit gain (attenuation on a Pluto), guard-checked first."""
        config = self._require_config()
        if config.tx_freq_hz is None:
            raise ConfigError(self.profile.path, "tx_freq_hz", "transmitter not configured")
        guard.check_tx(self.profile, config.tx_freq_hz, self._tx_bandwidth(), gain_db, guard.allow_any_tx(config))
        self._sdr.tx_hardwaregain_chan0 = float(gain_db)
        config.tx_gain_db = gain_db

    def set_rx_freq(self, freq_hz: float) -> None:
        config = self._require_config()
        self.profile.check_tuning(freq_hz, config.sample_rate_sps, "rx_freq_hz")
        self._sdr.rx_lo = int(freq_hz)
        config.rx_freq_hz = freq_hz

    def _tx_bandwidth(self) -> float:
        return self.config.rf_bandwidth_hz or self.config.sample_rate_sps

    def _sdr_tx_gain(self) -> float:
        return guard.tx_gain_of(self.profile, self.config)

    def _kernel_buffers(self, key: str) -> int:
        return int(self.config.extra.get(key, DEFAULT_KERNEL_BUFFERS))

    def _status(self, device):
        """A reader of ``device``'s xflow status register that clears what it reports."""

        def read() -> int:
            bits = device.reg_read(STATUS_REG)
            if bits:
                device.reg_write(STATUS_REG, bits)
            return bits

        return read

    # ------------------------------------------------------------------ streaming
    def start(self) -> None:
        """Start streaming; in real time the receive and transmit DMA start together."""
        config = self._require_config()
        if self._threads:
            return
        self._stop.clear()
        self._rx_stop.clear()
        self._drain.clear()
        self._failed = None
        fs, size = config.sample_rate_sps, config.buffer_size
        self.clock = HostClock(fs)
        rx = tx = None
        if self.lockstep and config.rx_freq_hz is not None:
            self._sdr._rx_init_channels()
        if not self.lockstep:
            sdr = self._sdr
            if config.rx_freq_hz is not None:
                sdr._rxadc.set_kernel_buffers_count(self._kernel_buffers("rx_kernel_buffers"))
                sdr._rxadc.reg_write(STATUS_REG, 0x7)
            if config.tx_freq_hz is not None:
                sdr._txdac.set_kernel_buffers_count(self._kernel_buffers("tx_kernel_buffers"))
                sdr._txdac.reg_write(STATUS_REG, 0x7)
            if config.rx_freq_hz is not None:
                sdr._rx_init_channels()  # the receive DMA starts here
                self.clock.observe(0, time.monotonic())
                rx = RxReader(self._refill, size, self.clock, self.counters,
                              self._kernel_buffers("rx_kernel_buffers"), self._status(sdr._rxadc))
            if config.tx_freq_hz is not None:
                blocks = max(1, int(config.extra.get("tx_lead_s", 0.0) * fs) // size)
                self._push(np.zeros(size, np.complex64))
                t_push = time.monotonic()  # the DAC started as the first push went through (it may have waited)
                for _ in range(blocks - 1):  # the transmit lead queued behind it
                    self._push(np.zeros(size, np.complex64))
                if not self.clock.ready:
                    self.clock.observe(0, t_push)
                tx = TxWriter(self._push, size, self.clock, self.counters, self._status(sdr._txdac))
                tx.start(t_push, blocks)
        else:
            tx = TxWriter(self._push, size, self.clock, self.counters, realtime=False)
        self._writer = tx
        if config.rx_freq_hz is not None:
            self._spawn(lambda: self._rx_loop(rx), "pluto-rx")
        if config.tx_freq_hz is not None:
            self._spawn(self._tx_loop, "pluto-tx")

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _fail(self, what: str, err: Exception) -> None:
        if not self._stop.is_set():
            log.error("Pluto %s failed: %s", what, err)
            self._failed = f"Pluto {what} at {self.uri} failed ({err})"
            self._stop.set()

    def _refill(self) -> np.ndarray:
        """One receive buffer as complex64 (full scale 1.0): the I/Q int16 words straight from libiio."""
        buf = self._sdr._rxbuf
        buf.refill()
        return np.frombuffer(buf.read(), np.int16).astype(np.float32).view(np.complex64) * np.float32(1 / 2048)

    def _rx_loop(self, reader: RxReader | None) -> None:
        index = 0
        while not (self._stop.is_set() or self._rx_stop.is_set()):
            try:
                if reader is None:  # lock-step: every block in order, nothing lost
                    item = (index, self._refill())
                    index += len(item[1])
                else:
                    item = reader.next()
            except Exception as err:
                self._fail("receive", err)
                break
            if item is None:
                continue
            while not (self._stop.is_set() or self._rx_stop.is_set()):  # back-pressure, except while stopping
                try:
                    self._rx_queue.put(item, timeout=POLL_S)
                    break
                except queue.Full:
                    if self._drain.is_set():
                        break

    def _tx_loop(self) -> None:
        while not self._stop.is_set():
            try:
                index, x = self._tx_queue.get(timeout=POLL_S)
            except queue.Empty:
                if self._drain.is_set():
                    break
                continue
            try:
                self._writer.write(x, index)
            except Exception as err:
                self._fail("transmit", err)
                break

    def _push(self, x: np.ndarray) -> None:
        """One transmit buffer: the first through pyadi (it switches the DDS off and creates the buffer),
        the others as int16 words straight to libiio."""
        ints = self._to_ints(x)
        if self._sdr._txbuf is None:
            self._sdr.tx(ints[0::2] + 1j * ints[1::2].astype(np.float64))
        else:
            self._sdr._tx_buffer_push(ints)

    def read(self, n: int, timeout_s: float | None = None) -> tuple[int, np.ndarray]:
        """Up to ``n`` received samples (complex64, full scale 1.0) and the index of the first one.

        The samples are contiguous in index: after a discontinuity (real time) the read ends short
        and the next one starts at the later index. With ``timeout_s`` the read returns what arrived
        by then; without, it waits for all ``n`` (or the jump). Raises
        :class:`~skycall.errors.SkycallError` when the stream failed.
        """
        first = self._rx_next_index
        parts: list[np.ndarray] = []
        got = 0
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while got < n:
            if self._pending is None:
                wait_s = POLL_S if deadline is None else min(POLL_S, deadline - time.monotonic())
                try:
                    self._pending = self._rx_queue.get(timeout=max(wait_s, 0.0))
                except queue.Empty:
                    pass
            if self._pending is None:
                self._check_failed()
                if deadline is not None and time.monotonic() >= deadline:
                    break
                continue
            index, block = self._pending
            if index > first + got:  # a discontinuity: end this read, or start it at the new index
                if got:
                    break
                first = index
            take = min(n - got, len(block))
            parts.append(block[:take])
            got += take
            self._pending = (index + take, block[take:]) if take < len(block) else None
        self._rx_next_index = first + got
        return first, np.concatenate(parts) if parts else np.zeros(0, np.complex64)

    def _check_failed(self) -> None:
        if self._failed:
            raise SkycallError(f"{self._failed}; check the radio and restart")

    def write(self, samples: np.ndarray, first_sample_index: int | None = None) -> None:
        """Queue ``samples`` (complex, full scale 1.0); blocks while the queue is full.

        In real time ``first_sample_index`` (receive index space) says when they should leave the
        antenna (see :class:`~skycall.radio.pluto_stream.TxWriter`); lock-step ignores it.
        """
        config = self._require_config()
        if config.tx_freq_hz is None:
            raise ConfigError(self.profile.path, "tx_freq_hz", "transmitter not configured")
        item = (None if self.lockstep else first_sample_index, np.asarray(samples, np.complex64))
        while True:
            self._check_failed()
            try:
                self._tx_queue.put(item, timeout=POLL_S)
                return
            except queue.Full:
                pass

    def take_tx_lead_s(self) -> float:
        """How early (s) the transmit samples reached the transmitter at worst since the last call
        (inf: none in real time); below 0 they came after their air time (``late_samples``)."""
        return self._writer.take_lead() if self._writer is not None else float("inf")

    def transmit_cyclic(self, samples: np.ndarray) -> None:
        """Send ``samples`` repeated forever by the DMA (e.g. a calibration tone) until :meth:`stop`."""
        config = self._require_config()
        if config.tx_freq_hz is None:
            raise ConfigError(self.profile.path, "tx_freq_hz", "transmitter not configured")
        ints = self._to_ints(np.asarray(samples, np.complex64))
        self._sdr.tx_destroy_buffer()
        self._sdr.tx_cyclic_buffer = True
        self._sdr.tx(ints[0::2] + 1j * ints[1::2].astype(np.float64))

    def _to_ints(self, x: np.ndarray) -> np.ndarray:
        scaled = np.empty(2 * len(x), np.float32)
        scaled[0::2], scaled[1::2] = x.real, x.imag
        return np.clip(np.rint(scaled * self.profile.tx_full_scale), -32768, 32767).astype(np.int16)

    def stop(self) -> None:
        """Send what is queued, close the transmit stream, stop receiving, switch the transmitter off.

        In real time the receiver stops first: nothing read after the caller's last read is counted.
        (Lock-step keeps receiving while the transmitter drains: a peer may be waiting for both.)
        """
        if not self.lockstep:
            self._rx_stop.set()
            for thread in self._threads:
                if thread.name == "pluto-rx":
                    thread.join()
        self._drain.set()
        for thread in self._threads:
            if thread.name == "pluto-tx":
                thread.join()
        if self._sdr is not None:
            self._sdr.tx_destroy_buffer()  # a lock-step peer waiting for more hears the stream end now
            self._sdr.tx_cyclic_buffer = False
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        if self._sdr is not None:
            self._sdr.rx_destroy_buffer()
            self._tx_off()

    def _tx_off(self) -> None:
        """TX attenuation to maximum and TX LO powered down (a Pluto otherwise keeps radiating its LO)."""
        if self._sdr is None:
            return
        try:
            self._sdr.tx_hardwaregain_chan0 = TX_OFF_DB
            self._sdr._set_iio_attr("altvoltage1", "powerdown", True, 1)
        except Exception as err:  # the radio may be gone already: say so, do not mask the real error
            log.warning("could not switch the Pluto's transmitter off at %s: %s", self.uri, err)

    def close(self) -> None:
        if self._sdr is None:
            return
        self.stop()
        atexit.unregister(self._tx_off)
        self._sdr = None

    def _require_open(self) -> None:
        if self._sdr is None:
            raise ConfigError(self.profile.path, "", "call open() before using the radio")

    def _require_config(self) -> RadioConfig:
        if self.config is None:
            raise ConfigError(self.profile.path, "", "call configure() before streaming")
        return self.config
