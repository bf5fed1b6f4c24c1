"""Handset receiver profiles: what separates a satellite-capable receiver from an unmodified phone.

``SATELLITE``: wideband front end (the whole radio bandwidth is the channel), acquisition over
±50 kHz, a third-order carrier loop started on a measured Doppler ramp (≥ 600 Hz/s), no limit on the
frequency it follows.

``UNMODIFIED``: what a 3GPP phone is specified and built to do (sources in ``docs/physics.md`` §9),
at the carrier it listens to (:func:`terrestrial_profile`):

* its oscillator is off by up to ``TCXO_TOLERANCE_PPM`` before it syncs, and the fastest terrestrial
  Doppler it must follow is the high-speed train's (``HST_DOPPLER_HZ``), so its initial search tries
  frequency hypotheses over ``±pull_in_hz = ±(TCXO_TOLERANCE_PPM·f + HST_DOPPLER_HZ)`` around its
  frequency reference and nothing else;
* it follows the carrier with a **second-order** loop (no Doppler-rate estimate) sized for the
  high-speed train's ramp ``HST_RATE_HZ_S = f_d·v/D_min``: a ramp R leaves sin φ = 2πR/ω_n² of phase
  error, ``DESIGN_PHASE_RAD`` at the HST ramp; the loop pulls out where sin φ reaches sin(π/4) (QPSK
  decisions flip), at ``max_rate_hz_s`` ≈ 1.85 × the HST ramp;
* it corrects its frequency reference (AFC on the VC-TCXO/synthesiser) only within
  ``±afc_range_hz = ±AFC_RANGE_PPM·f``: beyond, even a slow ramp is lost, and it searches again around
  the last correction it held;
* its channel filter passes the signal anywhere within that correction range.
"""

import math
from dataclasses import dataclass

from skycall.config.flowgraph import DL_FREQ_HZ
from skycall.errors import ConfigError

