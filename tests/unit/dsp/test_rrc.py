"""RRC taps against the frequency-domain definition and the closed-form special points."""

import numpy as np
import pytest
from scipy.integrate import quad

from skycall.dsp._checks import DspArgumentError
from skycall.dsp.rrc import rrc_taps


def _rrc_by_inverse_fourier(t: float, beta: float) -> float:
    """h(t) = 2∫₀^{(1+β)/2} √H_rc(f)·cos(2πft) df with T = 1 (independent of the closed form)."""
    f1, f2 = (1 - beta) / 2, (1 + beta) / 2
    flat = np.sin(2 * np.pi * f1 * t) / (np.pi * t) if t != 0 else 2 * f1
    roll, _ = quad(lambda f: np.cos(np.pi / (2 * beta) * (f - f1)) * np.cos(2 * np.pi * f * t), f1, f2)
    return flat + 2 * roll


@pytest.mark.parametrize(("beta", "sps", "span"), [(0.35, 4, 8), (0.25, 4, 10), (0.5, 2, 12), (1.0, 8, 4)])
def test_taps_match_inverse_fourier_of_sqrt_raised_cosine(beta, sps, span):
    h = rrc_taps(beta, sps, span)
    assert h.dtype == np.float32 and h.size == span * sps + 1
    t = (np.arange(h.size) - (h.size - 1) / 2) / sps
    ref = np.array([_rrc_by_inverse_fourier(ti, beta) for ti in t])
    ref /= np.sqrt(np.sum(ref**2))
    np.testing.assert_allclose(h, ref, atol=2e-6)
    assert np.sum(h.astype(np.float64) ** 2) == pytest.approx(1.0, abs=1e-6)


def test_special_points_equal_closed_form_limits():
    beta, sps, span = 0.25, 4, 10  # t = ±T/(4β) = ±1 symbol falls on taps centre ± 4
    h = rrc_taps(beta, sps, span).astype(np.float64)
    c = (h.size - 1) // 2
    scale = h[c] / (1 + beta * (4 / np.pi - 1))
    pole = (
        beta
        / np.sqrt(2)
        * ((1 + 2 / np.pi) * np.sin(np.pi / (4 * beta)) + (1 - 2 / np.pi) * np.cos(np.pi / (4 * beta)))
    )
    assert h[c + 4] / scale == pytest.approx(pole, rel=1e-6)
    assert h[c - 4] == h[c + 4]

    def general(t):
        return (np.sin(np.pi * t * (1 - beta)) + 4 * beta * t * np.cos(np.pi * t * (1 + beta))) / (
            np.pi * t * (1 - (4 * beta * t) ** 2)
        )

    # the special values are the limits of the general formula
    assert general(1 + 1e-7) == pytest.approx(pole, rel=1e-5)
    assert general(1e-7) == pytest.approx(1 + beta * (4 / np.pi - 1), rel=1e-6)


def _peak_isi(h: np.ndarray, sps: int) -> float:
    rc = np.convolve(h, h)
    c = h.size - 1
    k = np.arange(c % sps, rc.size, sps)
    return float(np.max(np.abs(rc[k[k != c]])) / rc[c])


@pytest.mark.parametrize(("beta", "sps"), [(0.35, 4), (0.35, 8), (0.2, 4), (0.5, 2)])
def test_cascade_is_nyquist(beta, sps):
    # A long pulse is Nyquist to within 1e-4 ...
    long = rrc_taps(beta, sps, 400).astype(np.float64)
    assert _peak_isi(long, sps) < 1e-4
    # ... and truncating to `span` symbols adds at most 2·‖tail‖ (Cauchy-Schwarz) of ISI. Note: this
    # is ~5e-3 for β=0.35 at span 10, so a 1e-3 ISI budget needs span >= 24 (or a windowed pulse).
    c = (long.size - 1) // 2
    for span in (10, 12, 16, 24, 40):
        inside = long[c - span * sps // 2 : c + span * sps // 2 + 1]
        tail = np.sqrt(1.0 - np.sum(inside**2))
        assert _peak_isi(rrc_taps(beta, sps, span).astype(np.float64), sps) <= 2 * tail + 1e-5


@pytest.mark.parametrize(("beta", "sps", "span"), [(0.0, 4, 8), (1.5, 4, 8), (0.35, 0, 8), (0.35, 4, 0), (0.3, 2.5, 8)])
def test_bad_arguments_are_refused(beta, sps, span):
    with pytest.raises(DspArgumentError):
        rrc_taps(beta, sps, span)
