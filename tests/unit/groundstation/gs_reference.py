"""INDEPENDENT reference computations shared by the groundstation tests.

The references here deliberately avoid groundstation's own frame code: the observer is rotated
into the inertial frame with the IAU-2006 GMST (Earth-rotation-angle based, a different formula
from the IAU-82 one in ``groundstation.geodesy``), the satellite is propagated by numerically
integrating two-body + J2 gravity, and range/range rate are taken in the inertial frame.
"""

from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

TLE_FILE = Path(__file__).resolve().parents[3] / "groundstation" / "data" / "skycall-1.tle"
C = 299_792_458.0
MU = 3.986004418e14
J2 = 1.08262668e-3
RE = 6378137.0
OMEGA = 7.2921151467e-5


def gmst_iau2006_rad(t_unix_s):
    """GMST = ERA + precession polynomial (IERS Conventions 2010, eq. 5.32), UT1 = TT = UTC."""
    du = np.asarray(t_unix_s) / 86400.0 + 2440587.5 - 2451545.0
    era = 2.0 * np.pi * np.mod(0.7790572732640 + 0.00273781191135448 * du + du, 1.0)
    t = du / 36525.0
    poly_arcsec = 0.014506 + 4612.156534 * t + 1.3915817 * t**2 - 0.00000044 * t**3
    return np.mod(era + np.radians(poly_arcsec / 3600.0), 2.0 * np.pi)


def site_ecef(lat_deg, lon_deg, alt_m=0.0):
    """WGS-84 geodetic -> ECEF (Heiskanen-Moritz form written out again here)."""
    a, f = 6378137.0, 1.0 / 298.257223563
    e2 = f * (2 - f)
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    n = a / np.sqrt(1 - e2 * np.sin(lat) ** 2)
    return np.array(
        [
            (n + alt_m) * np.cos(lat) * np.cos(lon),
            (n + alt_m) * np.cos(lat) * np.sin(lon),
            (n * (1 - e2) + alt_m) * np.sin(lat),
        ]
    )


def site_inertial(site, t_unix_s):
    """Observer position and velocity in the inertial (true-equator, mean-equinox) frame."""
    th = gmst_iau2006_rad(t_unix_s)
    c, s = np.cos(th), np.sin(th)
    r = np.stack([c * site[0] - s * site[1], s * site[0] + c * site[1], np.full_like(th, site[2])], axis=-1)
    v = OMEGA * np.stack([-r[:, 1], r[:, 0], np.zeros_like(th)], axis=-1)
    return r, v


def j2_propagate(r0_m, v0_m_s, t0, t_unix_s):
    """Two-body + J2 numerical integration (DOP853, rtol 1e-12) from an inertial state at t0."""

    def rhs(_t, y):
        r = y[:3]
        rn = np.linalg.norm(r)
        zr2 = (r[2] / rn) ** 2
        k = 1.5 * J2 * MU * RE**2 / rn**5
        acc = -MU * r / rn**3 + k * r * np.array([5 * zr2 - 1, 5 * zr2 - 1, 5 * zr2 - 3])
        return np.concatenate([y[3:], acc])

    t_rel = np.asarray(t_unix_s) - t0
    out = np.empty((t_rel.size, 6))
    for sign in (1.0, -1.0):
        sel = (t_rel >= 0) if sign > 0 else (t_rel < 0)
        if not sel.any():
            continue
        ts = t_rel[sel]
        order = np.argsort(sign * ts)
        sol = solve_ivp(
            rhs,
            (0.0, ts[order][-1] + sign * 1e-9),
            np.concatenate([r0_m, v0_m_s]),
            method="DOP853",
            t_eval=ts[order],
            rtol=1e-12,
            atol=1e-6,
        )
        block = np.empty((ts.size, 6))
        block[order] = sol.y.T
        out[sel] = block
    return out[:, :3], out[:, 3:]


def inertial_range_rate(r_sat, v_sat, r_obs, v_obs):
    d, dv = r_sat - r_obs, v_sat - v_obs
    rho = np.linalg.norm(d, axis=-1)
    return rho, np.sum(d * dv, axis=-1) / rho
