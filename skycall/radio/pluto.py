"""ADALM-PLUTO backend through pyadi-iio (``adi.Pluto``), full duplex, streamed in threads.

A receive thread refills ``rx_buffer_size``-sample buffers into a bounded queue; a transmit thread
pushes ``buffer_size`` blocks taken from a bounded queue. Transmit samples are scaled to the
profile's ``tx_full_scale`` (2^14) and saturated to int16. :meth:`PlutoRadio.read` returns exactly
the samples asked for, contiguous in the absolute sample index. Two pacing modes:

* **real time** (a real Pluto, clocked by its DMA): when the receive queue is full the block is
  dropped, counted in ``counters.overflows``, and read back as zeros so indices stay absolute;
  once transmission started, a block missing for one buffer period is replaced by zeros and
  counted in ``counters.underflows`` (the DMA would underflow anyway).
* **lock-step** (a device whose context attribute ``skycall,paced_by`` is ``sample_index``, i.e.
  a virtual Pluto): nothing is dropped or invented; a full receive queue blocks the receive
  thread and an empty transmit queue just waits, so back-pressure paces both peers by sample
  count whatever the machine's speed. The context timeout is raised to
  ``LOCKSTEP_TIMEOUT_MS`` so a slow peer is waited for rather than failed.

Writes leave in whole ``buffer_size`` blocks (a remainder waits for the next write): in lock-step a
full-duplex peer can only read what was sent, so the call uses buffers that divide its 40 ms slot
(:func:`skycall.call.process.slot_buffer_size`). Either way, :meth:`PlutoRadio.stop` first lets the
transmit thread send what is queued.
"""

import logging
import queue
import threading
import time

import numpy as np

from skycall.config.hw_profile import HwProfile
from skycall.errors import ConfigError, HardwareNotFound, MissingDependency, SkycallError
from skycall.radio import guard
from skycall.radio.base import RadioConfig, RadioCounters

log = logging.getLogger(__name__)

QUEUE_BLOCKS = 8
PACING_ATTR, LOCKSTEP = "skycall,paced_by", "sample_index"
LOCKSTEP_TIMEOUT_MS = 30_000
POLL_S = 0.1  # how often blocked threads and reads look at the stop/failure flags


