"""Satellite ephemerides in ECEF: SGP4 from a two-line element set, or an ideal circular orbit.

Both implement :class:`Ephemeris`: ``state_ecef(t_unix_s) -> (r_m, v_m_s)``, shapes (T, 3),
with ``t_unix_s`` float64 UTC seconds since 1970 (sub-µs resolution for this century).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from groundstation.geodesy import EARTH_MU_M3_S2, WGS84_A_M, gmst_rad, julian_date, rotate_z, teme_to_ecef
from skycall.errors import MissingDependency, SkycallError

_TLE_LINE_LENGTH = 69


class TLEError(SkycallError):
    """A two-line element set is malformed (the message names the line and the field)."""


class Ephemeris(Protocol):
    """Anything that gives the satellite's ECEF state at given UTC instants."""

    #: orbital period, seconds (the pass finder's search granularity depends on it)
    period_s: float

    def state_ecef(self, t_unix_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def tle_checksum(line: str) -> int:
    """TLE checksum of columns 1-68: sum of the digits, each '-' counts 1, modulo 10."""
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


def validate_tle(line1: str, line2: str, source: str = "<tle>") -> None:
    """Check the layout and checksums of a TLE; raise :class:`TLEError` naming the bad line."""
    for number, line in ((1, line1), (2, line2)):
        where = f"{source}: TLE line {number}"
        if len(line) != _TLE_LINE_LENGTH:
            raise TLEError(f"{where} has {len(line)} characters, expected 69 (is it wrapped or truncated?)")
        if not line.startswith(f"{number} "):
            raise TLEError(f"{where} must start with '{number} ', got {line[:2]!r} (lines swapped?)")
        if not line[68].isdigit():
            raise TLEError(f"{where}: column 69 must be the checksum digit, got {line[68]!r}")
        expected = tle_checksum(line)
        if int(line[68]) != expected:
            raise TLEError(
                f"{where}: checksum digit is {line[68]} but the line sums to {expected}; "
                "the line is corrupted (re-download the TLE or fix the checksum)"
            )
    if line1[2:7] != line2[2:7]:
        raise TLEError(f"{source}: TLE lines 1 and 2 name different satellites ({line1[2:7]!r} vs {line2[2:7]!r})")


def read_tle_file(path: str | Path) -> tuple[str, str, str]:
    """Read ``(name, line1, line2)`` from a 2- or 3-line TLE file (name is "" when absent)."""
    try:
        lines = [ln.rstrip() for ln in Path(path).read_text().splitlines() if ln.strip()]
    except OSError as err:
        raise TLEError(f"{path}: cannot read the TLE file ({err.strerror})") from err
    if len(lines) == 3:
        name, line1, line2 = lines
    elif len(lines) == 2:
        name, (line1, line2) = "", lines
    else:
        raise TLEError(f"{path}: expected 2 lines (or a name line + 2), found {len(lines)} non-empty lines")
    validate_tle(line1, line2, source=str(path))
    return name.strip(), line1, line2


class SGP4Orbit:
    """SGP4/SDP4 propagation of a TLE (package ``sgp4``), TEME output rotated to ECEF."""

    def __init__(self, line1: str, line2: str, name: str = "", source: str = "<tle>"):
        validate_tle(line1, line2, source)
        try:
            from sgp4.api import WGS72, Satrec
        except ImportError as err:  # pragma: no cover - sgp4 is a pinned dependency
            raise MissingDependency("package 'sgp4' is missing: pip install sgp4==2.27") from err
        self.name, self.line1, self.line2 = name, line1, line2
        self._sat = Satrec.twoline2rv(line1, line2, WGS72)
        if self._sat.error:
            raise TLEError(f"{source}: SGP4 rejects these elements (error {self._sat.error})")
        self.period_s = 2.0 * np.pi / self._sat.no_kozai * 60.0
        self.epoch_unix_s = float((self._sat.jdsatepoch - 2440587.5 + self._sat.jdsatepochF) * 86400.0)

    @classmethod
    def from_file(cls, path: str | Path) -> "SGP4Orbit":
        name, line1, line2 = read_tle_file(path)
        return cls(line1, line2, name=name, source=str(path))

    def state_teme(self, t_unix_s) -> tuple[np.ndarray, np.ndarray]:
        """TEME position (m) and velocity (m/s), shapes (T, 3)."""
        t = np.atleast_1d(np.asarray(t_unix_s, dtype=np.float64))
        jd, fr = julian_date(t)
        err, r_km, v_km_s = self._sat.sgp4_array(jd, fr)
        if np.any(err):
            bad = int(np.flatnonzero(err)[0])
            raise SkycallError(
                f"SGP4 failed (error {int(err[bad])}) {(t[bad] - self.epoch_unix_s) / 86400:.1f} days from the "
                "TLE epoch (orbit decayed or elements too old); use a fresher TLE"
            )
        return r_km * 1e3, v_km_s * 1e3

    def state_ecef(self, t_unix_s) -> tuple[np.ndarray, np.ndarray]:
        t = np.atleast_1d(np.asarray(t_unix_s, dtype=np.float64))
        r, v = self.state_teme(t)
        return teme_to_ecef(t, r, v)


@dataclass(frozen=True)
class CircularOrbit:
    """Keplerian circular orbit (no perturbations) in the TEME-like inertial frame.

    With argument of latitude ``u(t) = u0 + n (t - t0)``, ``n = sqrt(μ / a³)``, ``a = R_e + h``:
    ``r = a [cosΩ cos u - sinΩ sin u cos i, sinΩ cos u + cosΩ sin u cos i, sin u sin i]`` and
    ``v = a n [-cosΩ sin u - sinΩ cos u cos i, -sinΩ sin u + cosΩ cos u cos i, cos u sin i]``.
    """

    altitude_m: float
    inclination_deg: float = 53.0
    raan_deg: float = 0.0
    arg_latitude_deg: float = 0.0
    epoch_unix_s: float = 0.0

    def __post_init__(self):
        if not 150e3 <= self.altitude_m <= 50_000e3:
            raise SkycallError(f"orbit altitude {self.altitude_m / 1e3:g} km is outside 150-50000 km")
        if not 0.0 <= self.inclination_deg <= 180.0:
            raise SkycallError(f"orbit inclination {self.inclination_deg:g} deg is outside [0, 180]")

    @property
    def semi_major_axis_m(self) -> float:
        return WGS84_A_M + self.altitude_m

    @property
    def mean_motion_rad_s(self) -> float:
        return float(np.sqrt(EARTH_MU_M3_S2 / self.semi_major_axis_m**3))

    @property
    def period_s(self) -> float:
        return 2.0 * np.pi / self.mean_motion_rad_s

    @classmethod
    def through_zenith(
        cls, site_ecef_m, altitude_m: float, inclination_deg: float, t_unix_s: float, ascending: bool = True
    ) -> "CircularOrbit":
        """The orbit that passes over ``site_ecef_m`` (geocentric zenith) at ``t_unix_s``.

        The site's inertial direction has declination δ and right ascension α; then
        ``sin u = sin δ / sin i`` and ``Ω = α - atan2(cos i sin u, cos u)``.
        """
        site = rotate_z(np.asarray(site_ecef_m, dtype=np.float64), -gmst_rad(t_unix_s))
        dec = np.arcsin(site[2] / np.linalg.norm(site))
        ra = np.arctan2(site[1], site[0])
        inc = np.radians(inclination_deg)
        if abs(np.sin(dec)) > abs(np.sin(inc)) + 1e-12:
            raise SkycallError(
                f"a {inclination_deg:g} deg orbit never passes over geocentric latitude "
                f"{np.degrees(dec):.2f} deg; raise the inclination"
            )
        u = np.arcsin(np.clip(np.sin(dec) / np.sin(inc), -1.0, 1.0))
        if not ascending:
            u = np.pi - u
        raan = ra - np.arctan2(np.cos(inc) * np.sin(u), np.cos(u))
        return cls(altitude_m, inclination_deg, float(np.degrees(raan)), float(np.degrees(u)), float(t_unix_s))

    def state_inertial(self, t_unix_s) -> tuple[np.ndarray, np.ndarray]:
        """Inertial (TEME-aligned) position (m) and velocity (m/s), shapes (T, 3)."""
        t = np.atleast_1d(np.asarray(t_unix_s, dtype=np.float64))
        n, a = self.mean_motion_rad_s, self.semi_major_axis_m
        u = np.radians(self.arg_latitude_deg) + n * (t - self.epoch_unix_s)
        raan, inc = np.radians(self.raan_deg), np.radians(self.inclination_deg)
        cu, su, co, so, ci, si = np.cos(u), np.sin(u), np.cos(raan), np.sin(raan), np.cos(inc), np.sin(inc)
        r = a * np.stack([co * cu - so * su * ci, so * cu + co * su * ci, su * si], axis=-1)
        v = a * n * np.stack([-co * su - so * cu * ci, -so * su + co * cu * ci, cu * si], axis=-1)
        return r, v

    def state_ecef(self, t_unix_s) -> tuple[np.ndarray, np.ndarray]:
        t = np.atleast_1d(np.asarray(t_unix_s, dtype=np.float64))
        r, v = self.state_inertial(t)
        return teme_to_ecef(t, r, v)
