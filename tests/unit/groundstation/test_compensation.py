import numpy as np
import pytest
from gs_reference import MU

from groundstation.array import PlanarArray
from groundstation.beams import nadir_footprint_diameter_m
from groundstation.compensation import beam_centre_compensation
from groundstation.geodesy import SPEED_OF_LIGHT_M_S, geodetic_to_ecef, tangent_offset_to_geodetic
from groundstation.orbit import CircularOrbit
from groundstation.passes import Observer

CENTRE = Observer(0.0, 30.0)
TC = 1.76e9


def _worst_edge_residual(diameter_m, freq_hz, inclination_deg=90.0):
    """Max |f_D,h - f_D,c| over a pass for a handset D/2 along-track from a zenith-pass beam centre."""
    orbit = CircularOrbit.through_zenith(CENTRE.ecef_m, 600e3, inclination_deg, TC)
    t = TC + np.arange(-300.0, 300.0, 0.5)
    r, v = orbit.state_ecef(t)
    handset = geodetic_to_ecef(*tangent_offset_to_geodetic(0.0, 30.0, 0.0, diameter_m / 2))  # north = along-track
    comp = beam_centre_compensation(r, v, handset, CENTRE.ecef_m, freq_hz)
    return np.max(np.abs(comp.residual_doppler_hz)), comp, orbit


@pytest.mark.parametrize("diameter_km", [50.0, 100.0, 150.0, 250.0])
def test_edge_residual_matches_geometry_formula(diameter_km):
    f = 1.6e9
    worst, _, orbit = _worst_edge_residual(diameter_km * 1e3, f)
    v = np.sqrt(MU / orbit.semi_major_axis_m)
    expected = v * f / SPEED_OF_LIGHT_M_S * (diameter_km * 1e3 / 2) / 600e3
    assert worst == pytest.approx(expected, rel=0.20)


def test_16x16_beam_worst_residual_at_1g6():
    d = nadir_footprint_diameter_m(PlanarArray(16, 16, 1.6e9), 600e3)
    worst, comp, _ = _worst_edge_residual(d, 1.6e9)
    assert 1.9e3 < worst < 2.5e3  # DESIGN §1: ≈ ±2.2 kHz
    rate = np.gradient(comp.residual_doppler_hz, 0.5)
    assert np.max(np.abs(rate)) < 30.0  # DESIGN §1: ≤ 30 Hz/s
    # and the physical Doppler it removes is the full ±36 kHz-class one
    assert np.max(np.abs(comp.doppler_hz)) > 30e3


def test_handset_at_centre_sees_no_residual_and_precomp_cancels_doppler():
    orbit = CircularOrbit.through_zenith(CENTRE.ecef_m, 600e3, 53.0, TC)
    r, v = orbit.state_ecef(TC + np.linspace(-200, 200, 9))
    for f in (1545.0e6, 1646.5e6):
        comp = beam_centre_compensation(r, v, CENTRE.ecef_m, CENTRE.ecef_m, f)
        np.testing.assert_allclose(comp.residual_doppler_hz, 0.0, atol=1e-6)
        np.testing.assert_allclose(comp.precomp_hz, -comp.doppler_hz)
        np.testing.assert_allclose(comp.residual_delay_s, 0.0, atol=1e-15)
