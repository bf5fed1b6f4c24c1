"""Earth model and reference frames: WGS-84 geodetic <-> ECEF, TEME -> ECEF, local ENU.

All positions are metres, velocities m/s, angles radians unless the name says ``_deg``.
Times are float64 seconds since the Unix epoch, UTC (``t_unix_s``); UT1 is taken equal to
UTC (|UT1 - UTC| < 0.9 s moves a ground point by < 0.4 km at the equator, the same for the
satellite and the observer, so range and Doppler are unaffected to first order) and polar
motion is ignored (< 15 m).
"""

import numpy as np

from skycall.errors import ConfigError

WGS84_A_M = 6378137.0
WGS84_F = 1.0 / 298.257223563
WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
#: Earth rotation rate (WGS-84), rad/s
EARTH_ROTATION_RAD_S = 7.2921151467e-5
#: Earth gravitational parameter (WGS-84), m^3/s^2
EARTH_MU_M3_S2 = 3.986004418e14
SPEED_OF_LIGHT_M_S = 299_792_458.0

_UNIX_EPOCH_JD = 2440587.5
_SECONDS_PER_DAY = 86400.0


def validate_geodetic(lat_deg: float, lon_deg: float, alt_m: float, source: str = "<observer>") -> None:
    """Raise :class:`ConfigError` (naming ``source`` and the key) for an impossible position."""
    if not np.isfinite(lat_deg) or not -90.0 <= lat_deg <= 90.0:
        raise ConfigError(
            source, "latitude_deg", f"{lat_deg} is outside [-90, 90]; give a geodetic latitude in degrees (N+)"
        )
    if not np.isfinite(lon_deg) or not -180.0 <= lon_deg <= 360.0:
        raise ConfigError(
            source, "longitude_deg", f"{lon_deg} is outside [-180, 360]; give a longitude in degrees (E+)"
        )
    if not np.isfinite(alt_m) or not -500.0 <= alt_m <= 100_000.0:
        raise ConfigError(
            source, "altitude_m", f"{alt_m} m is outside [-500, 100000]; give the height above the ellipsoid"
        )


