"""Hardware profiles (``hw_profiles/*.toml``): what a radio can do and what it may transmit.

Every profile is validated before any device is touched; the transmit guard is the last
line of defence against radiating outside the lab's allowed bands or above a safe gain.
"""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from skycall.config.schema import load_dataclass, read_toml, spec
from skycall.errors import ConfigError

DRIVERS = ("loopback", "pluto", "soapy")
GAIN_MODES = ("manual", "slow_attack", "fast_attack", "hybrid", "agc")


@dataclass(frozen=True, kw_only=True)
class GainRange:
    """A gain control: ``min_db ≤ gain ≤ max_db`` in steps of ``step_db`` (device units, dB)."""

    min_db: float = spec(lo=-120.0, hi=120.0)
    max_db: float = spec(lo=-120.0, hi=120.0)
    step_db: float = spec(1.0, lo=0.0, hi=20.0)
    modes: list[str] = spec(default_factory=lambda: ["manual"])
    default_db: float | None = spec(None, lo=-120.0, hi=120.0)

    def __post_init__(self):
        if self.max_db < self.min_db:
            raise ConfigError("", "max_db", f"max_db {self.max_db} is below min_db {self.min_db}")
        for mode in self.modes:
            if mode not in GAIN_MODES:
                raise ConfigError("", "modes", f"{mode!r} is not one of {', '.join(GAIN_MODES)}")


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """Measured frequency error of this unit's reference (``skycall calibrate`` writes it)."""

    freq_error_ppm: float = spec(0.0, lo=-100.0, hi=100.0)
    calibrated: bool = spec(False)
    serial: str = spec("")
    max_age_h: float = spec(24.0, lo=0.0, hi=1e5, doc="warn when the stored calibration is older (0: never)")


@dataclass(frozen=True, kw_only=True)
class TxGuard:
    """Transmission is refused outside ``allowed_bands_hz`` or above ``max_gain_db``."""

    allowed_bands_hz: list[list[float]] = spec(default_factory=list)
    max_gain_db: float = spec(0.0, lo=-120.0, hi=120.0)

    def __post_init__(self):
        for i, band in enumerate(self.allowed_bands_hz):
            if len(band) != 2 or band[0] >= band[1]:
                raise ConfigError(
                    "", f"allowed_bands_hz[{i}]", f"expected [low_hz, high_hz] with low < high, got {band}"
                )

    def check(self, freq_hz: float, bandwidth_hz: float, gain_db: float) -> None:
        """Raise :class:`ConfigError` when a transmission at ``freq_hz ± bandwidth_hz/2`` is not allowed."""
        lo, hi = freq_hz - bandwidth_hz / 2, freq_hz + bandwidth_hz / 2
        if not any(b[0] <= lo and hi <= b[1] for b in self.allowed_bands_hz):
            bands = (
                ", ".join(f"{b[0] / 1e6:.1f}-{b[1] / 1e6:.1f} MHz" for b in self.allowed_bands_hz) or "none"
            )
            raise ConfigError(
                "",
                "tx_guard.allowed_bands_hz",
                f"transmit {lo / 1e6:.3f}-{hi / 1e6:.3f} MHz is outside the allowed bands ({bands}); "
                "pass --allow-any-tx only if you are cabled into a dummy load or attenuators",
            )
        if gain_db > self.max_gain_db:
            raise ConfigError(
                "",
                "tx_guard.max_gain_db",
                f"transmit gain {gain_db} dB exceeds the guard's {self.max_gain_db} dB; "
                "pass --allow-any-tx only for a cabled set-up",
            )


@dataclass(frozen=True, kw_only=True)
class HwProfile:
    """One radio model: tuning, rates, gains, duplex, crystal, calibration, transmit guard."""

    name: str = spec()
    driver: str = spec(choices=DRIVERS)
    description: str = spec("")
    duplex: str = spec(choices=("full", "half"))
    default_args: str = spec("", doc="URI (pluto) or SoapySDR device args")
    freq_min_hz: float = spec(lo=0.0, hi=100e9)
    freq_max_hz: float = spec(lo=0.0, hi=100e9)
    sample_rate_min_sps: float = spec(lo=1.0, hi=1e10)
    sample_rate_max_sps: float = spec(lo=1.0, hi=1e10)
    rf_bandwidth_min_hz: float = spec(0.0, lo=0.0, hi=1e10)
    rf_bandwidth_max_hz: float = spec(1e10, lo=0.0, hi=1e10)
    crystal_tolerance_ppm: float = spec(lo=0.0, hi=1000.0)
    tx_full_scale: float = spec(1.0, lo=0.0, hi=2.0**31, doc="integer full scale of transmit samples")
    if_offset_hz: float = spec(0.0, lo=-50e6, hi=50e6, doc="digital IF: the LO sits this far below the carrier")
    dc_block_hz: float = spec(0.0, lo=0.0, hi=1e5, doc="receive DC blocker corner (0: none)")
    rx_gain: GainRange = spec(default_factory=lambda: GainRange(min_db=0.0, max_db=0.0))
    tx_gain: GainRange = spec(default_factory=lambda: GainRange(min_db=0.0, max_db=0.0))
    calibration: Calibration = spec(default_factory=Calibration)
    tx_guard: TxGuard = spec(default_factory=TxGuard)
    path: str = field(default="", compare=False)

    def __post_init__(self):
        if self.freq_max_hz <= self.freq_min_hz:
            raise ConfigError("", "freq_max_hz", "must be above freq_min_hz")
        if self.sample_rate_max_sps < self.sample_rate_min_sps:
            raise ConfigError("", "sample_rate_max_sps", "must not be below sample_rate_min_sps")

    def check_freq(self, freq_hz: float, key: str = "freq_hz") -> None:
        """Raise :class:`ConfigError` naming ``key`` when the radio cannot tune to ``freq_hz``."""
        if not self.freq_min_hz <= freq_hz <= self.freq_max_hz:
            raise ConfigError(
                self.path,
                key,
                f"{freq_hz / 1e6:.3f} MHz is outside {self.name}'s tuning range "
                f"{self.freq_min_hz / 1e6:.1f}-{self.freq_max_hz / 1e6:.1f} MHz",
            )

    def check_tuning(self, freq_hz: float, sample_rate_sps: float, key: str = "freq_hz") -> None:
        """Raise :class:`ConfigError` naming ``key`` when the radio cannot tune/sample as asked."""
        self.check_freq(freq_hz, key)
        if not self.sample_rate_min_sps <= sample_rate_sps <= self.sample_rate_max_sps:
            raise ConfigError(
                self.path,
                "sample_rate_sps",
                f"{sample_rate_sps:.0f} S/s is outside {self.name}'s range "
                f"{self.sample_rate_min_sps:.0f}-{self.sample_rate_max_sps:.0f} S/s",
            )


PROFILE_DIR = Path(__file__).resolve().parents[2] / "hw_profiles"


def load_hw_profile(path_or_name: str | Path) -> HwProfile:
    """Load ``hw_profiles/NAME.toml`` (by name) or any profile file (by path)."""
    path = Path(path_or_name)
    if path.suffix != ".toml":
        path = PROFILE_DIR / f"{path_or_name}.toml"
    profile = load_dataclass(HwProfile, read_toml(path), str(path))
    return dataclasses.replace(profile, path=str(path))
