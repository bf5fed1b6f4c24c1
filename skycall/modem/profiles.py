"""Handset receiver profiles: what separates a satellite-capable receiver from an unmodified phone.

``SATELLITE``: wideband front end (the whole radio bandwidth is the channel), acquisition over
±50 kHz, carrier loops sized for ≥ 600 Hz/s Doppler ramps.
``UNMODIFIED``: terrestrial-grade phone: a narrow channel filter (passband ±13 kHz: the 8.1 kHz
half-bandwidth signal plus ~5 kHz of crystal error), ±5 kHz pull-in, narrow loops for ≤ 50 Hz/s. A
signal offset by 20 kHz falls outside its channel filter and acquisition range, which is why the
satellite pre-compensates the beam-centre Doppler.
"""

from dataclasses import dataclass

from skycall.errors import ConfigError


@dataclass(frozen=True)
class ReceiverProfile:
    """Receiver parameters.

    Parameters
    ----------
    name : str
    channel_passband_hz : float or None
        Passband edge of the channel filter, Hz (None: no channel filter, whole radio bandwidth).
    channel_stopband_hz : float
        Stopband edge of the channel filter, Hz (ignored when there is none).
    channel_decimation : int
        Decimation after the channel filter (radio rate / channel rate).
    acq_range_hz : float
        Coarse CFO search range ±acq_range_hz.
    acq_step_hz : float
        Spacing of the frequency hypotheses of the search, Hz.
    pll_bandwidth_hz : float
        Carrier loop noise bandwidth, Hz.
    rate_corner_ratio : float
        Carrier loop ω_n over the corner of its frequency-rate integrator.
    timing_bandwidth : float
        Timing loop noise bandwidth as a fraction of the symbol rate.
    detect_threshold : float
        Normalised differential UW correlation |c|²/Σ|d|² that raises a candidate (noise: ~Exp(1)).
    confirm_threshold : float
        Normalised coherent UW correlation |Σ y·u*|²/Σ|y|² that accepts it (noise: ~Exp(1)).
    track_threshold : float
        Same statistic on the tracked symbols of each frame's UW; below it the UW counts as missed.
    max_uw_misses : int
        Consecutive missed UWs after which lock is declared lost and the search restarts.
    confirm_uws : int
        UWs measured coherently (the detected one and the next ``confirm_uws - 1`` frames' UWs, each
        above confirm_threshold) before tracking starts; their frequencies initialise the carrier.
    estimate_rate : bool
        Fit the frequency rate (Hz/s) through the confirm UWs' frequencies (needs confirm_uws ≥ 2) and
        start the tracker on that chirp; otherwise start with rate 0 and the mean frequency.
    """

    name: str
    channel_passband_hz: float | None
    channel_stopband_hz: float
    channel_decimation: int
    acq_range_hz: float
    acq_step_hz: float
    pll_bandwidth_hz: float
    rate_corner_ratio: float
    timing_bandwidth: float = 0.004
    detect_threshold: float = 18.0
    confirm_threshold: float = 25.0
    track_threshold: float = 16.0
    max_uw_misses: int = 4
    confirm_uws: int = 2
    estimate_rate: bool = False


SATELLITE = ReceiverProfile(
    name="satellite",
    channel_passband_hz=None,
    channel_stopband_hz=0.0,
    channel_decimation=1,
    acq_range_hz=50_000.0,
    acq_step_hz=3_000.0,
    pll_bandwidth_hz=30.0,
    rate_corner_ratio=8.0,
    confirm_uws=3,
    estimate_rate=True,
)

UNMODIFIED = ReceiverProfile(
    name="unmodified",
    channel_passband_hz=13_000.0,
    channel_stopband_hz=21_000.0,
    channel_decimation=5,
    acq_range_hz=5_000.0,
    acq_step_hz=2_500.0,
    pll_bandwidth_hz=20.0,
    rate_corner_ratio=8.0,
    confirm_uws=3,
    estimate_rate=True,
)

PROFILES = {p.name: p for p in (SATELLITE, UNMODIFIED)}


def get_profile(name: str) -> ReceiverProfile:
    """The shipped profile called ``name``; unknown names raise :class:`ConfigError` listing the choices."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(
            "<profile>", "name", f"unknown receiver profile {name!r}; choose one of {', '.join(PROFILES)}"
        ) from None
