import numpy as np
import pytest

from groundstation.array import PlanarArray
from groundstation.beams import (
    BeamEmulator,
    EarthFixedBeams,
    SatelliteFixedBeams,
    footprint_diameters_m,
    handovers,
    hex_axial,
    hex_offsets,
    nadir_footprint_diameter_m,
    reuse_colours,
)
from groundstation.geodesy import ecef_to_geodetic
from groundstation.orbit import CircularOrbit
from groundstation.passes import Observer
from skycall.errors import ConfigError

SITE = Observer(45.0, 10.0)
TC = 1.76e9


def test_hex_lattice_neighbours_and_reuse():
    layout = EarthFixedBeams.hexagonal(SITE, 58e3, rings=3)
    assert layout.centres_ecef_m.shape == (37, 3)
    dist = np.linalg.norm(layout.centres_ecef_m[:, None] - layout.centres_ecef_m[None], axis=-1)
    np.fill_diagonal(dist, np.inf)
    np.testing.assert_allclose(dist.min(axis=1), 58e3, rtol=2e-3)
    for reuse in (3, 4, 7):
        colours = reuse_colours(layout.axial, reuse)
        neighbours = dist < 1.1 * 58e3
        assert not np.any(neighbours & (colours[:, None] == colours[None, :]))
        same = (colours[:, None] == colours[None, :]) & np.isfinite(dist)
        assert dist[same].min() == pytest.approx(np.sqrt(reuse) * 58e3, rel=3e-3)
    with pytest.raises(ConfigError, match="reuse"):
        reuse_colours(hex_axial(1), 2)


def test_footprint_of_16x16_at_600km():
    d = nadir_footprint_diameter_m(PlanarArray(16, 16, 1.6e9), 600e3)
    assert d == pytest.approx(2 * 600e3 * np.tan(np.radians(0.886 * 2 / 16 * 180 / np.pi) / 2), rel=0.01)
    assert 64e3 < d < 70e3


def _overhead(seconds=0.0):
    orbit = CircularOrbit.through_zenith(SITE.ecef_m, 600e3, 53.0, TC)
    return orbit, orbit.state_ecef(TC + np.atleast_1d(seconds))


def test_serving_beam_is_the_cell_containing_the_handset():
    layout = EarthFixedBeams.hexagonal(SITE, 58e3, rings=2)
    beams = BeamEmulator(PlanarArray(), layout, reuse=3)
    _, (r, v) = _overhead(np.linspace(-60, 60, 13))
    for k in (0, 5, 11):
        target = layout.centres_ecef_m[k]
        serving = beams.serve(r, v, target)
        assert np.all(serving.beam_id == k)
        # handset at the centre of its beam: the gain is the beam peak, cos^n scan loss aside
        np.testing.assert_allclose(serving.gain_dbi, PlanarArray().gain_dbi(*serving.steer_uv.T, *serving.steer_uv.T))


def test_c_over_i_improves_with_reuse():
    layout = EarthFixedBeams.hexagonal(SITE, 58e3, rings=3)
    _, (r, v) = _overhead(0.0)
    edge = (layout.centres_ecef_m[18] + layout.centres_ecef_m[19]) / 2  # between two cells
    cir = {n: BeamEmulator(PlanarArray(), layout, reuse=n).serve(r, v, SITE.ecef_m).c_over_i_db[0] for n in (1, 3, 7)}
    assert cir[1] < cir[3] < cir[7]
    cir_edge = BeamEmulator(PlanarArray(), layout, reuse=1).serve(r, v, edge).c_over_i_db[0]
    assert cir_edge < 1.0  # two equal beams at the cell edge: C/I <= 0 dB plus the rest


