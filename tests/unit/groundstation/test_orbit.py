import numpy as np
import pytest
from gs_reference import MU, OMEGA, C, inertial_range_rate, j2_propagate, site_ecef, site_inertial

from groundstation.geodesy import WGS84_A_M
from groundstation.orbit import CircularOrbit, SGP4Orbit, TLEError, read_tle_file, tle_checksum
from groundstation.passes import NoPassError, Observer, find_passes, look, next_pass

DL_HZ = 1.545e9


def _write(tmp_path, lines):
    path = tmp_path / "sat.tle"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_shipped_tle_is_a_600_km_leo(tle_file):
    orbit = SGP4Orbit.from_file(tle_file)
    assert orbit.name == "SKYCALL-1"
    r, _ = orbit.state_teme(orbit.epoch_unix_s + np.linspace(0, orbit.period_s, 50))
    alt_km = (np.linalg.norm(r, axis=1) - WGS84_A_M) / 1e3
    assert 570 < alt_km.min() and alt_km.max() < 630
    assert orbit.period_s == pytest.approx(2 * np.pi * np.sqrt((WGS84_A_M + 600e3) ** 3 / MU), rel=0.01)


def test_bad_checksum_names_the_line(tle_file, tmp_path):
    _, l1, l2 = read_tle_file(tle_file)
    bad = l2[:68] + str((int(l2[68]) + 1) % 10)
    with pytest.raises(TLEError, match="TLE line 2: checksum digit") as info:
        read_tle_file(_write(tmp_path, [l1, bad]))
    assert str(tle_checksum(l2)) in str(info.value)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda l1, l2: [l1[:60], l2], "line 1 has 60 characters"),
        (lambda l1, l2: [l2, l1], "line 1 must start with '1 '"),
        (lambda l1, l2: [l1, l2, l2], "line 1 must start"),  # 3 lines: first taken as name
        (lambda l1, l2: [l1], "expected 2 lines"),
    ],
)
def test_malformed_tle_errors(tle_file, tmp_path, mutate, match):
    _, l1, l2 = read_tle_file(tle_file)
    with pytest.raises(TLEError, match=match):
        read_tle_file(_write(tmp_path, mutate(l1, l2)))


def test_sgp4_pass_matches_independent_j2_integration(tle_file):
    """Whole pass: range within 100 m and Doppler within 5 Hz at 1545 MHz of an independent chain."""
    orbit = SGP4Orbit.from_file(tle_file)
    observer = Observer(40.4, -3.7, 650.0)
    p = next_pass(orbit, observer, orbit.epoch_unix_s)
    t = np.linspace(p.aos_unix_s, p.los_unix_s, 120)
    r0, v0 = orbit.state_teme(p.tca_unix_s)
    r_sat, v_sat = j2_propagate(r0[0], v0[0], p.tca_unix_s, t)
    r_obs, v_obs = site_inertial(site_ecef(40.4, -3.7, 650.0), t)
    rho_ref, rate_ref = inertial_range_rate(r_sat, v_sat, r_obs, v_obs)
    geo = look(orbit, observer, t)
    assert np.max(np.abs(geo.range_m - rho_ref)) < 100.0
    assert np.max(np.abs(geo.doppler_hz(DL_HZ) - (-DL_HZ * rate_ref / C))) < 5.0
    np.testing.assert_allclose(geo.delay_s, rho_ref / C, atol=100.0 / C)


