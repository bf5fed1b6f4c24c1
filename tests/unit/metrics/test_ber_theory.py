import numpy as np
import pytest
from scipy.stats import norm

from skycall.errors import SkycallError
from skycall.metrics.ber_theory import (
    distance_spectrum,
    ebn0_at_ber,
    q_function,
    qpsk_ber,
    qpsk_ebn0_db,
    viterbi_union_bound,
)


def test_q_function_matches_scipy_normal_tail():
    x = np.linspace(-3, 8, 50)
    assert np.allclose(q_function(x), norm.sf(x), rtol=1e-12, atol=0)


def test_qpsk_ber_matches_monte_carlo_bpsk():
    rng = np.random.default_rng(3)
    ebn0_db = 4.0
    bits = rng.integers(0, 2, 1_000_000)
    r = (1 - 2 * bits) + rng.standard_normal(bits.size) / np.sqrt(2 * 10 ** (ebn0_db / 10))
    measured = np.mean((r < 0) != bits.astype(bool))
    expected = float(qpsk_ber(ebn0_db))
    assert abs(measured - expected) < 4 * np.sqrt(expected / bits.size)
    assert qpsk_ebn0_db(expected) == pytest.approx(ebn0_db, abs=1e-9)
    with pytest.raises(SkycallError, match="ber"):
        qpsk_ebn0_db(0.7)


def test_k7_distance_spectrum_matches_published_values():
    spec = distance_spectrum(16)
    assert min(spec) == 10  # free distance
    assert [spec[d][1] for d in (10, 12, 14, 16)] == [36, 211, 1404, 11633]
    assert [spec[d][0] for d in (10, 12, 14, 16)] == [11, 38, 193, 1331]
    assert all(d % 2 == 0 for d in spec)


def test_k3_spectrum_matches_transfer_function():
    """(7, 5) code: T(D, N) = D^5·N / (1 - 2·D·N) -> a_d = 2^(d-5), c_d = (d-4)·2^(d-5)."""
    spec = distance_spectrum(12, generators=(0o7, 0o5), constraint_length=3)
    assert spec == {d: (2 ** (d - 5), (d - 4) * 2 ** (d - 5)) for d in range(5, 13)}


def test_union_bound_approaches_its_first_term():
    ebn0_db = np.array([6.0, 8.0])
    first = 36 * q_function(np.sqrt(2 * 10 * 0.5 * 10 ** (ebn0_db / 10)))
    bound = viterbi_union_bound(ebn0_db)
    assert np.all(bound > first) and bound[1] / first[1] < 1.05


def test_ebn0_at_ber_interpolates_log_ber():
    x = np.array([0.0, 1.0, 2.0])
    y = np.array([1e-2, 1e-3, 1e-4])
    assert ebn0_at_ber(x, y, 10**-3.5) == pytest.approx(1.5)
    assert ebn0_at_ber(x, y, 1e-6) is None