#: frequency error of a handset TCXO before it syncs to a cell, ±ppm
TCXO_TOLERANCE_PPM = 2.5
#: VC-TCXO frequency adjustment (AFC) range, ±ppm
AFC_RANGE_PPM = 5.0
#: TS 38.101-4 HST-DPS (500 km/h, 15 kHz SCS): maximum Doppler f_d, speed v, RRH-track distance D_min
HST_DOPPLER_HZ = 870.0
HST_SPEED_M_S = 500.0 / 3.6
HST_DMIN_M = 150.0
#: steepest Doppler ramp of that scenario (passing an RRH): f_d·v/D_min
HST_RATE_HZ_S = HST_DOPPLER_HZ * HST_SPEED_M_S / HST_DMIN_M
#: steady-state phase error the terrestrial loop keeps on the HST ramp (half QPSK's π/4 decision margin)
DESIGN_PHASE_RAD = math.pi / 8
#: one-sided bandwidth of the transmitted spectrum, Hz (12 ksym/s, RRC roll-off 0.35)
SIGNAL_HALF_BANDWIDTH_HZ = 12_000.0 * 1.35 / 2


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
        Coarse CFO search: hypotheses every ``acq_step_hz`` over ±acq_range_hz (rounded up).
    acq_step_hz : float
        Spacing of the frequency hypotheses of the search, Hz.
    pll_bandwidth_hz : float
        Carrier loop noise bandwidth, Hz.
    rate_corner_ratio : float or None
        Carrier loop ω_n over the corner of its frequency-rate integrator; None: no rate integrator
        (second-order loop).
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
    pull_in_hz : float or None
        Accept a detection only within ±pull_in_hz of the receiver's frequency reference (its last
        tracked frequency, 0 before the first lock); None: wherever the hypotheses reach, around 0.
    afc_range_hz : float or None
        Largest frequency correction (Hz, either sign) the receiver can apply; None: unlimited.
    """

    name: str
    channel_passband_hz: float | None
    channel_stopband_hz: float
    channel_decimation: int
    acq_range_hz: float
    acq_step_hz: float
    pll_bandwidth_hz: float
    rate_corner_ratio: float | None
    timing_bandwidth: float = 0.004
    detect_threshold: float = 18.0
    confirm_threshold: float = 25.0
    track_threshold: float = 16.0
    max_uw_misses: int = 4
    confirm_uws: int = 2
    estimate_rate: bool = False
    pull_in_hz: float | None = None
    afc_range_hz: float | None = None

    def __post_init__(self):
        if self.afc_range_hz is not None and (self.estimate_rate or self.rate_corner_ratio is not None):
            raise ConfigError("<profile>", f"{self.name}.afc_range_hz",
                              "a correction limit needs a second-order loop without a rate estimate")

    @property
    def max_rate_hz_s(self) -> float:
        """Steepest linear Doppler ramp the loop follows without noise (inf with a rate integrator).

        Second order: the ramp's steady-state phase error satisfies sin φ = 2πR/ω_n²
        (ω_n = 2π·B_L/(0.53·2π) rad/s); the decision-directed QPSK detector holds while φ < π/4.
        """
        if self.rate_corner_ratio is not None:
            return math.inf
        omega_n = self.pll_bandwidth_hz / 0.53
        return math.sin(math.pi / 4) * omega_n**2 / (2 * math.pi)


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


def terrestrial_loop_bandwidth_hz() -> float:
    """B_L of the second-order loop that keeps ``DESIGN_PHASE_RAD`` of phase error on the HST ramp:
    ω_n² = 2π·HST_RATE_HZ_S / sin(DESIGN_PHASE_RAD), B_L = 0.53·ω_n (ζ = 1/√2)."""
    return 0.53 * math.sqrt(2 * math.pi * HST_RATE_HZ_S / math.sin(DESIGN_PHASE_RAD))


def terrestrial_profile(carrier_hz: float = DL_FREQ_HZ) -> ReceiverProfile:
    """The ``unmodified`` phone's receiver at downlink carrier ``carrier_hz`` (see the module docstring).

    The channel filter's passband reaches the AFC range plus the signal's half bandwidth (a phone's
    filter moves with its corrected oscillator; here the correction is digital, after a fixed filter).
    """
    if not 1e6 <= carrier_hz <= 100e9:
        raise ConfigError("<profile>", "carrier_hz", f"{carrier_hz} Hz is outside 1 MHz - 100 GHz")
    afc_hz = AFC_RANGE_PPM * 1e-6 * carrier_hz
    pull_in_hz = TCXO_TOLERANCE_PPM * 1e-6 * carrier_hz + HST_DOPPLER_HZ
    passband_hz = afc_hz + SIGNAL_HALF_BANDWIDTH_HZ
    return ReceiverProfile(
        name="unmodified",
        channel_passband_hz=passband_hz,
        channel_stopband_hz=passband_hz + 8_000.0,
        channel_decimation=5,
        acq_range_hz=pull_in_hz,
        acq_step_hz=2_500.0,
        pll_bandwidth_hz=terrestrial_loop_bandwidth_hz(),
        rate_corner_ratio=None,
        confirm_uws=2,
        estimate_rate=False,
        pull_in_hz=pull_in_hz,
        afc_range_hz=afc_hz,
    )


UNMODIFIED = terrestrial_profile()

PROFILES = {p.name: p for p in (SATELLITE, UNMODIFIED)}


def get_profile(name: str, carrier_hz: float = DL_FREQ_HZ) -> ReceiverProfile:
    """The shipped profile called ``name`` at downlink carrier ``carrier_hz`` (the terrestrial phone's
    limits are in ppm of it); unknown names raise :class:`ConfigError` listing the choices."""
    if name not in PROFILES:
        raise ConfigError(
            "<profile>", "name", f"unknown receiver profile {name!r}; choose one of {', '.join(PROFILES)}"
        )
    if name == UNMODIFIED.name and carrier_hz != DL_FREQ_HZ:
        return terrestrial_profile(carrier_hz)
    return PROFILES[name]


__all__ = ["ReceiverProfile", "SATELLITE", "UNMODIFIED", "PROFILES", "get_profile", "terrestrial_profile"]
