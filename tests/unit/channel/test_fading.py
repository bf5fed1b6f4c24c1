"""Flat fading against theory (envelope CDF and moments, level-crossing rate, Clarke's autocorrelation,
uncoded QPSK BER), chunk invariance (bit-exact) and a copy taken mid-stream, seeded identity."""

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import i0, j0

from skycall.channel.fading import FlatFading, clarke_taps, doppler_spread_hz
from skycall.channel.shadowing import ShadowingStates
from skycall.metrics.ber_theory import ebn0_at_ber, q_function
from skycall.rng import make_rng

FS = 12e3  # one sample per symbol of waveform v1: flat fading is constant over a symbol
FD = 150.0
RECORD_S = 200.0


def _fading(k_db=-np.inf, fd=FD, seed=3, los_hz=0.0, fs=FS, shadowing=None):
    return FlatFading(fs, fd, np.array([0]), np.array([k_db]), np.array([los_hz]), make_rng(seed), shadowing)


@pytest.fixture(scope="module")
def rayleigh():
    return _fading().gains(int(FS * RECORD_S), 0)


def test_rayleigh_envelope_cdf_and_moments_within_5_percent(rayleigh):
    r = np.abs(rayleigh)
    assert np.mean(r**2) == pytest.approx(1.0, rel=0.05)  # Ω = E|h|² = 1
    assert np.mean(r) == pytest.approx(np.sqrt(np.pi) / 2, rel=0.05)
    assert np.mean(r**4) == pytest.approx(2.0, rel=0.05)
    for p in (0.05, 0.1, 0.25, 0.5, 0.75, 0.9):  # F(r) = 1 − exp(−r²): the r of each probability
        assert np.mean(r < np.sqrt(-np.log1p(-p))) == pytest.approx(p, rel=0.05)


def test_rician_envelope_cdf_and_moments_within_5_percent():
    k = 10.0
    r = np.abs(_fading(k_db=10 * np.log10(k), seed=4).gains(int(FS * RECORD_S), 0))
    dist = stats.rice(np.sqrt(2 * k), scale=np.sqrt(1 / (2 * (k + 1))))  # Ω = 1
    assert np.mean(r**2) == pytest.approx(1.0, rel=0.05)
    assert np.mean(r) == pytest.approx(dist.mean(), rel=0.05)
    assert np.mean(r**4) == pytest.approx((k**2 + 4 * k + 2) / (k + 1) ** 2, rel=0.05)
    for p in (0.05, 0.1, 0.25, 0.5, 0.75, 0.9):
        assert np.mean(r < dist.ppf(p)) == pytest.approx(p, rel=0.05)


def test_level_crossing_rate_autocorrelation_and_band_match_clarke(rayleigh):
    """N_R(ρ) = √(2π) f_D ρ e^{−ρ²} (Rice), R(τ) = J0(2π f_D τ), all power within |f| ≤ f_D."""
    r = np.abs(rayleigh)
    for rho in (0.1, 0.3, 1.0):
        up = np.count_nonzero((r[1:] > rho) & (r[:-1] <= rho)) / RECORD_S
        assert up == pytest.approx(np.sqrt(2 * np.pi) * FD * rho * np.exp(-(rho**2)), rel=0.05)
    for tau in (0.1, 0.25, 0.5, 1.0):
        lag = int(round(tau / FD * FS))
        acf = np.real(np.mean(rayleigh[lag:] * np.conj(rayleigh[:-lag])))
        assert acf == pytest.approx(j0(2 * np.pi * FD * lag / FS), abs=0.05)
    spec = np.abs(np.fft.fft(rayleigh[: 2**20])) ** 2
    f = np.abs(np.fft.fftfreq(2**20, 1 / FS))
    assert np.sum(spec[f > 1.05 * FD]) / np.sum(spec) < 0.01


def test_rician_level_crossing_rate():
    """Rician LCR with a zero-Doppler direct path: √(2π(K+1)) f_D ρ e^{−K−(K+1)ρ²} I0(2ρ√(K(K+1)))."""
    k = 4.0
    r = np.abs(_fading(k_db=10 * np.log10(k), seed=5).gains(int(FS * RECORD_S), 0))
    for rho in (0.5, 1.0):
        up = np.count_nonzero((r[1:] > rho) & (r[:-1] <= rho)) / RECORD_S
        theory = np.sqrt(2 * np.pi * (k + 1)) * FD * rho * np.exp(-k - (k + 1) * rho**2) * i0(
            2 * rho * np.sqrt(k * (k + 1)))
        assert up == pytest.approx(theory, rel=0.05)


