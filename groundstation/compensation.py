"""Beam-centre Doppler and delay pre-/post-compensation.

The satellite predicts, from its ephemeris, the Doppler ``f_D,c = -f ρ̇_c / c`` and delay
``τ_c = ρ_c / c`` of a (virtual) receiver at rest at the serving beam's centre. Downlink: the
beam is shifted by ``-f_D,c`` before transmission (pre-compensation); uplink: ``-f_D,c`` at the
uplink carrier is applied after reception (post-compensation). A handset at ``p`` then sees the
residual ``f_D,h - f_D,c`` only, which at distance ``x`` from the centre of a beam seen at zenith
is ≈ ``(v f / c) x / h`` (≈ ±2.2 kHz at the edge of a 66 km beam at 1.6 GHz, 600 km).

Delay (:func:`compensated_delay_s`): the satellite holds every downlink frame back by
``τ_0 - τ_c(t)`` with ``τ_0 = max τ_c`` over the run, so frames reach the beam centre a constant
``τ_0`` after its frame clock and the handset ``τ_0 + Δτ(t)``, ``Δτ = τ_h - τ_c``; it opens its uplink
receive window as if the beam centre's delay were ``τ_0`` too. A handset then sees only the
differential delay ``Δτ`` (±0.13 ms at a 16×16 cell corner at 10° elevation) and its drift
(≈ 1.4 µs/s), instead of 2-6.8 ms drifting by up to ±40 µs/s.
"""

from dataclasses import dataclass

import numpy as np

from groundstation.geodesy import SPEED_OF_LIGHT_M_S
from groundstation.passes import doppler_hz, range_and_rate


@dataclass(frozen=True)
class BeamCentreCompensation:
    """Per-instant Doppler/delay of the handset and of its serving beam's centre at one carrier."""

    freq_hz: float
    doppler_hz: np.ndarray  # physical Doppler at the handset
    centre_doppler_hz: np.ndarray  # predicted Doppler at the beam centre
    delay_s: np.ndarray  # physical one-way delay satellite → handset
    centre_delay_s: np.ndarray  # one-way delay satellite → beam centre

    @property
    def precomp_hz(self) -> np.ndarray:
        """Frequency shift the satellite applies (DL before transmission, UL after reception)."""
        return -self.centre_doppler_hz

    @property
    def residual_doppler_hz(self) -> np.ndarray:
        """What the handset (DL) or the satellite receiver (UL) is left with: ``f_D,h - f_D,c``."""
        return self.doppler_hz + self.precomp_hz

    @property
    def residual_delay_s(self) -> np.ndarray:
        """Delay relative to the beam centre (the handset's timing offset inside the beam)."""
        return self.delay_s - self.centre_delay_s


def beam_centre_compensation(
    r_sat_m, v_sat_m_s, handset_ecef_m, centre_ecef_m, freq_hz: float
) -> BeamCentreCompensation:
    """Compensation of the beam centred at ``centre_ecef_m`` ((3,) or (T, 3)) for a handset (3,).

    ``r_sat_m``, ``v_sat_m_s``: (T, 3) ECEF satellite state. Both ends are at rest on the Earth.
    """
    rho_h, rate_h = range_and_rate(r_sat_m, v_sat_m_s, handset_ecef_m)
    rho_c, rate_c = range_and_rate(r_sat_m, v_sat_m_s, centre_ecef_m)
    return BeamCentreCompensation(
        float(freq_hz),
        doppler_hz(rate_h, freq_hz),
        doppler_hz(rate_c, freq_hz),
        rho_h / SPEED_OF_LIGHT_M_S,
        rho_c / SPEED_OF_LIGHT_M_S,
    )


def compensated_delay_s(delay_s, residual_delay_s) -> tuple[np.ndarray, float]:
    """One-way delay of a delay-compensated link, ``τ_0 + Δτ(t)``, and its reference ``τ_0 = max τ_c``
    (seconds; NaN entries, where no beam serves, are ignored for τ_0 and kept)."""
    delay_s, residual_delay_s = np.asarray(delay_s, float), np.asarray(residual_delay_s, float)
    tau0 = float(np.nanmax(delay_s - residual_delay_s))
    return tau0 + residual_delay_s, tau0
