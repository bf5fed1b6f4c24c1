"""Behavioural model of one ADALM-PLUTO: attribute rules of the ad9361 driver and the sample streams.

Attributes are validated like the Linux ad9361 driver does (a refused write returns ``-EINVAL``):

* LO ``frequency`` 325 MHz – 3.8 GHz (AD9363), integer Hz;
* ``sampling_frequency`` from 61.44 MS/s down to 25 MHz/12 = 2 083 333 S/s, or down to
  25 MHz/(12·D) (520 833 S/s for D = 4) once a FIR with decimation D is loaded and enabled;
  the FIR cannot be disabled while the rate needs it;
* RX ``hardwaregain`` −3 … 71 dB in 1 dB steps, only in ``manual`` gain-control mode;
  TX ``hardwaregain`` (attenuation) −89.75 … 0 dB in 0.25 dB steps.

Streams are paced by sample index, never by the wall clock. The transmit side is a queue: a
fixed delay line of ``delay_samples`` zeros, then the samples written (or the cyclic buffer,
repeated). Whoever receives (this device's own receiver in loopback, or a peer's) pulls ``n``
samples at a time. A receive buffer just opened waits once (up to the client's timeout) for the
transmitter to start, and every pull waits for an open stream to deliver: both ends start at
sample 0 together and stay in lock-step whatever the machine's speed. The received baseband is

    r[n] = A · s[n − D] · exp(j2π (f_tx,true − f_rx,true) n / fs) + w[n],
    A = 10^((g_tx + g_rx − L)/20),   f_true = f_LO · 40 MHz·(1 + ε) / xo_correction,

with ε the crystal error (``lo_offset_ppm``·1e-6), L the bench attenuation ``path_loss_db`` and w
whatever the optional air model adds; it is quantised to the 12-bit ADC (full scale 2048).
Transmit integers are read at full scale 2^14.
"""

import errno
import math
import threading
from collections import deque
from collections.abc import Callable

import numpy as np

from skycall.radio.virtual_pluto.context import PHY, context_xml, pluto_devices

TX_FULL_SCALE = 16384.0
RX_FULL_SCALE = 2048.0
REF_CLOCK_HZ = 40e6
LO_MIN_HZ, LO_MAX_HZ = 325_000_000, 3_800_000_000
RATE_MAX_SPS = 61_440_000
RATE_MIN_NO_FIR_SPS = 25e6 / 12
RX_GAIN_DB = (-3.0, 71.0, 1.0)
TX_GAIN_DB = (-89.75, 0.0, 0.25)
RANGES = {"rf_bandwidth": {False: (200_000, 56_000_000), True: (200_000, 40_000_000)}}
READ_ONLY = ("_available", "rssi", "rx_path_rates", "tx_path_rates", "input", "data_available")


class IioError(Exception):
    """A refused request; ``code`` is the positive errno the server reports as ``-code``."""

    def __init__(self, code: int, why: str = ""):
        super().__init__(why or errno.errorcode.get(code, str(code)))
        self.code = code


class SampleQueue:
    """FIFO of complex64 samples stored as chunks; ``pop(n)`` returns exactly ``n`` (zero-padded)."""

    def __init__(self):
        self._chunks: deque[np.ndarray] = deque()
        self.size = 0

    def push(self, x: np.ndarray) -> None:
        if len(x):
            self._chunks.append(np.asarray(x, np.complex64))
            self.size += len(x)

    def pop(self, n: int) -> tuple[np.ndarray, int]:
        """Return ``(samples, missing)``: the first ``n`` queued samples, zeros for the ``missing`` ones."""
        out = np.zeros(n, np.complex64)
        got = 0
        while got < n and self._chunks:
            head = self._chunks[0]
            take = min(n - got, len(head))
            out[got : got + take] = head[:take]
            if take == len(head):
                self._chunks.popleft()
            else:
                self._chunks[0] = head[take:]
            got += take
        self.size -= got
        return out, n - got

    def clear(self) -> None:
        self._chunks.clear()
        self.size = 0


