"""The ad9361 driver's attribute rules, as a store: what a write does, what it refuses.

Attributes are validated like the Linux ad9361 driver does (a refused write returns ``-EINVAL``):

* LO ``frequency`` 325 MHz – 3.8 GHz (AD9363), integer Hz; ``powerdown`` 0/1 switches an LO off;
* ``sampling_frequency`` from 61.44 MS/s down to 25 MHz/12 = 2 083 333 S/s, or down to
  25 MHz/(12·D) (520 833 S/s for D = 4) once a FIR with decimation D is loaded and enabled;
  the FIR cannot be disabled while the rate needs it;
* RX ``hardwaregain`` −3 … 71 dB in 1 dB steps, only in ``manual`` gain-control mode;
  TX ``hardwaregain`` (attenuation) −89.75 … 0 dB in 0.25 dB steps;
* ``xo_correction`` 39.992 – 40.008 MHz: the reference frequency the driver *believes*. Every
  synthesiser (both LOs and the baseband PLL that clocks the ADC/DAC) is programmed for it, so with
  a crystal really at ``crystal_hz`` every frequency comes out scaled by ``crystal_hz / xo_correction``;
* the DMA cores' debug attribute ``direct_reg_access`` reads and writes registers (libiio's
  ``iio_device_reg_read/write``: write ``"ADDR"`` then read ``"0xVALUE"``, or write ``"ADDR VALUE"``);
  the registers themselves belong to whoever :attr:`PlutoAttributes.registers` names.
"""

import errno
import threading

from skycall.radio.virtual_pluto.context import PHY, context_xml, pluto_devices

REF_CLOCK_HZ = 40e6
LO_MIN_HZ, LO_MAX_HZ = 325_000_000, 3_800_000_000
RATE_MAX_SPS = 61_440_000
RATE_MIN_NO_FIR_SPS = 25e6 / 12
RX_GAIN_DB = (-3.0, 71.0, 1.0)
TX_GAIN_DB = (-89.75, 0.0, 0.25)
XO_RANGE_HZ = (39_992_000, 40_008_000)
RANGES = {"rf_bandwidth": {False: (200_000, 56_000_000), True: (200_000, 40_000_000)}}
READ_ONLY = ("_available", "rssi", "rx_path_rates", "tx_path_rates", "input", "data_available")
REG_ATTR = "direct_reg_access"
RX_LO, TX_LO = "altvoltage0", "altvoltage1"


class IioError(Exception):
    """A refused request; ``code`` is the positive errno the server reports as ``-code``."""

    def __init__(self, code: int, why: str = ""):
        super().__init__(why or errno.errorcode.get(code, str(code)))
        self.code = code


class PlutoAttributes:
    """Attribute store of one Pluto with the driver's rules (see the module docstring).

    ``registers`` maps a DMA core's device name to an object with ``read(addr) -> int`` and
    ``write(addr, value)``; an address nobody answers reads as 0.
    """

    def __init__(self, serial: str, crystal_hz: float, lockstep: bool = True):
        self.serial = serial
        self.crystal_hz = float(crystal_hz)
        self.context_attrs, self.devices = pluto_devices(serial, lockstep)
        self.registers: dict[str, object] = {}
        self._reg_addr: dict[str, int] = {}
        self._lock = threading.Lock()
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

    # ------------------------------------------------------------------ access
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
        if key[1] == "debug" and attr == REG_ATTR:
            return f"0x{self._reg(key[0]).read(self._reg_addr.get(key[0], 0)):X}"
        with self._lock:
            return self._attrs[key]

    def write_attr(self, dev: str, attr: str, value: str, chan: str | None = None, output: bool = False,
                   kind: str = "dev") -> None:
        """Apply the driver's rules; raise :class:`IioError` (EINVAL, EACCES) when the write is refused."""
        key = self._key(dev, attr, chan, output, kind)
        value = value.rstrip("\x00").strip()
        if attr.endswith(READ_ONLY) or attr in READ_ONLY:
            raise IioError(errno.EACCES, f"{attr} is read-only")
        if key[1] == "debug" and attr == REG_ATTR:
            self._write_reg(key[0], value)
            return
        with self._lock:
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

    def _reg(self, dev_name: str):
        return self.registers.get(dev_name, _NO_REGISTERS)

    def _write_reg(self, dev_name: str, value: str) -> None:
        words = value.split()
        if not 1 <= len(words) <= 2:
            raise IioError(errno.EINVAL, f"direct_reg_access wants 'ADDR [VALUE]', got {value!r}")
        try:
            numbers = [int(w, 0) for w in words]
        except ValueError:
            raise IioError(errno.EINVAL, f"not a register access: {value!r}") from None
        self._reg_addr[dev_name] = numbers[0]
        if len(numbers) == 2:
            self._reg(dev_name).write(numbers[0], numbers[1])

    # ------------------------------------------------------------------ rules
    def _handlers(self) -> dict:
        return {
            (PHY, RX_LO, True, "frequency"): lambda o, v: self._set_lo(RX_LO, v),
            (PHY, TX_LO, True, "frequency"): lambda o, v: self._set_lo(TX_LO, v),
            (PHY, RX_LO, True, "powerdown"): lambda o, v: self._set_flag((PHY, RX_LO, True, "powerdown"), v),
            (PHY, TX_LO, True, "powerdown"): lambda o, v: self._set_flag((PHY, TX_LO, True, "powerdown"), v),
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
            **{(PHY, "voltage0", False, flag): lambda o, v, f=flag: self._set_flag((PHY, "voltage0", False, f), v)
               for flag in ("quadrature_tracking_en", "rf_dc_offset_tracking_en", "bb_dc_offset_tracking_en")},
        }

    def _set_flag(self, key: tuple, value: str) -> None:
        self._attrs[key] = "1" if _parse_int(value) else "0"

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
        if not XO_RANGE_HZ[0] <= xo_hz <= XO_RANGE_HZ[1]:
            raise IioError(errno.EINVAL, f"xo_correction {xo_hz} outside {XO_RANGE_HZ[0]}-{XO_RANGE_HZ[1]}")
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
        """Nominal sample rate (what the driver was asked for)."""
        return int(self._attrs[(PHY, "voltage0", False, "sampling_frequency")])

    @property
    def clock_scale(self) -> float:
        """True / nominal of every synthesised frequency: ``crystal_hz / xo_correction``."""
        return self.crystal_hz / float(self._attrs[(PHY, "dev", None, "xo_correction")])

    def gain_db(self, output: bool) -> float:
        return float(self._attrs[(PHY, "voltage0", output, "hardwaregain")].split()[0])

    def true_lo_hz(self, chan: str) -> float:
        """Actual LO: the nominal one scaled by :attr:`clock_scale`."""
        return float(self._attrs[(PHY, chan, True, "frequency")]) * self.clock_scale

    def lo_powered(self, chan: str) -> bool:
        return self._attrs[(PHY, chan, True, "powerdown")] == "0"

    def flag(self, name: str) -> bool:
        """An RX tracking switch (``quadrature_tracking_en``, ``bb_dc_offset_tracking_en``, ...)."""
        return self._attrs[(PHY, "voltage0", False, name)] == "1"


class _NoRegisters:
    def read(self, addr: int) -> int:
        return 0

    def write(self, addr: int, value: int) -> None:
        pass


_NO_REGISTERS = _NoRegisters()


def _parse_int(text: str) -> int:
    try:
        return int(float(text))
    except (ValueError, OverflowError):
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