def geodetic_to_ecef(lat_deg, lon_deg, alt_m=0.0) -> np.ndarray:
    """WGS-84 geodetic -> ECEF.

    ``N = a / sqrt(1 - e² sin²φ)``; ``x = (N+h) cosφ cosλ``, ``y = (N+h) cosφ sinλ``,
    ``z = (N(1-e²)+h) sinφ``. Returns shape ``broadcast(lat, lon, alt) + (3,)``, metres.
    """
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    alt = np.asarray(alt_m, dtype=np.float64)
    n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * np.sin(lat) ** 2)
    x = (n + alt) * np.cos(lat) * np.cos(lon)
    y = (n + alt) * np.cos(lat) * np.sin(lon)
    z = (n * (1.0 - WGS84_E2) + alt) * np.sin(lat)
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def ecef_to_geodetic(r_ecef_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ECEF (..., 3) -> (lat_deg, lon_deg, alt_m), fixed-point iteration on the latitude.

    ``φ ← atan2(z, p (1 - e² N/(N+h)))`` with ``h = p cosφ + z sinφ - a sqrt(1 - e² sin²φ)``;
    six iterations converge to < 1 mm for any point above -100 km.
    """
    r = np.asarray(r_ecef_m, dtype=np.float64)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1.0 - WGS84_E2))
    for _ in range(6):
        sin_lat = np.sin(lat)
        n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
        alt = p * np.cos(lat) + z * sin_lat - WGS84_A_M * np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
        lat = np.arctan2(z, p * (1.0 - WGS84_E2 * n / (n + alt)))
    sin_lat = np.sin(lat)
    alt = p * np.cos(lat) + z * sin_lat - WGS84_A_M * np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    return np.degrees(lat), np.degrees(np.arctan2(y, x)), alt


def enu_basis(lat_deg, lon_deg) -> np.ndarray:
    """Rows (east, north, up) of the local tangent frame in ECEF, shape (..., 3, 3)."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    zero = np.zeros_like(sl * so)
    east = np.stack(np.broadcast_arrays(-so, co, zero), axis=-1)
    north = np.stack(np.broadcast_arrays(-sl * co, -sl * so, cl), axis=-1)
    up = np.stack(np.broadcast_arrays(cl * co, cl * so, sl), axis=-1)
    return np.stack([east, north, up], axis=-2)


def julian_date(t_unix_s) -> tuple[np.ndarray, np.ndarray]:
    """Split Julian date (whole, fraction) of UTC seconds since 1970, keeping sub-µs precision."""
    t = np.asarray(t_unix_s, dtype=np.float64)
    days = np.floor(t / _SECONDS_PER_DAY)
    return _UNIX_EPOCH_JD + days, (t - days * _SECONDS_PER_DAY) / _SECONDS_PER_DAY


def gmst_rad(t_unix_s) -> np.ndarray:
    """Greenwich mean sidereal time (IAU-82, as used by SGP4's TEME), radians in [0, 2π).

    ``GMST[s] = 67310.54841 + (876600·3600 + 8640184.812866) T + 0.093104 T² - 6.2e-6 T³``,
    ``T`` = Julian centuries of UT1 since J2000.0; 240 s of GMST = 1 degree.
    """
    jd, fr = julian_date(t_unix_s)
    t_cent = ((jd - 2451545.0) + fr) / 36525.0
    gmst_s = 67310.54841 + (876600.0 * 3600.0 + 8640184.812866) * t_cent + 0.093104 * t_cent**2 - 6.2e-6 * t_cent**3
    return np.mod(np.radians(gmst_s / 240.0), 2.0 * np.pi)


def teme_to_ecef(t_unix_s, r_teme_m, v_teme_m_s) -> tuple[np.ndarray, np.ndarray]:
    """TEME (SGP4 output) -> ECEF (pseudo-Earth-fixed; polar motion ignored).

    ``r_ecef = R3(θ) r_teme`` and ``v_ecef = R3(θ) v_teme - ω × r_ecef`` with ``θ`` = GMST and
    ``R3(θ) = [[cosθ, sinθ, 0], [-sinθ, cosθ, 0], [0, 0, 1]]``. Shapes (T, 3) in, (T, 3) out.
    """
    theta = gmst_rad(t_unix_s)
    r_ecef = rotate_z(np.asarray(r_teme_m, dtype=np.float64), theta)
    v_rot = rotate_z(np.asarray(v_teme_m_s, dtype=np.float64), theta)
    omega_cross_r = EARTH_ROTATION_RAD_S * np.stack(
        [-r_ecef[..., 1], r_ecef[..., 0], np.zeros_like(r_ecef[..., 0])], axis=-1
    )
    return r_ecef, v_rot - omega_cross_r


def rotate_z(vec, theta_rad) -> np.ndarray:
    """Frame rotation ``R3(θ) vec`` (passive: coordinates of ``vec`` in a frame turned by +θ about z)."""
    c, s = np.cos(theta_rad), np.sin(theta_rad)
    x, y = vec[..., 0], vec[..., 1]
    return np.stack([c * x + s * y, -s * x + c * y, vec[..., 2] * np.ones_like(c)], axis=-1)


def tangent_offset_to_geodetic(lat_deg, lon_deg, east_m, north_m) -> tuple[np.ndarray, np.ndarray]:
    """(lat_deg, lon_deg) of the point ``east_m``, ``north_m`` away in the local tangent plane, dropped
    vertically onto the ellipsoid (distances shrink by < 0.1 % within 200 km)."""
    basis = enu_basis(lat_deg, lon_deg)
    origin = geodetic_to_ecef(lat_deg, lon_deg, 0.0)
    east, north = np.asarray(east_m, dtype=np.float64), np.asarray(north_m, dtype=np.float64)
    lat, lon, _ = ecef_to_geodetic(origin + east[..., None] * basis[0] + north[..., None] * basis[1])
    return lat, lon
