"""Observer geometry: azimuth/elevation, range, range rate, Doppler, delay, and the pass finder.

For a site at ECEF ``s`` (at rest on the Earth) and a satellite at ``r``, ``v`` (ECEF):
``ρ = |r - s|``, ``ρ̇ = (r - s)·v / ρ``, one-way delay ``τ = ρ / c``, Doppler ``f_D = -f ρ̇ / c``,
Doppler rate ``ḟ_D = -f ρ̈ / c`` (``ρ̈`` by a central difference of ``ρ̇``, step ``rate_step_s``).
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from groundstation.geodesy import SPEED_OF_LIGHT_M_S, enu_basis, geodetic_to_ecef, validate_geodetic
from groundstation.orbit import Ephemeris
from skycall.errors import SkycallError


class NoPassError(SkycallError):
    """The satellite never rises above the elevation mask in the searched window."""


@dataclass(frozen=True)
class Observer:
    """A site on the WGS-84 ellipsoid (handset, beam centre or ground station)."""

    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0

    def __post_init__(self):
        validate_geodetic(self.lat_deg, self.lon_deg, self.alt_m)

    @property
    def ecef_m(self) -> np.ndarray:
        return geodetic_to_ecef(self.lat_deg, self.lon_deg, self.alt_m)


def range_and_rate(r_sat_m, v_sat_m_s, site_ecef_m) -> tuple[np.ndarray, np.ndarray]:
    """Range ``ρ`` (m) and range rate ``ρ̇`` (m/s, > 0 receding) from Earth-fixed site(s) to the satellite.

    ``r_sat_m``, ``v_sat_m_s``: (..., 3) ECEF; ``site_ecef_m``: (3,) or broadcastable (..., 3).
    """
    d = np.asarray(r_sat_m) - np.asarray(site_ecef_m)
    rho = np.linalg.norm(d, axis=-1)
    return rho, np.einsum("...k,...k->...", d, v_sat_m_s) / rho


def doppler_hz(range_rate_m_s, freq_hz: float) -> np.ndarray:
    """``f_D = -f ρ̇ / c`` (Hz): approaching satellite (ρ̇ < 0) raises the received frequency."""
    return -freq_hz * np.asarray(range_rate_m_s) / SPEED_OF_LIGHT_M_S


@dataclass(frozen=True)
class Look:
    """Observer-relative geometry at instants ``t_unix_s`` (all arrays of shape (T,))."""

    t_unix_s: np.ndarray
    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    range_m: np.ndarray
    range_rate_m_s: np.ndarray
    range_accel_m_s2: np.ndarray

    @property
    def delay_s(self) -> np.ndarray:
        """One-way propagation delay ``ρ / c``."""
        return self.range_m / SPEED_OF_LIGHT_M_S

    def doppler_hz(self, freq_hz: float) -> np.ndarray:
        return doppler_hz(self.range_rate_m_s, freq_hz)

    def doppler_rate_hz_s(self, freq_hz: float) -> np.ndarray:
        return -freq_hz * self.range_accel_m_s2 / SPEED_OF_LIGHT_M_S


def azimuth_elevation(r_sat_m, observer: Observer) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth (deg, from north through east, [0, 360)) and elevation (deg) of ECEF points."""
    enu = np.einsum("ij,...j->...i", enu_basis(observer.lat_deg, observer.lon_deg), r_sat_m - observer.ecef_m)
    az = np.mod(np.degrees(np.arctan2(enu[..., 0], enu[..., 1])), 360.0)
    el = np.degrees(np.arctan2(enu[..., 2], np.hypot(enu[..., 0], enu[..., 1])))
    return az, el


def look(ephemeris: Ephemeris, observer: Observer, t_unix_s, rate_step_s: float = 0.5) -> Look:
    """Azimuth, elevation, range, range rate and range acceleration of ``ephemeris`` seen by ``observer``."""
    t = np.atleast_1d(np.asarray(t_unix_s, dtype=np.float64))
    site = observer.ecef_m
    r, v = ephemeris.state_ecef(t)
    rho, rho_dot = range_and_rate(r, v, site)
    _, rate_before = range_and_rate(*ephemeris.state_ecef(t - rate_step_s), site)
    _, rate_after = range_and_rate(*ephemeris.state_ecef(t + rate_step_s), site)
    az, el = azimuth_elevation(r, observer)
    return Look(t, az, el, rho, rho_dot, (rate_after - rate_before) / (2.0 * rate_step_s))


@dataclass(frozen=True)
class Pass:
    """One visibility window above ``min_elevation_deg``."""

    aos_unix_s: float
    los_unix_s: float
    tca_unix_s: float
    max_elevation_deg: float
    min_elevation_deg: float

    @property
    def duration_s(self) -> float:
        return self.los_unix_s - self.aos_unix_s


def find_passes(
    ephemeris: Ephemeris,
    observer: Observer,
    start_unix_s: float,
    search_s: float = 86400.0,
    min_elevation_deg: float = 10.0,
    coarse_step_s: float = 15.0,
) -> list[Pass]:
    """All passes whose LOS is after ``start_unix_s`` and AOS before ``start_unix_s + search_s``.

    Coarse elevation samples every ``coarse_step_s`` bracket each rise/set; Brent's method refines
    AOS/LOS to 1 ms and a bounded scalar search finds the culmination. A pass in progress at
    ``start_unix_s`` is returned with its true AOS. A pass that stays above the mask for less
    than ``coarse_step_s`` may be missed.
    """

    def elevation(t):
        r, _ = ephemeris.state_ecef(t)
        return azimuth_elevation(r, observer)[1]

    margin = 0.5 * ephemeris.period_s  # longer than any LEO pass: catch passes cut by the window
    t = np.arange(start_unix_s - margin, start_unix_s + search_s + margin, coarse_step_s)
    above = elevation(t) >= min_elevation_deg
    rises = np.flatnonzero(~above[:-1] & above[1:])
    sets = np.flatnonzero(above[:-1] & ~above[1:])

    def crossing(i):
        return brentq(lambda x: elevation(x)[0] - min_elevation_deg, t[i], t[i + 1], xtol=1e-3)

    passes = []
    for i in rises:
        later_sets = sets[sets >= i]
        if later_sets.size == 0:
            break
        aos, los = crossing(i), crossing(later_sets[0])
        if los < start_unix_s or aos > start_unix_s + search_s:
            continue
        # optimise the offset from AOS: Brent's relative tolerance on 1.7e9 s would be ~25 s
        peak = minimize_scalar(
            lambda dt, t_aos=aos: -elevation(t_aos + dt)[0],
            bounds=(0.0, los - aos),
            method="bounded",
            options={"xatol": 1e-3},
        )
        passes.append(Pass(aos, los, aos + float(peak.x), float(-peak.fun), min_elevation_deg))
    return passes


def next_pass(
    ephemeris: Ephemeris,
    observer: Observer,
    start_unix_s: float,
    search_s: float = 86400.0,
    min_elevation_deg: float = 10.0,
) -> Pass:
    """The first pass returned by :func:`find_passes`; :class:`NoPassError` when there is none."""
    passes = find_passes(ephemeris, observer, start_unix_s, search_s, min_elevation_deg)
    if not passes:
        raise NoPassError(
            f"the satellite never rises above {min_elevation_deg:g} deg elevation for the observer at "
            f"({observer.lat_deg:g}, {observer.lon_deg:g}) within {search_s / 3600:g} h of the start time; "
            "choose another start time, observer, orbit or a lower elevation mask"
        )
    return passes[0]
