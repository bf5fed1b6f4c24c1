"""Beam layouts (earth-fixed cells or satellite-fixed beams), serving beam, C/I and handovers.

The satellite flies nadir-pointing: body ``z = -r̂`` (nadir), ``y = -(r × v)^`` (minus orbit
normal), ``x = y × z`` (≈ along-track). A target at ECEF ``p`` is seen at direction cosines
``u = d·x``, ``v = d·y`` with ``d = (p - r)/|p - r|``; each beam is the whole array steered to its
centre, so the gain of beam k toward a handset is ``G(u_k, v_k → u_h, v_h)`` (see :mod:`.array`).

Beam centres lie on a hexagonal lattice: axial coordinates (q, r) map to offsets
``s (q + r/2, √3 r / 2)``, centre-to-centre spacing ``s``; with the −3 dB footprint of
diameter D as each cell's circumscribed circle, ``s = √3 D / 2``. A scanned beam's footprint is an
ellipse stretched along the direction to the sub-satellite point (the beam widens as 1/cosθ and
the ground is seen obliquely: a 16 × 16 beam at 48° scan from 600 km covers ≈ 240 × 100 km), so the
lattice can be stretched by ``D_radial / D_transverse`` along that azimuth
(:func:`footprint_diameters_m` measures both on the ground). Co-channel beams share a
colour: reuse 1 (all), 3 ``(q - r) mod 3``, 4 ``(q mod 2) + 2 (r mod 2)``, 7 ``(q + 3r) mod 7``.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from groundstation.array import PlanarArray
from groundstation.geodesy import WGS84_A_M, WGS84_B_M, geodetic_to_ecef, tangent_offset_to_geodetic
from groundstation.passes import Observer, azimuth_elevation
from skycall.errors import ConfigError

REUSE_FACTORS = (1, 3, 4, 7)


def hex_axial(rings: int) -> np.ndarray:
    """Axial coordinates (K, 2) of a hexagon of ``rings`` rings around (0, 0): K = 1 + 3 rings (rings + 1)."""
    if not 0 <= int(rings) <= 30:
        raise ConfigError("<beams>", "rings", f"{rings} is outside 0-30")
    return np.array(
        [(q, r) for q in range(-rings, rings + 1) for r in range(-rings, rings + 1) if abs(q + r) <= rings],
        dtype=np.int64,
    )


def hex_offsets(axial: np.ndarray, spacing: float, stretch: float = 1.0, azimuth_deg: float = 0.0) -> np.ndarray:
    """Cartesian (east, north) offsets (K, 2) of axial lattice points for centre spacing ``spacing``,
    stretched by ``stretch`` along the unit vector at compass ``azimuth_deg``: ``p + (stretch − 1)(p·ê)ê``."""
    q, r = axial[:, 0].astype(np.float64), axial[:, 1].astype(np.float64)
    p = spacing * np.stack([q + 0.5 * r, (np.sqrt(3.0) / 2.0) * r], axis=-1)
    e = np.array([np.sin(np.radians(azimuth_deg)), np.cos(np.radians(azimuth_deg))])
    return p + (stretch - 1.0) * (p @ e)[:, None] * e


def reuse_colours(axial: np.ndarray, reuse: int) -> np.ndarray:
    """Frequency colour of each lattice cell (co-channel cells share it)."""
    q, r = axial[:, 0], axial[:, 1]
    colours = {1: np.zeros_like(q), 3: (q - r) % 3, 4: (q % 2) + 2 * (r % 2), 7: (q + 3 * r) % 7}
    if reuse not in colours:
        raise ConfigError("<beams>", "reuse", f"{reuse} is not one of {REUSE_FACTORS}")
    return colours[reuse]


def nadir_footprint_diameter_m(array: PlanarArray, altitude_m: float) -> float:
    """−3 dB footprint diameter at nadir: ``D = 2 h tan(HPBW / 2)`` (flat-Earth, small beam)."""
    return float(2.0 * altitude_m * np.tan(np.radians(array.half_power_beamwidth_deg(0.0)) / 2.0))


def footprint_diameters_m(array: PlanarArray, r_sat_m, v_sat_m_s, centre: Observer) -> tuple[float, float, float]:
    """−3 dB ground footprint of the beam steered at ``centre`` from one satellite state (3,).

    Returns (diameter along the azimuth of the satellite seen from ``centre`` (radial), diameter
    across it (transverse), that azimuth in degrees). Each edge is where the beam's gain toward a
    ground point on the line through the centre is 3 dB below its gain toward the centre (Brent).
    """
    r = np.asarray(r_sat_m, dtype=np.float64).reshape(1, 3)
    v = np.asarray(v_sat_m_s, dtype=np.float64).reshape(1, 3)
    frame = body_frame(r, v)
    su, sv, _ = direction_cosines(frame, r, centre.ecef_m)
    az = float(np.squeeze(azimuth_elevation(r, centre)[0]))

    def gain(dist_m, bearing_deg):
        east, north = dist_m * np.sin(np.radians(bearing_deg)), dist_m * np.cos(np.radians(bearing_deg))
        lat, lon = tangent_offset_to_geodetic(centre.lat_deg, centre.lon_deg, east, north)
        tu, tv, _ = direction_cosines(frame, r, geodetic_to_ecef(lat, lon, 0.0))
        return float(np.squeeze(array.gain_dbi(su, sv, tu, tv)))

    level = gain(0.0, 0.0) - 10.0 * np.log10(2.0)

    def edge(bearing_deg):
        step = 5e3
        while gain(step, bearing_deg) > level:
            step *= 1.5
            if step > 5e6:
                raise ConfigError("<beams>", "cell_layout", "the beam has no -3 dB edge on the ground (too wide a "
                                  'beam for this geometry): use cell_layout = "nadir"')
        return brentq(lambda d: gain(d, bearing_deg) - level, 0.0, step, xtol=1.0)

    radial = edge(az) + edge(az + 180.0)
    transverse = edge(az + 90.0) + edge(az - 90.0)
    return float(radial), float(transverse), az


def body_frame(r_sat_m, v_sat_m_s) -> np.ndarray:
    """Rows (x, y, z) of the nadir-pointing body frame in ECEF, shape (T, 3, 3)."""
    z = -r_sat_m / np.linalg.norm(r_sat_m, axis=-1, keepdims=True)
    n = np.cross(r_sat_m, v_sat_m_s)
    y = -n / np.linalg.norm(n, axis=-1, keepdims=True)
    return np.stack([np.cross(y, z), y, z], axis=-2)


def direction_cosines(frame, r_sat_m, target_ecef_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, cosθ) of ECEF targets seen from the satellite.

    ``frame`` (T, 3, 3), ``r_sat_m`` (T, 3); ``target_ecef_m`` (3,) gives (T,), (K, 3) or (T, K, 3) gives (T, K).
    """
    target = np.asarray(target_ecef_m, dtype=np.float64)
    rel = target - (r_sat_m if target.ndim == 1 else r_sat_m[:, None, :])
    rel = rel / np.linalg.norm(rel, axis=-1, keepdims=True)
    uvw = np.einsum("tij,t...j->t...i", frame, rel)
    return uvw[..., 0], uvw[..., 1], uvw[..., 2]


