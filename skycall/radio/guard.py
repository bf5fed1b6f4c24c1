"""Check a :class:`RadioConfig` against a hardware profile before any device is touched.

Every backend calls :func:`check_config` at the top of ``configure`` and :func:`check_tx` at every
later transmit LO or gain change, so a radio never transmits outside the profile's allowed bands or
above its guard gain unless the flowgraph sets ``extra["allow_any_tx"]`` (``--allow-any-tx``).
Each violation raises one :class:`ConfigError` naming the profile file and key.
"""

from skycall.config.hw_profile import GainRange, HwProfile
from skycall.errors import ConfigError
from skycall.radio.base import RadioConfig


def allow_any_tx(config: RadioConfig) -> bool:
    return bool(config.extra.get("allow_any_tx", False))


def check_gain(profile: HwProfile, gains: GainRange, gain_db: float, key: str) -> None:
    """Raise when ``gain_db`` is outside ``[min_db, max_db]`` of the profile's gain control ``key``."""
    if not gains.min_db <= gain_db <= gains.max_db:
        raise ConfigError(
            profile.path,
            key,
            f"{gain_db} dB is outside {profile.name}'s range {gains.min_db} to {gains.max_db} dB",
        )


def check_tx(
    profile: HwProfile, freq_hz: float, bandwidth_hz: float, gain_db: float, allow_any: bool
) -> None:
    """Tuning, gain range, then the transmit guard (skipped only with ``allow_any``)."""
    profile.check_freq(freq_hz, "tx_freq_hz")
    check_gain(profile, profile.tx_gain, gain_db, "tx_gain_db")
    if allow_any:
        return
    try:
        profile.tx_guard.check(freq_hz, bandwidth_hz, gain_db)
    except ConfigError as err:
        raise ConfigError(profile.path, err.key, err.message) from None


def check_config(profile: HwProfile, config: RadioConfig) -> None:
    """Validate everything ``config`` asks of a radio described by ``profile``; raise on the first problem."""
    if config.rx_freq_hz is None and config.tx_freq_hz is None:
        raise ConfigError(profile.path, "rx_freq_hz", "set rx_freq_hz and/or tx_freq_hz")
    if profile.duplex == "half" and config.rx_freq_hz is not None and config.tx_freq_hz is not None:
        raise ConfigError(
            profile.path,
            "duplex",
            f"{profile.name} is half duplex: configure it to receive or to transmit, not both",
        )
    for key in ("rx_freq_hz", "tx_freq_hz"):
        freq_hz = getattr(config, key)
        if freq_hz is not None:
            profile.check_tuning(freq_hz, config.sample_rate_sps, key)
    bandwidth_hz = config.rf_bandwidth_hz if config.rf_bandwidth_hz is not None else config.sample_rate_sps
    if config.rf_bandwidth_hz is not None and not (
        profile.rf_bandwidth_min_hz <= bandwidth_hz <= profile.rf_bandwidth_max_hz
    ):
        raise ConfigError(
            profile.path,
            "rf_bandwidth_hz",
            f"{bandwidth_hz:.0f} Hz is outside {profile.name}'s range "
            f"{profile.rf_bandwidth_min_hz:.0f}-{profile.rf_bandwidth_max_hz:.0f} Hz",
        )
    if config.rx_freq_hz is not None:
        if config.rx_gain_mode not in profile.rx_gain.modes:
            raise ConfigError(
                profile.path,
                "rx_gain_mode",
                f"{config.rx_gain_mode!r} is not one of {profile.name}'s modes "
                f"{', '.join(profile.rx_gain.modes)}",
            )
        if config.rx_gain_db is not None:
            check_gain(profile, profile.rx_gain, config.rx_gain_db, "rx_gain_db")
    if config.tx_freq_hz is not None:
        check_tx(profile, config.tx_freq_hz, bandwidth_hz, tx_gain_of(profile, config), allow_any_tx(config))
    if config.buffer_size <= 0:
        raise ConfigError(profile.path, "buffer_size", f"must be positive, got {config.buffer_size}")


def tx_gain_of(profile: HwProfile, config: RadioConfig) -> float:
    """The transmit gain to apply: the configured one, else the profile default, else its minimum."""
    if config.tx_gain_db is not None:
        return config.tx_gain_db
    return profile.tx_gain.default_db if profile.tx_gain.default_db is not None else profile.tx_gain.min_db


def rx_gain_of(profile: HwProfile, config: RadioConfig) -> float:
    if config.rx_gain_db is not None:
        return config.rx_gain_db
    return profile.rx_gain.default_db if profile.rx_gain.default_db is not None else profile.rx_gain.min_db