def test_circular_orbit_through_zenith_closed_form():
    """At culmination the satellite is on the site's geocentric vertical: ρ = a - |s|, ρ̇ = 0."""
    observer = Observer(30.0, 20.0)
    tc = 1.76e9
    orbit = CircularOrbit.through_zenith(observer.ecef_m, 600e3, 53.0, tc)
    geo = look(orbit, observer, [tc])
    assert geo.range_m[0] == pytest.approx(orbit.semi_major_axis_m - np.linalg.norm(observer.ecef_m), abs=1e-3)
    assert geo.elevation_deg[0] > 89.8  # geodetic vs geocentric vertical differ by < 0.2°
    # inertial-frame reference over the pass (independent GMST and observer motion)
    t = tc + np.linspace(-300, 300, 61)
    r_i, v_i = orbit.state_inertial(t)
    r_obs, v_obs = site_inertial(site_ecef(30.0, 20.0), t)
    rho_ref, rate_ref = inertial_range_rate(r_i, v_i, r_obs, v_obs)
    geo = look(orbit, observer, t)
    assert np.max(np.abs(geo.range_m - rho_ref)) < 20.0
    assert np.max(np.abs(geo.range_rate_m_s - rate_ref)) < 0.05


def test_design_numbers_600km_at_1g6():
    """DESIGN §1: 600 km, 1.6 GHz, el >= 10°: Doppler ±36 kHz, rate ≈ 470 Hz/s, delay 2.0-6.4 ms."""
    f = 1.6e9
    observer = Observer(0.0, 0.0)
    tc = 1.76e9
    orbit = CircularOrbit.through_zenith(observer.ecef_m, 600e3, 53.0, tc)
    t = tc + np.arange(-420.0, 420.0, 0.5)
    geo = look(orbit, observer, t)
    vis = geo.elevation_deg >= 10.0
    dop, rate, delay = geo.doppler_hz(f)[vis], geo.doppler_rate_hz_s(f)[vis], geo.delay_s[vis]
    a = orbit.semi_major_axis_m
    # ground-relative speed on an equatorial crossing: v - ω a cos i (Earth turns under the orbit)
    v = np.sqrt(MU / a) - OMEGA * a * np.cos(np.radians(53.0))
    dop_closed = f / C * v * np.cos(np.radians(10.0)) * WGS84_A_M / a  # max at the 10° mask
    rate_closed = f / C * v**2 / 600e3 * WGS84_A_M / a  # at zenith: ρ̈ = v² R / (a h)
    assert np.max(np.abs(dop)) == pytest.approx(dop_closed, rel=0.03)
    assert 34e3 < np.max(np.abs(dop)) < 38e3
    assert np.max(np.abs(rate)) == pytest.approx(rate_closed, rel=0.05)
    assert np.max(np.abs(rate)) < 500.0
    assert delay.min() == pytest.approx(600e3 / C, rel=0.01)
    assert 6.2e-3 < delay.max() < 6.5e-3
    assert np.max(np.abs(np.gradient(delay, t[vis]))) < 40e-6


def test_pass_finder_aos_los_and_culmination(tle_file):
    orbit = SGP4Orbit.from_file(tle_file)
    observer = Observer(40.4, -3.7)
    passes = find_passes(orbit, observer, orbit.epoch_unix_s, search_s=86400.0)
    assert len(passes) >= 2
    for p in passes[:2]:
        geo = look(orbit, observer, np.array([p.aos_unix_s, p.los_unix_s]))
        np.testing.assert_allclose(geo.elevation_deg, 10.0, atol=1e-3)
        dense = look(orbit, observer, np.linspace(p.aos_unix_s, p.los_unix_s, 2001))
        assert p.max_elevation_deg == pytest.approx(dense.elevation_deg.max(), abs=0.01)
        assert p.max_elevation_deg >= dense.elevation_deg.max() - 1e-4
    # a pass already in progress is returned whole
    mid = passes[0].tca_unix_s
    assert find_passes(orbit, observer, mid, search_s=60.0)[0].aos_unix_s == pytest.approx(passes[0].aos_unix_s)


def test_pass_that_never_rises_is_one_clear_error():
    equatorial = CircularOrbit(600e3, 0.0, 0.0, 0.0, 1.76e9)
    with pytest.raises(NoPassError, match="never rises above 10 deg") as info:
        next_pass(equatorial, Observer(70.0, 25.0), 1.76e9, search_s=6 * 3600.0)
    assert "(70, 25)" in str(info.value)
