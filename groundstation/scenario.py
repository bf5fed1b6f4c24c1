"""From a flowgraph's ``[pass]`` and ``[beam]`` tables to the channel the call goes through.

The circular-orbit default puts the ground track ``ground_track_offset_km`` east of the
handset (0: a pass through the zenith, the worst case for Doppler rate), with its
culmination at ``start_utc``; a TLE instead takes the first pass after ``start_utc``.
Stream sample 0 is ``call_offset_s`` after the culmination. The beam the handset sits in
is centred ``handset_offset_km`` away from it (bearing ``handset_bearing_deg``), in a
hexagonal grid of earth-fixed cells (:mod:`groundstation.cells`: array taper, cell layout, reuse);
the link budget is the ``[link] preset`` (:mod:`groundstation.link_budget`).
"""

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from groundstation.cells import CellDesign, design_cells, worst_corner
from groundstation.geodesy import ecef_to_geodetic, enu_basis
from groundstation.link_budget import preset
from groundstation.orbit import CircularOrbit, SGP4Orbit
from groundstation.passes import Observer, Pass, next_pass
from groundstation.trajectory import ChannelTrajectory
from skycall.config.flowgraph import DL_FREQ_HZ, UL_FREQ_HZ, Flowgraph, resolve_path
from skycall.errors import ConfigError

TRAJECTORY_STEP_S = 0.01


@dataclass(frozen=True)
class Scenario:
    """The pass, the handset, the beams and the channel trajectory of one call."""

    pass_: Pass
    handset: Observer
    beam_centre: Observer
    beam_diameter_m: float
    trajectory: ChannelTrajectory
    cells: CellDesign | None = None


def _parse_utc(text: str, key: str, file: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ConfigError(file, key, f"{text!r} is not an ISO 8601 time such as 2026-01-01T00:00:00Z") from None


def offset_point(site: Observer, distance_m: float, bearing_deg: float) -> Observer:
    """The point ``distance_m`` from ``site`` along ``bearing_deg`` (tangent plane, dropped on the ellipsoid)."""
    east, north = np.sin(np.radians(bearing_deg)), np.cos(np.radians(bearing_deg))
    basis = enu_basis(site.lat_deg, site.lon_deg)
    lat, lon, _ = ecef_to_geodetic(site.ecef_m + distance_m * (east * basis[0] + north * basis[1]))
    return Observer(float(np.squeeze(lat)), float(np.squeeze(lon)), 0.0)


def build_scenario(flow: Flowgraph, step_s: float = TRAJECTORY_STEP_S) -> Scenario:
    """Orbit, pass, beams and the channel trajectory over ``flow.duration_s`` (+1 s margin)."""
    p, b = flow.pass_, flow.beam
    handset = Observer(p.observer_lat_deg, p.observer_lon_deg, p.observer_alt_m)
    t_ref = _parse_utc(p.start_utc, "pass.start_utc", flow.path)
    if p.tle:
        ephemeris = SGP4Orbit.from_file(resolve_path(flow, p.tle))
    else:
        track_point = offset_point(handset, 1e3 * p.ground_track_offset_km, 90.0)
        ephemeris = CircularOrbit.through_zenith(track_point.ecef_m, 1e3 * p.altitude_km, p.inclination_deg, t_ref)
    the_pass = next_pass(ephemeris, handset, t_ref - 900.0, min_elevation_deg=p.min_elevation_deg)
    centre = offset_point(handset, 1e3 * b.handset_offset_km, b.handset_bearing_deg)
    if b.handset_position == "corner":  # the handset at its cell's worst corner: the centre sits opposite
        probe = design_cells(b, handset, ephemeris, the_pass, the_pass.tca_unix_s + p.call_offset_s, DL_FREQ_HZ)
        east, north = -worst_corner(probe, handset, ephemeris, DL_FREQ_HZ)
        centre = offset_point(handset, float(np.hypot(east, north)), float(np.degrees(np.arctan2(east, north))))
    cells = design_cells(b, centre, ephemeris, the_pass, the_pass.tca_unix_s + p.call_offset_s, DL_FREQ_HZ)
    budget = preset(flow.radio_link.preset, shadowing_margin=flow.channel.shadowing == "margin")
    trajectory = ChannelTrajectory.compute(ephemeris, handset, cells.beams, the_pass.tca_unix_s + p.call_offset_s,
                                           flow.duration_s + 1.0, step_s=step_s, budget=budget,
                                           dl_freq_hz=DL_FREQ_HZ, ul_freq_hz=UL_FREQ_HZ)
    return Scenario(the_pass, handset, centre, cells.spacing_m, trajectory, cells)