def test_handover_events_follow_the_moving_satellite():
    layout = SatelliteFixedBeams.hexagonal(spacing_uv=0.08, rings=2)
    beams = BeamEmulator(PlanarArray(), layout, reuse=3)
    t = np.arange(-40.0, 40.0, 0.5)
    _, (r, v) = _overhead(t)
    serving = beams.serve(r, v, SITE.ecef_m)
    events = handovers(t, serving.beam_id)
    assert len(events) >= 2  # beams sweep past a fixed handset at ~7 km/s
    for ev in events:
        i = int(np.searchsorted(t, ev.t_s))
        assert serving.beam_id[i - 1] == ev.from_beam and serving.beam_id[i] == ev.to_beam


def test_satellite_fixed_nadir_beam_hits_the_subsatellite_point():
    layout = SatelliteFixedBeams.hexagonal(spacing_uv=0.08, rings=1)
    orbit, (r, v) = _overhead(np.array([0.0, 30.0]))
    from groundstation.beams import body_frame

    _, _, centres, hit = layout.geometry(body_frame(r, v), r)
    assert hit.all()
    nadir = centres[:, 3]  # axial (0, 0) is index 3 of a 1-ring lattice
    assert np.allclose(ecef_to_geodetic(nadir)[2], 0.0, atol=1e-3)  # on the ellipsoid
    cross = np.cross(
        nadir / np.linalg.norm(nadir, axis=-1, keepdims=True), r / np.linalg.norm(r, axis=-1, keepdims=True)
    )
    assert np.max(np.linalg.norm(cross, axis=-1)) < 1e-9  # on the geocentric vertical of the satellite


def test_stretched_lattice_scales_only_along_its_azimuth():
    axial = hex_axial(2)
    plain = hex_offsets(axial, 50e3)
    az = 60.0
    e = np.array([np.sin(np.radians(az)), np.cos(np.radians(az))])
    n = np.array([e[1], -e[0]])
    stretched = hex_offsets(axial, 50e3, stretch=2.5, azimuth_deg=az)
    np.testing.assert_allclose(stretched @ e, 2.5 * (plain @ e), atol=1e-6)
    np.testing.assert_allclose(stretched @ n, plain @ n, atol=1e-6)
    np.testing.assert_allclose(hex_offsets(axial, 50e3, 1.0, az), plain)


def test_footprint_overhead_and_scanned_against_beamwidth_geometry():
    """Overhead: the ground footprint equals the nadir formula (within 3 %: a square array's −3 dB contour
    is not a circle, it reaches further off the principal planes). At 48° scan the beam widens as 1/cosθ in
    the scan plane and the ground is seen at the elevation angle: D_r ≈ ρ Δθ/(cosθ sin ε), D_t ≈ ρ Δθ
    (small-beam flat-Earth estimates; the Earth's curvature and the range change across the footprint
    make them 10 % approximations)."""
    arr = PlanarArray(16, 16, 1.545e9)
    orbit, (r, v) = _overhead(np.array([0.0, -100.0]))
    dr, dt, _ = footprint_diameters_m(arr, r[0], v[0], SITE)
    nadir = nadir_footprint_diameter_m(arr, np.linalg.norm(r[0]) - np.linalg.norm(SITE.ecef_m))
    assert dr == pytest.approx(nadir, rel=0.03) and dt == pytest.approx(nadir, rel=0.03)
    from groundstation.passes import azimuth_elevation, range_and_rate

    dr, dt, az = footprint_diameters_m(arr, r[1], v[1], SITE)
    rho = float(range_and_rate(r[1], v[1], SITE.ecef_m)[0])
    el = float(azimuth_elevation(r[1], SITE)[1])
    scan = np.degrees(np.arcsin(np.cos(np.radians(el)) * np.linalg.norm(SITE.ecef_m) / np.linalg.norm(r[1])))
    width = np.radians(arr.half_power_beamwidth_deg(0.0))
    assert 45.0 < scan < 50.0
    assert dt == pytest.approx(rho * width, rel=0.1)
    assert dr == pytest.approx(rho * width / np.cos(np.radians(scan)) / np.sin(np.radians(el)), rel=0.1)
    assert az == pytest.approx(float(azimuth_elevation(r[1], SITE)[0]), abs=1e-9)