@dataclass(frozen=True)
class EarthFixedBeams:
    """Cells fixed on the ground; every beam is re-steered to its centre as the satellite moves."""

    centres_ecef_m: np.ndarray  # (K, 3) on the ellipsoid
    axial: np.ndarray  # (K, 2) lattice coordinates (beam id = row index)

    @classmethod
    def hexagonal(cls, service_point: Observer, spacing_m: float, rings: int = 3, stretch: float = 1.0,
                  azimuth_deg: float = 0.0) -> "EarthFixedBeams":
        """Hexagonal cells around ``service_point`` laid out in its tangent plane, dropped onto the ellipsoid
        (lattice stretched by ``stretch`` along ``azimuth_deg``, see :func:`hex_offsets`)."""
        if not 1e3 <= spacing_m <= 2000e3:
            raise ConfigError("<beams>", "spacing_m", f"{spacing_m / 1e3:g} km is outside 1-2000 km")
        if not 0.1 <= stretch <= 20.0:
            raise ConfigError("<beams>", "stretch", f"{stretch:g} is outside 0.1-20")
        axial = hex_axial(rings)
        en = hex_offsets(axial, spacing_m, stretch, azimuth_deg)
        lat, lon = tangent_offset_to_geodetic(service_point.lat_deg, service_point.lon_deg, en[:, 0], en[:, 1])
        return cls(geodetic_to_ecef(lat, lon, 0.0), axial)

    def geometry(self, frame, r_sat_m) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Steering (u, v) (T, K), centres (T, K, 3) and in-front mask (T, K)."""
        u, v, w = direction_cosines(frame, r_sat_m, self.centres_ecef_m)
        centres = np.broadcast_to(self.centres_ecef_m, u.shape + (3,))
        return u, v, centres, w > 0.0


@dataclass(frozen=True)
class SatelliteFixedBeams:
    """Beams fixed in the body frame (u, v); their ground centres sweep with the satellite."""

    steer_uv: np.ndarray  # (K, 2)
    axial: np.ndarray  # (K, 2)

    @classmethod
    def hexagonal(cls, spacing_uv: float, rings: int = 3) -> "SatelliteFixedBeams":
        """Hexagonal beam lattice in direction-cosine space around nadir (spacing in u, v units)."""
        if not 1e-4 <= spacing_uv <= 1.0:
            raise ConfigError("<beams>", "spacing_uv", f"{spacing_uv} is outside 1e-4 - 1")
        axial = hex_axial(rings)
        return cls(hex_offsets(axial, spacing_uv), axial)

    def geometry(self, frame, r_sat_m) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        u, v = self.steer_uv[:, 0], self.steer_uv[:, 1]
        w = np.sqrt(np.clip(1.0 - u**2 - v**2, 0.0, None))
        d = np.einsum("ki,tij->tkj", np.stack([u, v, w], axis=-1), frame)  # (T, K, 3) ECEF directions
        centres, hit = ray_ellipsoid(r_sat_m[:, None, :], d)
        t_len = r_sat_m.shape[0]
        return np.broadcast_to(u, (t_len, u.size)), np.broadcast_to(v, (t_len, v.size)), centres, hit


def ray_ellipsoid(origin_m, direction) -> tuple[np.ndarray, np.ndarray]:
    """First intersection of rays ``o + s d`` with the WGS-84 ellipsoid; (points, hit mask).

    In coordinates scaled by (1/a, 1/a, 1/b) the ellipsoid is the unit sphere:
    ``|o' + s d'|² = 1`` → ``s = (-o'·d' - sqrt((o'·d')² - |d'|² (|o'|² - 1))) / |d'|²``.
    """
    scale = np.array([1.0 / WGS84_A_M, 1.0 / WGS84_A_M, 1.0 / WGS84_B_M])
    o, d = origin_m * scale, direction * scale
    od = np.sum(o * d, axis=-1)
    dd = np.sum(d * d, axis=-1)
    disc = od**2 - dd * (np.sum(o * o, axis=-1) - 1.0)
    hit = disc >= 0.0
    s = (-od - np.sqrt(np.where(hit, disc, 0.0))) / dd
    return origin_m + s[..., None] * direction, hit & (s > 0.0)


@dataclass(frozen=True)
class Serving:
    """Serving beam per instant (beam -1 = none: target or every beam out of view/scan range)."""

    beam_id: np.ndarray  # (T,) int64
    gain_dbi: np.ndarray  # (T,) gain of the serving beam toward the target
    c_over_i_db: np.ndarray  # (T,) carrier over co-channel interference (+inf: no interferer)
    centre_ecef_m: np.ndarray  # (T, 3) serving beam centre (NaN when none)
    steer_uv: np.ndarray  # (T, 2) serving beam steering direction (NaN when none)
    co_channel_gain_dbi: np.ndarray  # (T, K) gain of every co-channel beam toward the target (-inf: not one)
    centres_ecef_m: np.ndarray  # (T, K, 3) every beam's centre


@dataclass(frozen=True)
class Handover:
    t_s: float
    from_beam: int
    to_beam: int


class BeamEmulator:
    """The array forming every beam of ``layout``, with frequency reuse and a scan limit.

    Parameters
    ----------
    array : PlanarArray
    layout : EarthFixedBeams or SatelliteFixedBeams
    reuse : int
        1, 3, 4 or 7; beams of the same colour interfere.
    max_scan_deg : float
        Beams steered further than this off nadir are switched off.
    """

    def __init__(self, array: PlanarArray, layout, reuse: int = 1, max_scan_deg: float = 70.0):
        if not 0.0 < max_scan_deg <= 90.0:
            raise ConfigError("<beams>", "max_scan_deg", f"{max_scan_deg} is outside (0, 90]")
        self.array, self.layout, self.reuse = array, layout, int(reuse)
        self.max_scan_deg = float(max_scan_deg)
        self.colours = reuse_colours(layout.axial, self.reuse)
        self.min_cos_scan = float(np.cos(np.radians(max_scan_deg)))

    @property
    def n_beams(self) -> int:
        return int(self.layout.axial.shape[0])

    def at_frequency(self, freq_hz: float) -> "BeamEmulator":
        """The same beams formed by the same physical array at another carrier (e.g. the uplink)."""
        return BeamEmulator(self.array.at_frequency(freq_hz), self.layout, self.reuse, self.max_scan_deg)

    def gains_dbi(self, r_sat_m, v_sat_m_s, target_ecef_m) -> tuple[np.ndarray, tuple]:
        """Gain (T, K) of every beam toward one Earth-fixed target, and the beam geometry used."""
        frame = body_frame(r_sat_m, v_sat_m_s)
        su, sv, centres, visible = self.layout.geometry(frame, r_sat_m)
        active = visible & (np.sqrt(np.clip(1.0 - su**2 - sv**2, 0.0, None)) >= self.min_cos_scan)
        tu, tv, tw = direction_cosines(frame, r_sat_m, target_ecef_m)
        gains = self.array.gain_dbi(su, sv, tu[:, None], tv[:, None])
        gains = np.where(active & (tw[:, None] > 0.0), gains, -np.inf)
        return gains, (su, sv, centres)

    def serve(self, r_sat_m, v_sat_m_s, target_ecef_m) -> Serving:
        """Serving beam = the beam of highest gain toward the target; C/I from its co-channel beams."""
        gains, (su, sv, centres) = self.gains_dbi(r_sat_m, v_sat_m_s, target_ecef_m)
        best = np.argmax(gains, axis=1)
        rows = np.arange(gains.shape[0])
        g_best = gains[rows, best]
        served = np.isfinite(g_best)
        linear = 10.0 ** (gains / 10.0)
        co_channel = (self.colours[None, :] == self.colours[best][:, None]) & served[:, None]
        co_channel[rows, best] = False
        interference = np.sum(np.where(co_channel, linear, 0.0), axis=1)
        with np.errstate(divide="ignore"):
            cir = g_best - 10.0 * np.log10(interference)
        nan3 = np.full((gains.shape[0], 3), np.nan)
        return Serving(
            beam_id=np.where(served, best, -1),
            gain_dbi=np.where(served, g_best, np.nan),
            c_over_i_db=np.where(served, cir, np.nan),
            centre_ecef_m=np.where(served[:, None], centres[rows, best], nan3),
            steer_uv=np.where(served[:, None], np.stack([su[rows, best], sv[rows, best]], axis=-1), nan3[:, :2]),
            co_channel_gain_dbi=np.where(co_channel, gains, -np.inf),
            centres_ecef_m=np.asarray(centres),
        )


def handovers(t_s, beam_id) -> list[Handover]:
    """Instants where the serving beam changes (``t_s`` of the first sample on the new beam)."""
    beam_id = np.asarray(beam_id)
    idx = np.flatnonzero(beam_id[1:] != beam_id[:-1]) + 1
    return [Handover(float(t_s[i]), int(beam_id[i - 1]), int(beam_id[i])) for i in idx]
