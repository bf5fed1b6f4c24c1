import numpy as np
import pytest

from groundstation.array import PlanarArray, uv_from_theta_phi
from skycall.errors import ConfigError


def dirichlet(n, psi):
    """Closed-form uniform linear array factor sin(N ψ/2) / (N sin(ψ/2)) (1 at ψ = 0)."""
    psi = np.asarray(psi, dtype=np.float64)
    den = n * np.sin(psi / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.abs(den) < 1e-12, 1.0, np.sin(n * psi / 2) / den)


@pytest.mark.parametrize("phase_bits", [None, 16])  # exact (separable) and full-sum paths
def test_array_factor_matches_closed_form(phase_bits):
    arr = PlanarArray(16, 8, 1.545e9, element_exponent=0.0, phase_bits=phase_bits)
    u0, v0 = 0.3, -0.2
    u = np.linspace(-1, 1, 401)
    v = np.full_like(u, 0.1)
    kd = arr.wavenumber_rad_m * arr.spacing_m
    expected = dirichlet(16, kd * (u - u0)) * dirichlet(8, kd * (v - v0))
    af = arr.array_factor(u0, v0, u, v)
    np.testing.assert_allclose(np.abs(af), np.abs(expected), atol=2e-4 if phase_bits else 1e-12)


@pytest.mark.parametrize("theta0_deg", [0.0, 30.0, 50.0])
def test_half_power_beamwidth(theta0_deg):
    arr = PlanarArray(16, 16, 1.545e9)
    formula_deg = np.degrees(0.886 * arr.wavelength_m / (16 * arr.spacing_m)) / np.cos(np.radians(theta0_deg))
    assert arr.half_power_beamwidth_deg(theta0_deg) == pytest.approx(formula_deg, rel=0.02)


def test_directivity_isotropic_elements():
    """Numerical integration vs πNM and vs the exact sinc double sum for uniform weights."""
    arr = PlanarArray(16, 16, 1.545e9, element_exponent=0.0)
    d_num = arr.directivity_dbi()
    assert d_num == pytest.approx(10 * np.log10(np.pi * 256), abs=0.5)
    xx, yy = np.meshgrid(arr.x_m, arr.y_m, indexing="ij")
    pos = np.stack([xx.ravel(), yy.ravel()], axis=-1)
    dist = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
    # full-sphere ∫|AF|² dΩ = 4π ΣΣ sinc(k r_ij); the ground plane halves the solid angle
    d_exact = 2 * 256**2 / np.sum(np.sinc(arr.wavenumber_rad_m * dist / np.pi))
    assert d_num == pytest.approx(10 * np.log10(d_exact), abs=0.02)


def test_gain_model_against_numerical_directivity():
    arr = PlanarArray(16, 16, 1.545e9, element_exponent=1.3)
    assert arr.gain_dbi(0, 0, 0, 0) == pytest.approx(10 * np.log10(np.pi * 256), abs=1e-9)  # ≈ 29 dBi
    assert arr.gain_dbi(0, 0, 0, 0) == pytest.approx(arr.directivity_dbi(), abs=0.3)
    u0, v0 = uv_from_theta_phi(40.0, 30.0)
    scan_loss = arr.gain_dbi(0, 0, 0, 0) - arr.gain_dbi(u0, v0, u0, v0)
    assert scan_loss == pytest.approx(-13.0 * np.log10(np.cos(np.radians(40.0))), abs=1e-9)
    assert arr.gain_dbi(u0, v0, u0, v0) == pytest.approx(arr.directivity_dbi(u0, v0), abs=0.6)


def test_phase_quantisation_loss():
    """Uniformly distributed phase errors of ±π/2^b cost ≈ sinc²(1/2^b) (Mailloux)."""
    u0, v0 = uv_from_theta_phi(37.0, 21.0)
    exact = PlanarArray(16, 16, phase_bits=None).gain_dbi(u0, v0, u0, v0)
    for bits in (2, 3, 4):
        quant = PlanarArray(16, 16, phase_bits=bits)
        loss = exact - np.max(quant.gain_dbi(u0, v0, u0 + np.linspace(-0.01, 0.01, 41), v0))
        assert loss == pytest.approx(-20 * np.log10(np.sinc(1 / 2**bits)), abs=0.15)


def test_grating_lobes():
    half = PlanarArray(16, 16, 1.545e9)
    assert half.grating_lobes(*uv_from_theta_phi(60.0, 0.0)) == []
    wide = PlanarArray(16, 16, 1.545e9, spacing_m=half.wavelength_m)
    assert (-1.0, 0.0) in wide.grating_lobes(0.0, 0.0)
    ul = half.at_frequency(1646.5e6)
    s_max = np.sin(np.radians(ul.max_grating_free_scan_deg()))
    assert s_max == pytest.approx(ul.wavelength_m / ul.spacing_m - 1)
    assert ul.grating_lobes(s_max - 1e-3, 0.0) == [] and ul.grating_lobes(s_max + 1e-3, 0.0) != []


def test_bad_array_configuration():
    with pytest.raises(ConfigError, match="phase_bits"):
        PlanarArray(phase_bits=0)
    with pytest.raises(ConfigError, match="size"):
        PlanarArray(0, 4)


def test_taylor_taper_side_lobes_efficiency_and_gain():
    """Separable Taylor (−25 dB, n̄ = 4): principal-plane side lobes at −25 dB, peak gain π N M η, and the
    gain model agrees with the numerically integrated directivity."""
    arr = PlanarArray(16, 16, 1.545e9, taper="taylor", taylor_sll_db=25.0, taylor_nbar=4)
    eta = arr.taper_efficiency
    assert eta == pytest.approx(np.sum(arr.a_x) ** 2 * np.sum(arr.a_y) ** 2 / (256 * arr.power_sum))
    assert arr.peak_gain_dbi() == pytest.approx(10 * np.log10(np.pi * 256 * eta), abs=1e-9)
    assert arr.peak_gain_dbi() == pytest.approx(arr.directivity_dbi(), abs=0.3)
    u = np.linspace(0.0, 1.0, 20001)
    cut = 20 * np.log10(np.abs(arr.array_factor(0.0, 0.0, u, 0.0)))
    first_null = np.argmax(np.diff(cut) > 0)  # the pattern stops falling at the first null
    assert np.max(cut[first_null:]) == pytest.approx(-25.0, abs=0.3)
    uniform = PlanarArray(16, 16, 1.545e9)
    uniform_sll = np.max(20 * np.log10(np.abs(uniform.array_factor(0.0, 0.0, u[u > 2 / 16], 0.0))))
    assert -13.3 < uniform_sll < -13.0  # sin(Nψ/2)/(N sin(ψ/2)), N = 16: −13.15 dB
    assert arr.half_power_beamwidth_deg() > 1.1 * uniform.half_power_beamwidth_deg()  # the taper widens the beam
    with pytest.raises(ConfigError, match="taylor_sll_db"):
        PlanarArray(taper="taylor", taylor_sll_db=10.0)
    with pytest.raises(ConfigError, match="taper"):
        PlanarArray(taper="hann")
