import numpy as np
import pytest
from gs_reference import OMEGA, gmst_iau2006_rad, site_ecef

from groundstation.geodesy import (
    WGS84_A_M,
    WGS84_B_M,
    ecef_to_geodetic,
    geodetic_to_ecef,
    gmst_rad,
    tangent_offset_to_geodetic,
)
from groundstation.orbit import CircularOrbit
from groundstation.passes import Observer
from skycall.errors import ConfigError
from skycall.rng import make_rng


def test_geodetic_to_ecef_axes_and_independent_formula():
    np.testing.assert_allclose(geodetic_to_ecef(0.0, 0.0, 0.0), [WGS84_A_M, 0, 0], atol=1e-6)
    np.testing.assert_allclose(geodetic_to_ecef(90.0, 0.0, 100.0), [0, 0, WGS84_B_M + 100.0], atol=1e-6)
    np.testing.assert_allclose(geodetic_to_ecef(-33.9, 18.4, 1200.0), site_ecef(-33.9, 18.4, 1200.0), atol=1e-6)


def test_ecef_geodetic_round_trip():
    rng = make_rng(4)
    lat, lon = rng.uniform(-89.9, 89.9, 500), rng.uniform(-180, 180, 500)
    alt = rng.uniform(-400, 800e3, 500)
    lat2, lon2, alt2 = ecef_to_geodetic(geodetic_to_ecef(lat, lon, alt))
    np.testing.assert_allclose(lat2, lat, atol=1e-9)
    np.testing.assert_allclose(lon2, lon, atol=1e-9)
    np.testing.assert_allclose(alt2, alt, atol=1e-3)


def test_gmst_agrees_with_iau2006_definition():
    t = 1.6e9 + np.arange(0.0, 10 * 365 * 86400.0, 86400.0 * 17.123)
    diff = np.angle(np.exp(1j * (gmst_rad(t) - gmst_iau2006_rad(t))))
    assert np.max(np.abs(diff)) < 2e-6  # < 0.4 arcsec, i.e. < 13 m at LEO radius


def test_ecef_velocity_is_derivative_of_ecef_position():
    """v_ecef = R v_teme - ω×r must equal the numerical time derivative of r_ecef."""
    orbit = CircularOrbit(600e3, 53.0, 10.0, 20.0, 1.75e9)
    t = 1.75e9 + np.linspace(0, 3000, 7)
    h = 0.5  # exactly representable next to 1.75e9 s; curvature error v (n h)^2 / 6 < 1 mm/s
    r_plus, _ = orbit.state_ecef(t + h)
    r_minus, _ = orbit.state_ecef(t - h)
    _, v = orbit.state_ecef(t)
    np.testing.assert_allclose(v, (r_plus - r_minus) / (2 * h), atol=2e-3)
    # the rotating-frame term is really there: |v_ecef| < |v_inertial| by up to ω a cos i on a prograde orbit
    _, v_i = orbit.state_inertial(t)
    slower = np.linalg.norm(v_i, axis=-1) - np.linalg.norm(v, axis=-1)
    assert np.max(slower) > 0.8 * OMEGA * orbit.semi_major_axis_m * np.cos(np.radians(53.0))


def test_tangent_offset_distance():
    lat, lon = tangent_offset_to_geodetic(45.0, 7.0, 30e3, -40e3)
    d = np.linalg.norm(geodetic_to_ecef(lat, lon) - geodetic_to_ecef(45.0, 7.0))
    assert d == pytest.approx(50e3, rel=1e-3)


@pytest.mark.parametrize(("lat", "lon", "key"), [(91.0, 0.0, "latitude_deg"), (10.0, 400.0, "longitude_deg")])
def test_bad_observer_gives_one_clear_error(lat, lon, key):
    with pytest.raises(ConfigError, match=key) as info:
        Observer(lat, lon)
    assert str(lat if key.startswith("lat") else lon) in str(info.value)
