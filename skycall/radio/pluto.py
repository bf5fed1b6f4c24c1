"""ADALM-PLUTO backend through pyadi-iio (``adi.Pluto``), full duplex, streamed in threads.

A receive thread refills ``rx_buffer_size``-sample buffers into a bounded queue; when the queue is
full the block is dropped, counted in ``counters.overflows`` and the sample index still advances by
its length, so indices stay absolute. A transmit thread pushes ``buffer_size`` blocks taken from a
bounded queue; once transmission started, a missing block is replaced by zeros and counted in
``counters.underflows`` (the DMA would underflow anyway). Transmit samples are scaled to the
profile's ``tx_full_scale`` (2^14) and saturated to int16.
"""

import logging
import queue
import threading

import numpy as np

from skycall.config.hw_profile import HwProfile
from skycall.errors import ConfigError, HardwareNotFound, MissingDependency
from skycall.radio import guard
from skycall.radio.base import RadioConfig, RadioCounters

log = logging.getLogger(__name__)

QUEUE_BLOCKS = 8


class PlutoRadio:
    """:class:`~skycall.radio.base.Radio` on a Pluto at ``args`` (``"ip:192.168.2.1"``, ``"usb:1.2.5"``…)."""

    def __init__(self, profile: HwProfile, args: str = ""):
        if profile.driver != "pluto":
            raise ConfigError(
                profile.path, "driver", f"PlutoRadio needs a pluto profile, got {profile.driver!r}"
            )
        self.profile = profile
        self.uri = args or profile.default_args
        self.counters = RadioCounters()
        self.config: RadioConfig | None = None
        self._sdr = None
        self._stop = threading.Event()
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

    @property
    def serial(self) -> str:
        """The context's ``hw_serial`` (the key of the calibration file)."""
        self._require_open()
        attr = self._sdr.ctx.attrs.get("hw_serial", "")
        return getattr(attr, "value", attr)

    def configure(self, config: RadioConfig) -> None:
        """Validate ``config`` against the profile (nothing touched on failure), then apply it."""
        guard.check_config(self.profile, config)
        self._require_open()
        sdr = self._sdr
        sdr.sample_rate = int(config.sample_rate_sps)
        bandwidth_hz = int(
            config.rf_bandwidth_hz or max(config.sample_rate_sps, self.profile.rf_bandwidth_min_hz)
        )
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
        guard.check_tx(
            self.profile, freq_hz, self._tx_bandwidth(), self._sdr_tx_gain(), guard.allow_any_tx(config)
        )
        self._sdr.tx_lo = int(freq_hz)
        config.tx_freq_hz = freq_hz

    def set_tx_gain(self, gain_db: float) -> None:
        """Change the transmit gain (attenuation on a Pluto), guard-checked first."""
        config = self._require_config()
        if config.tx_freq_hz is None:
            raise ConfigError(self.profile.path, "tx_freq_hz", "transmitter not configured")
        guard.check_tx(
            self.profile, config.tx_freq_hz, self._tx_bandwidth(), gain_db, guard.allow_any_tx(config)
        )
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
        if config.rx_freq_hz is not None:
            self._spawn(self._rx_loop, "pluto-rx")
        if config.tx_freq_hz is not None:
            self._spawn(self._tx_loop, "pluto-tx")

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _rx_loop(self) -> None:
        index = 0
        while not self._stop.is_set():
            try:
                block = np.asarray(self._sdr.rx(), np.complex64) / np.float32(2048.0)
            except Exception as err:
                if not self._stop.is_set():
                    log.error("Pluto receive failed: %s", err)
                    self._stop.set()
                break
            try:
                self._rx_queue.put_nowait((index, block))
            except queue.Full:
                self.counters.overflows += len(block)
            index += len(block)

    def _tx_loop(self) -> None:
        size = self.config.buffer_size
        period_s = size / self.config.sample_rate_sps
        while not self._stop.is_set():
            try:
                block = self._tx_queue.get(timeout=period_s)
            except queue.Empty:
                if not self._tx_started:
                    continue
                block = np.zeros(2 * size, np.int16)
                self.counters.underflows += size
            try:
                self._push(block)
            except Exception as err:
                if not self._stop.is_set():
                    log.error("Pluto transmit failed: %s", err)
                    self._stop.set()
                break

    def _push(self, interleaved: np.ndarray) -> None:
        self._tx_started = True
        self._sdr.tx(interleaved[0::2] + 1j * interleaved[1::2].astype(np.float64))

    def read(self, n: int, timeout_s: float | None = None) -> tuple[int, np.ndarray]:
        """Up to ``n`` received samples (complex64, full scale 1.0) and the index of the first one."""
        if self._pending is None:
            try:
                self._pending = self._rx_queue.get(timeout=timeout_s)
            except queue.Empty:
                return self._rx_next_index, np.zeros(0, np.complex64)
        first, block = self._pending
        out, rest = block[:n], block[n:]
        self._pending = (first + len(out), rest) if len(rest) else None
        self._rx_next_index = first + len(out)
        return first, out

    def write(self, samples: np.ndarray, first_sample_index: int | None = None) -> None:
        """Queue ``samples`` (complex, full scale 1.0) for transmission; blocks when the queue is full."""
        config = self._require_config()
        if config.tx_freq_hz is None:
            raise ConfigError(self.profile.path, "tx_freq_hz", "transmitter not configured")
        x = np.concatenate([self._tx_pending, np.asarray(samples, np.complex64)])
        size = config.buffer_size
        whole = len(x) // size * size
        for start in range(0, whole, size):
            self._tx_queue.put(self._to_ints(x[start : start + size]))
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
        """Stop the threads, then destroy the transmit and receive buffers."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        if self._sdr is not None:
            self._sdr.tx_destroy_buffer()
            self._sdr.rx_destroy_buffer()
            self._sdr.tx_cyclic_buffer = False
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