def _qpsk_ber(h, ebn0_db, rng):
    """Uncoded Gray QPSK through h with coherent detection (h known), per bit: BPSK on each rail."""
    bits = rng.integers(0, 2, size=(h.size, 2))
    s = ((1 - 2 * bits[:, 0]) + 1j * (1 - 2 * bits[:, 1])) / np.sqrt(2)
    w = (rng.standard_normal(h.size) + 1j * rng.standard_normal(h.size)) / np.sqrt(2)
    ber = []
    for e in ebn0_db:
        n0 = 1.0 / (2 * 10 ** (e / 10))  # Es = 1 = 2 Eb
        z = (h * s + np.sqrt(n0) * w) * np.conj(h)
        ber.append(np.mean(np.column_stack([z.real < 0, z.imag < 0]) != bits.astype(bool)))
    return np.array(ber)


def _rician_ber(ebn0_db, k):
    """∫ Q(√(2 γ_b r²)) p(r) dr over the unit-power Rician envelope."""
    dist = stats.rice(np.sqrt(2 * k), scale=np.sqrt(1 / (2 * (k + 1))))
    g = 10 ** (ebn0_db / 10)
    return integrate.quad(lambda r: q_function(np.sqrt(2 * g) * r) * dist.pdf(r), 0, 10, limit=200)[0]


def _ber_crossing_db(k, seconds, seed):
    """(measured, closed-form) Eb/N0 at BER 1e-2. Rayleigh: P_b = ½(1 − √(γ/(1+γ))); Rician: quadrature."""
    h = _fading(k_db=10 * np.log10(k) if k else -np.inf, seed=seed).gains(int(FS * seconds), 0)
    ebn0 = np.arange(10.0, 18.0, 1.0) if k == 0 else np.arange(3.0, 10.0, 1.0)
    measured = _qpsk_ber(h, ebn0, make_rng(seed + 1))
    if k == 0:
        theory = 0.5 * (1 - np.sqrt(10 ** (ebn0 / 10) / (1 + 10 ** (ebn0 / 10))))
    else:
        theory = np.array([_rician_ber(e, k) for e in ebn0])
    return ebn0_at_ber(ebn0, measured, 1e-2), ebn0_at_ber(ebn0, theory, 1e-2)


@pytest.mark.parametrize("k", [0.0, 10.0])
def test_uncoded_qpsk_ber_within_half_db_of_closed_form_at_1e_2(k):
    """60 s of fading at f_D = 150 Hz (≈ 9000 fades): Rayleigh reaches 1e-2 at 13.85 dB, Rician K = 10 at 5.76 dB."""
    measured, theory = _ber_crossing_db(k, 60.0, 6)
    assert measured == pytest.approx(theory, abs=0.5)
    assert theory == pytest.approx(13.85 if k == 0 else 5.76, abs=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("k", [0.0, 10.0])
def test_uncoded_qpsk_ber_long_record(k):
    """1000 s of fading (≈ 150 000 fades): within 0.15 dB."""
    measured, theory = _ber_crossing_db(k, 1000.0, 60)
    print(f"K = {k}: measured {measured:.3f} dB, closed form {theory:.3f} dB at BER 1e-2")
    assert measured == pytest.approx(theory, abs=0.15)


def _chunks(rng, n, max_len):
    edges = np.sort(rng.integers(0, n, size=n // max_len * 2 + 3))
    return np.concatenate([[0], edges, [n]])


def test_chunking_is_bit_exact_and_copy_continues():
    """A pass-like K table and LOS Doppler, shadowing states, 240 kS/s: any chunking and a mid-stream copy."""
    fs = 240e3
    index = np.array([0, 480_000, 1_200_000])
    shadow = ShadowingStates(fs, index, np.array([20.0, 40.0, 60.0]), "urban", 30.0, 20.0, make_rng(8))
    fading = FlatFading(fs, doppler_spread_hz(30.0, 1545e6), index, np.array([-np.inf, 7.0, 12.0]),
                        np.array([-80.0, 10.0, 120.0]), make_rng(9), shadow)
    rng = make_rng(10)
    x = (rng.standard_normal(1_200_000) + 1j * rng.standard_normal(1_200_000)).astype(np.complex64)
    y = fading.copy().process(x, 0)
    edges = _chunks(rng, x.size, 60_000)
    parts = [fading.process(x[a:b], int(a)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_array_equal(np.concatenate(parts), y)
    fading.reset()
    cut = 777_777
    fading.process(x[:cut], 0)
    twin = fading.copy()
    np.testing.assert_array_equal(twin.process(x[cut:], cut), y[cut:])
    np.testing.assert_array_equal(fading.process(x[cut:], cut), y[cut:])
    assert np.unique(shadow.states).size == 2  # the run crossed both states


def test_same_seed_same_bits_other_seed_other_bits():
    a, b, c = (_fading(seed=s).gains(50_000, 123) for s in (11, 11, 12))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_static_handset_and_taps():
    still = _fading(fd=0.0, seed=13).gains(10_000, 0)
    assert np.all(still == still[0])  # at rest: one draw, no Doppler
    taps = clarke_taps(50.0, 1600.0)
    assert taps.size % 2 == 1 and np.allclose(taps, taps[::-1]) and np.sum(taps**2) == pytest.approx(1.0)
    with pytest.raises(Exception, match="speed_kmh"):
        _fading(fd=FS)