class VirtualPluto:
    """One emulated Pluto: attribute store with driver rules, transmit queue, receive chain.

    Parameters
    ----------
    serial : str
        Reported as the context attribute ``hw_serial``.
    lo_offset_ppm : float
        Crystal error ε·1e6: every LO is off by ``f_LO·ε`` until ``xo_correction`` compensates it.
    delay_samples : int
        Fixed transmit-to-receive latency D, in samples.
    path_loss_db : float
        Bench attenuation L between the transmit port and the receive port.
    air : object with ``process(x, first_index) -> ndarray`` or None
        Applied to the received baseband (receive full scale = 1.0) before quantisation; ``None`` is an
        ideal cable.

    A receive request of ``n`` samples waits up to ``wait_s`` (the iiod connection's timeout) for an
    open non-cyclic transmit stream to deliver them, then pads with zeros (counted in
    ``tx_underflow_samples``).
    """

    def __init__(
        self,
        serial: str = "virtual-0",
        lo_offset_ppm: float = 0.0,
        delay_samples: int = 64,
        path_loss_db: float = 30.0,
        air=None,
    ):
        if delay_samples < 0:
            raise ValueError(f"delay_samples must be >= 0, got {delay_samples}")
        self.serial = serial
        self.crystal_hz = REF_CLOCK_HZ * (1.0 + lo_offset_ppm * 1e-6)
        self.path_loss_db = float(path_loss_db)
        self.air = air
        self.context_attrs, self.devices = pluto_devices(serial)
        self._attrs: dict[tuple, str] = {}
        for dev in self.devices:
            for chn in dev.channels:
                for name, value in chn.attrs.items():
                    self._attrs[(dev.name, chn.id, chn.output, name)] = value
            for kind, table in (("dev", dev.attrs), ("debug", dev.debug_attrs), ("buffer", dev.buffer_attrs)):
                for name, value in table.items():
                    self._attrs[(dev.name, kind, None, name)] = value
        self._fir_taps, self._fir_dec, self._fir_int = 0, 1, 1
        self._update_path_rates()
        self._cond = threading.Condition()
        self._tx_queue = SampleQueue()
        self.delay_samples = int(delay_samples)
        self._restart_delay_line()
        self._tx_cyclic: np.ndarray | None = None
        self._tx_cyclic_pos = 0
        self._tx_streaming = False
        self._closed = False
        self._rx_index = 0
        self._rx_phase_cycles = 0.0
        self._rx_awaiting = False
        self.tx_underflow_samples = 0
        self._tx_unheard = False
        self.source: Callable[[int, float, bool], tuple[np.ndarray, float]] = self.take_tx
        self.on_rx_close: Callable[[], None] = self.unheard

    # ------------------------------------------------------------------ attributes
    @property
    def xml(self) -> str:
        """The context XML served to ``PRINT`` (``hw_serial`` follows :attr:`serial`)."""
        return context_xml({**self.context_attrs, "hw_serial": self.serial}, self.devices)

    def device(self, dev_id_or_name: str):
        for dev in self.devices:
            if dev_id_or_name in (dev.id, dev.name):
                return dev
        raise IioError(errno.ENODEV, f"no device {dev_id_or_name}")

    def read_attr(self, dev: str, attr: str, chan: str | None = None, output: bool = False, kind: str = "dev") -> str:
        """Value of a channel attribute (``chan`` set) or of a ``dev``/``debug``/``buffer`` attribute."""
        key = self._key(dev, attr, chan, output, kind)
        with self._cond:
            return self._attrs[key]

    def write_attr(
        self,
        dev: str,
        attr: str,
        value: str,
        chan: str | None = None,
        output: bool = False,
        kind: str = "dev",
    ) -> None:
        """Apply the driver's rules; raise :class:`IioError` (EINVAL, EACCES) when the write is refused."""
        key = self._key(dev, attr, chan, output, kind)
        value = value.rstrip("\x00").strip()
        if attr.endswith(READ_ONLY) or attr in READ_ONLY:
            raise IioError(errno.EACCES, f"{attr} is read-only")
        with self._cond:
            handler = self._handlers().get(key)
            if handler:
                handler(output, value)
            else:
                self._attrs[key] = value

    def _key(self, dev: str, attr: str, chan: str | None, output: bool, kind: str) -> tuple:
        name = self.device(dev).name
        key = (name, chan, output, attr) if chan is not None else (name, kind, None, attr)
        if key not in self._attrs:
            raise IioError(errno.ENOENT, f"no attribute {attr}")
        return key

    def _handlers(self) -> dict:
        return {
            (PHY, "altvoltage0", True, "frequency"): lambda o, v: self._set_lo("altvoltage0", v),
            (PHY, "altvoltage1", True, "frequency"): lambda o, v: self._set_lo("altvoltage1", v),
            (PHY, "voltage0", False, "hardwaregain"): self._set_rx_gain,
            (PHY, "voltage0", True, "hardwaregain"): self._set_tx_gain,
            (PHY, "voltage0", False, "gain_control_mode"): self._set_gain_mode,
            (PHY, "voltage0", False, "sampling_frequency"): self._set_rate,
            (PHY, "voltage0", True, "sampling_frequency"): self._set_rate,
            (PHY, "voltage0", False, "rf_bandwidth"): self._set_bandwidth,
            (PHY, "voltage0", True, "rf_bandwidth"): self._set_bandwidth,
            (PHY, "out", False, "voltage_filter_fir_en"): self._set_fir_enable,
            (PHY, "dev", None, "filter_fir_config"): self._set_fir_config,
            (PHY, "dev", None, "xo_correction"): self._set_xo_correction,
        }

    def _set_lo(self, chan: str, value: str) -> None:
        freq_hz = _parse_int(value)
        if not LO_MIN_HZ <= freq_hz <= LO_MAX_HZ:
            raise IioError(errno.EINVAL, f"LO {freq_hz} Hz outside {LO_MIN_HZ}-{LO_MAX_HZ}")
        self._attrs[(PHY, chan, True, "frequency")] = str(freq_hz)

    def _set_rx_gain(self, output: bool, value: str) -> None:
        if self._attrs[(PHY, "voltage0", False, "gain_control_mode")] != "manual":
            raise IioError(errno.EINVAL, "RX gain can only be set in manual gain-control mode")
        gain_db = _quantise(_parse_float(value), *RX_GAIN_DB)
        self._attrs[(PHY, "voltage0", False, "hardwaregain")] = f"{gain_db:.6f} dB"

    def _set_tx_gain(self, output: bool, value: str) -> None:
        gain_db = _quantise(_parse_float(value), *TX_GAIN_DB)
        self._attrs[(PHY, "voltage0", True, "hardwaregain")] = f"{gain_db:.6f} dB"

    def _set_gain_mode(self, output: bool, value: str) -> None:
        if value not in self._attrs[(PHY, "voltage0", False, "gain_control_mode_available")].split():
            raise IioError(errno.EINVAL, f"unknown gain_control_mode {value!r}")
        self._attrs[(PHY, "voltage0", False, "gain_control_mode")] = value

    def _set_bandwidth(self, output: bool, value: str) -> None:
        lo, hi = RANGES["rf_bandwidth"][output]
        bw_hz = _parse_int(value)
        if not lo <= bw_hz <= hi:
            raise IioError(errno.EINVAL, f"rf_bandwidth {bw_hz} outside {lo}-{hi}")
        self._attrs[(PHY, "voltage0", output, "rf_bandwidth")] = str(bw_hz)

    def _rate_min_sps(self, fir_enabled: bool) -> int:
        return int(RATE_MIN_NO_FIR_SPS / (self._fir_dec if fir_enabled else 1))

    def _fir_enabled(self) -> bool:
        return self._attrs[(PHY, "out", False, "voltage_filter_fir_en")] == "1"

    def _set_rate(self, output: bool, value: str) -> None:
        rate_sps = _parse_int(value)
        lo = self._rate_min_sps(self._fir_enabled())
        if not lo <= rate_sps <= RATE_MAX_SPS:
            raise IioError(errno.EINVAL, f"sampling_frequency {rate_sps} outside {lo}-{RATE_MAX_SPS}")
        for key in self._attrs:
            if key[3] == "sampling_frequency":
                self._attrs[key] = str(rate_sps)
        self._update_path_rates()

    def _set_fir_enable(self, output: bool, value: str) -> None:
        enable = _parse_int(value) != 0
        if enable and self._fir_taps == 0:
            raise IioError(errno.EINVAL, "no FIR loaded (write filter_fir_config first)")
        if not enable and self.sample_rate_sps < self._rate_min_sps(False):
            raise IioError(errno.EINVAL, "the current sampling_frequency needs the FIR decimation")
        flag = "1" if enable else "0"
        self._attrs[(PHY, "out", False, "voltage_filter_fir_en")] = flag
        self._attrs[(PHY, "voltage0", False, "filter_fir_en")] = flag
        self._attrs[(PHY, "voltage0", True, "filter_fir_en")] = flag
        self._update_path_rates()

    def _set_fir_config(self, output: bool, value: str) -> None:
        """Parse an ad9361 FIR file: ``RX 3 GAIN g DEC d``, ``TX 3 GAIN g INT i``, ``rx,tx`` taps."""
        dec = interp = 0
        taps = 0
        for line in value.splitlines():
            words = line.replace(",", " ").split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] == "RX" and "DEC" in words:
                dec = _parse_int(words[words.index("DEC") + 1])
            elif words[0] == "TX" and "INT" in words:
                interp = _parse_int(words[words.index("INT") + 1])
            elif words[0].lstrip("-").isdigit():
                if any(not -32768 <= _parse_int(w) <= 32767 for w in words):
                    raise IioError(errno.EINVAL, "FIR tap outside int16")
                taps += 1
        if dec not in (1, 2, 4) or interp not in (1, 2, 4) or not 0 < taps <= 128 or taps % 16:
            raise IioError(errno.EINVAL, f"bad FIR: DEC {dec} INT {interp} with {taps} taps")
        self._fir_taps, self._fir_dec, self._fir_int = taps, dec, interp
        self._attrs[(PHY, "dev", None, "filter_fir_config")] = f"FIR Rx: {taps},{dec} Tx: {taps},{interp}"
        self._update_path_rates()

    def _set_xo_correction(self, output: bool, value: str) -> None:
        xo_hz = _parse_int(value)
        if not 39_992_000 <= xo_hz <= 40_008_000:
            raise IioError(errno.EINVAL, f"xo_correction {xo_hz} outside 39992000-40008000")
        self._attrs[(PHY, "dev", None, "xo_correction")] = str(xo_hz)

    def _update_path_rates(self) -> None:
        """Clock chain text as the driver prints it (ADC = 8·D·fs, BBPLL = 2^k·ADC in 715–1430 MHz)."""
        rate = self.sample_rate_sps
        dec = self._fir_dec if self._fir_enabled() else 1
        interp = self._fir_int if self._fir_enabled() else 1
        adc = rate * dec * 8
        bbpll = adc
        while bbpll < 715e6:
            bbpll *= 2
        rx = f"BBPLL:{bbpll} ADC:{adc} R2:{adc // 2} R1:{adc // 4} RF:{rate * dec} RXSAMP:{rate}"
        tx = f"BBPLL:{bbpll} DAC:{adc // 2} T2:{adc // 2} T1:{adc // 4} TF:{rate * interp} TXSAMP:{rate}"
        self._attrs[(PHY, "dev", None, "rx_path_rates")] = rx
        self._attrs[(PHY, "dev", None, "tx_path_rates")] = tx

    # ------------------------------------------------------------------ derived state
    @property
    def sample_rate_sps(self) -> int:
        return int(self._attrs[(PHY, "voltage0", False, "sampling_frequency")])

    def _gain_db(self, output: bool) -> float:
        return float(self._attrs[(PHY, "voltage0", output, "hardwaregain")].split()[0])

    def true_lo_hz(self, chan: str) -> float:
        """Actual LO: the nominal one scaled by the crystal's error not yet corrected by ``xo_correction``."""
        nominal = float(self._attrs[(PHY, chan, True, "frequency")])
        return nominal * self.crystal_hz / float(self._attrs[(PHY, "dev", None, "xo_correction")])

    # ------------------------------------------------------------------ streams
    def open_tx(self, cyclic: bool) -> None:
        """A transmit buffer opened: a new transmission, heard after the delay line, held for its receiver."""
        with self._cond:
            self._tx_streaming = not cyclic
            self._tx_cyclic = None
            self._tx_unheard = False
            self._restart_delay_line()
            self._cond.notify_all()

    def _restart_delay_line(self) -> None:
        self._tx_queue.clear()
        self._tx_queue.push(np.zeros(self.delay_samples, np.complex64))

    def close_tx(self) -> None:
        with self._cond:
            self._tx_streaming = False
            self._tx_cyclic = None
            self._cond.notify_all()

    def unheard(self) -> None:
        """The receiver of this stream closed: until it pulls again or a new transmission opens, drop samples."""
        with self._cond:
            self._tx_unheard = True
            self._restart_delay_line()
            self._cond.notify_all()

    def open_rx(self) -> None:
        """A receive buffer opened: its first pull waits for the transmitter to start."""
        with self._cond:
            self._rx_awaiting = True

    def close_rx(self) -> None:
        """This device's receive buffer closed: tell whoever transmits to it (see :attr:`on_rx_close`)."""
        self.on_rx_close()

    def write_tx(self, iq: np.ndarray, cyclic: bool, timeout_s: float, max_queued: int) -> None:
        """Queue transmit integers ``iq`` (int16, shape (n, 2)); block while ``max_queued`` are waiting.

        Once the receiver of this stream has closed (:meth:`unheard`) the samples are dropped.
        """
        x = ((iq[:, 0].astype(np.float32) + 1j * iq[:, 1].astype(np.float32)) / TX_FULL_SCALE).astype(np.complex64)
        with self._cond:
            if cyclic:
                self._tx_cyclic, self._tx_cyclic_pos = x, 0
                self._cond.notify_all()
                return
            if not self._cond.wait_for(
                lambda: self._closed or self._tx_unheard or self._tx_queue.size < max_queued, timeout_s
            ):
                raise IioError(errno.ETIMEDOUT, "nobody is receiving this transmit stream")
            if not self._tx_unheard:
                self._tx_queue.push(x)
            self._cond.notify_all()

    def take_tx(self, n: int, wait_s: float = 0.0, await_start: bool = False) -> tuple[np.ndarray, float]:
        """Next ``n`` transmitted samples (TX full scale 1.0, TX gain applied) and the true TX LO in Hz.

        An open non-cyclic stream is waited for up to ``wait_s``; what is still missing is zeros.
        With ``await_start``, a transmitter not yet started is first waited for, up to ``wait_s``.
        """
        with self._cond:
            self._tx_unheard = False
            if await_start:
                self._cond.wait_for(lambda: self._closed or self._tx_streaming or self._tx_cyclic is not None, wait_s)
            if self._tx_cyclic is not None:
                need = n - self._tx_queue.size
                if need > 0:
                    reps = -(-(need + self._tx_cyclic_pos) // len(self._tx_cyclic))
                    tiled = np.tile(self._tx_cyclic, reps)[self._tx_cyclic_pos : self._tx_cyclic_pos + need]
                    self._tx_cyclic_pos = (self._tx_cyclic_pos + need) % len(self._tx_cyclic)
                    self._tx_queue.push(tiled)
            elif self._tx_streaming:
                self._cond.wait_for(lambda: self._closed or not self._tx_streaming or self._tx_queue.size >= n, wait_s)
            x, missing = self._tx_queue.pop(n)
            if self._tx_streaming:
                self.tx_underflow_samples += missing
            self._cond.notify_all()
            gain = 10.0 ** (self._gain_db(True) / 20.0)
            return (x * np.float32(gain)).astype(np.complex64), self.true_lo_hz("altvoltage1")

    def read_rx(self, n: int, wait_s: float = 0.0) -> np.ndarray:
        """Receive ``n`` samples as ADC integers, int16 of shape (n, 2) (I, Q), 12-bit range.

        ``wait_s``: how long the transmit stream heard may take to deliver (see :meth:`take_tx`).
        """
        with self._cond:
            await_start, self._rx_awaiting = self._rx_awaiting, False
        x, tx_lo_hz = self.source(n, wait_s, await_start)
        with self._cond:
            offset_hz = tx_lo_hz - self.true_lo_hz("altvoltage0")
            cycles_per_sample = offset_hz / self.sample_rate_sps
            gain = 10.0 ** ((self._gain_db(False) - self.path_loss_db) / 20.0)
            first = self._rx_index
            self._rx_index += n
            phase0 = self._rx_phase_cycles
            self._rx_phase_cycles = math.fmod(phase0 + cycles_per_sample * n, 1.0)
        if cycles_per_sample != 0.0:
            phase = 2.0 * np.pi * (phase0 + cycles_per_sample * np.arange(n))
            x = x * np.exp(1j * phase).astype(np.complex64)
        y = x * np.float32(gain)
        if self.air is not None:
            y = self.air.process(y.astype(np.complex64), first)
        out = np.empty((n, 2), np.int16)
        out[:, 0] = np.clip(np.rint(y.real * RX_FULL_SCALE), -2048, 2047)
        out[:, 1] = np.clip(np.rint(y.imag * RX_FULL_SCALE), -2048, 2047)
        return out

    def shutdown(self) -> None:
        """Wake every waiting stream so server threads can exit."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def _parse_int(text: str) -> int:
    try:
        return int(float(text))
    except ValueError:
        raise IioError(errno.EINVAL, f"not a number: {text!r}") from None


def _parse_float(text: str) -> float:
    try:
        return float(text.split()[0])
    except (ValueError, IndexError):
        raise IioError(errno.EINVAL, f"not a number: {text!r}") from None


def _quantise(value: float, lo: float, hi: float, step: float) -> float:
    if not lo <= value <= hi:
        raise IioError(errno.EINVAL, f"{value} outside {lo}..{hi}")
    return round(value / step) * step
