"""GainNoise: gain against a float64 reference, noise statistics, chunk and restart invariance."""

import numpy as np
import pytest

from skycall.bridge.noise import TABLE_BITS, GainNoise
from skycall.dsp._checks import DspArgumentError
from skycall.rng import make_rng


def _x(rng, n):
    return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)


def test_gain_follows_the_amplitude_interpolated_linearly_between_points(rng):
    index = np.array([1000, 5000, 9000], np.int64)
    gain_db = np.array([-6.0, 0.0, -20.0])
    stage = GainNoise(index, gain_db, 0.0, make_rng(1))
    x = _x(rng, 12_000)
    y = stage.process(x, 0)
    amp = np.interp(np.arange(x.size), index, 10.0 ** (gain_db / 20.0))  # held before/after the table
    np.testing.assert_allclose(y, amp * x.astype(np.complex128), rtol=2e-7, atol=1e-6)


def test_noise_is_white_circular_gaussian_of_the_requested_power():
    power = 0.37
    w = GainNoise(np.array([0]), [0.0], power, make_rng(2)).process(np.zeros(2_000_000, np.complex64), 123)
    assert np.mean(np.abs(w) ** 2) == pytest.approx(power, rel=0.005)
    assert np.var(w.real) == pytest.approx(power / 2, rel=0.01) and np.var(w.imag) == pytest.approx(power / 2, rel=0.01)
    assert abs(np.mean(w.real * w.imag)) < 0.005 * power  # circular
    for lag in (1, 2, 7, 1000):
        assert abs(np.mean(w[lag:] * np.conj(w[:-lag]))) < 0.005 * power  # white
    z = w.real / np.sqrt(power / 2)
    assert np.mean(z**4) == pytest.approx(3.0, abs=0.05)  # Gaussian kurtosis
    assert np.mean(np.abs(z) > 3.0) == pytest.approx(0.0027, rel=0.15)  # and tails
    assert len(np.unique(w)) > 0.8 * (1 << TABLE_BITS)  # the whole table is in use


def test_any_chunking_and_any_restart_index_give_the_same_bits(rng):
    stage = GainNoise(np.array([0, 50_000]), [0.0, -10.0], 0.01, make_rng(3))
    x = _x(rng, 60_000)
    one = stage.process(x, 777)
    edges = np.concatenate([[0], np.sort(rng.integers(0, x.size, 40)), [x.size]])
    parts = [stage.process(x[a:b], 777 + a) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_array_equal(np.concatenate(parts), one)
    twin = GainNoise(np.array([0, 50_000]), [0.0, -10.0], 0.01, make_rng(3))
    np.testing.assert_array_equal(twin.process(x[30_000:], 30_777), one[30_000:])
    other = GainNoise(np.array([0, 50_000]), [0.0, -10.0], 0.01, make_rng(4)).process(x, 777)
    assert not np.array_equal(other, one)  # another seed, other noise


def test_in_place_and_bad_arguments(rng):
    stage = GainNoise(np.array([0]), [3.0], 0.0, make_rng(1))
    x = _x(rng, 100)
    ref = stage.process(x, 0)
    stage.process(x, 0, out=x)
    np.testing.assert_array_equal(x, ref)
    with pytest.raises(DspArgumentError, match="noise_power"):
        GainNoise(np.array([0]), [0.0], -1.0, make_rng(1))
    with pytest.raises(DspArgumentError, match="strictly increasing"):
        GainNoise(np.array([5, 5]), [0.0, 0.0], 0.0, make_rng(1))