class PlutoRadio:
    """:class:`~skycall.radio.base.Radio` on a Pluto at ``args`` (``"ip:192.168.2.1"``, ``"usb:1.2.5"``…)."""

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
        self._drain = threading.Event()
        self._failed: str | None = None
        self._threads: list[threading.Thread] = []
        self._rx_queue: queue.Queue = queue.Queue(QUEUE_BLOCKS)
        self._tx_queue: queue.Queue = queue.Queue(QUEUE_BLOCKS)
        self._rx_next_index = 0
        self._pending: tuple[int, np.ndarray] | None = None
        self._tx_pending = np.zeros(0, np.complex64)
        self._tx_started = False

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
        try:
            self._sdr = adi.Pluto(uri=self.uri)
        except Exception as err:
            raise HardwareNotFound(
                f"no Pluto answered at {self.uri!r} ({err}); check the cable/IP, or run `skycall probe`"
            ) from None
        self.lockstep = self._context_attr(PACING_ATTR) == LOCKSTEP
        if self.lockstep:
            self._sdr.ctx.set_timeout(LOCKSTEP_TIMEOUT_MS)

    @property
    def serial(self) -> str:
        """The context's ``hw_serial`` (the key of the calibration file)."""
        self._require_open()
        return self._context_attr("hw_serial")

    def _context_attr(self, name: str) -> str:
        attr = self._sdr.ctx.attrs.get(name, "")
        return getattr(attr, "value", attr)

    def configure(self, config: RadioConfig) -> None:
        """Validate ``config`` against the profile (nothing touched on failure), then apply it."""
        guard.check_config(self.profile, config)
        self._require_open()
        sdr = self._sdr
        sdr.sample_rate = int(config.sample_rate_sps)
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

    # ------------------------------------------------------------------ streaming
    def start(self) -> None:
        config = self._require_config()
        if self._threads:
            return
        self._stop.clear()
        self._drain.clear()
        self._failed = None
        if config.rx_freq_hz is not None:
            self._spawn(self._rx_loop, "pluto-rx")
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

    def _rx_loop(self) -> None:
        index = 0
        while not self._stop.is_set():
            try:
                block = np.asarray(self._sdr.rx(), np.complex64) / np.float32(2048.0)
            except Exception as err:
                self._fail("receive", err)
                break
            if self.lockstep:  # back-pressure, except while stopping (nobody reads any more)
                while not self._stop.is_set():
                    try:
                        self._rx_queue.put((index, block), timeout=POLL_S)
                        break
                    except queue.Full:
                        if self._drain.is_set():
                            break
            else:
                try:
                    self._rx_queue.put_nowait((index, block))
                except queue.Full:
                    self.counters.overflows += len(block)
            index += len(block)

    def _tx_loop(self) -> None:
        size = self.config.buffer_size
        period_s = POLL_S if self.lockstep else size / self.config.sample_rate_sps
        while not self._stop.is_set():
            try:
                block = self._tx_queue.get(timeout=period_s)
            except queue.Empty:
                if self._drain.is_set():
                    break
                if self.lockstep or not self._tx_started:
                    continue
                block = np.zeros(2 * size, np.int16)
                self.counters.underflows += size
            try:
                self._push(block)
            except Exception as err:
                self._fail("transmit", err)
                break

    def _push(self, interleaved: np.ndarray) -> None:
        self._tx_started = True
        self._sdr.tx(interleaved[0::2] + 1j * interleaved[1::2].astype(np.float64))

    def read(self, n: int, timeout_s: float | None = None) -> tuple[int, np.ndarray]:
        """``n`` received samples (complex64, full scale 1.0) and the index of the first one.

        The samples are contiguous in index; any lost to an overflow are zeros. With ``timeout_s``
        the read returns what arrived by then (possibly fewer than ``n``); without, it waits for all
        ``n``. Raises :class:`~skycall.errors.SkycallError` when the stream failed.
        """
        first = self._rx_next_index
        out = np.zeros(n, np.complex64)
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
            if index > first + got:  # samples lost to an overflow: leave zeros
                got += min(index - first - got, n - got)
                continue
            take = min(n - got, len(block))
            out[got : got + take] = block[:take]
            got += take
            self._pending = (index + take, block[take:]) if take < len(block) else None
        self._rx_next_index = first + got
        return first, out[:got]

    def _check_failed(self) -> None:
        if self._failed:
            raise SkycallError(f"{self._failed}; check the radio and restart")

    def write(self, samples: np.ndarray, first_sample_index: int | None = None) -> None:
        """Queue ``samples`` (complex, full scale 1.0) for transmission; blocks while the queue is full.

        Samples are sent in whole ``buffer_size`` blocks: a remainder waits for the next write.
        """
        config = self._require_config()
        if config.tx_freq_hz is None:
            raise ConfigError(self.profile.path, "tx_freq_hz", "transmitter not configured")
        x = np.concatenate([self._tx_pending, np.asarray(samples, np.complex64)])
        size = config.buffer_size
        whole = len(x) // size * size
        for start in range(0, whole, size):
            block = self._to_ints(x[start : start + size])
            while True:
                self._check_failed()
                try:
                    self._tx_queue.put(block, timeout=POLL_S)
                    break
                except queue.Full:
                    pass
        self._tx_pending = x[whole:]

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
        """Send what is queued, close the transmit stream, then stop receiving."""
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
        self._tx_started = False

    def close(self) -> None:
        if self._sdr is None:
            return
        self.stop()
        self._sdr = None

    def _require_open(self) -> None:
        if self._sdr is None:
            raise ConfigError(self.profile.path, "", "call open() before using the radio")

    def _require_config(self) -> RadioConfig:
        if self.config is None:
            raise ConfigError(self.profile.path, "", "call configure() before streaming")
        return self.config
