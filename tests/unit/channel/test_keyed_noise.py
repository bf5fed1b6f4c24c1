"""Index-keyed white noise: its statistics against CN(0, P), and the same bits for any chunking."""

import numpy as np
import pytest
from scipy import stats

from skycall.channel.noise import BLOCK, KeyedNoise


def test_power_and_components_are_circular_gaussian():
    """Re and Im each N(0, P/2), uncorrelated, white (lag-1 correlation ≈ 0, also across a block edge)."""
    p = 0.37
    w = KeyedNoise(p, np.random.default_rng(1)).generate(20 * BLOCK, 1000).astype(np.complex128)
    n = w.size
    assert np.mean(np.abs(w) ** 2) == pytest.approx(p, rel=4 / np.sqrt(n))  # ±4σ of the estimate
    for part in (w.real, w.imag):
        assert stats.kstest(part / np.sqrt(p / 2), "norm").pvalue > 1e-3
    assert abs(np.mean(w.real * w.imag)) < 4 * (p / 2) / np.sqrt(n)
    assert abs(np.mean(w[1:] * np.conj(w[:-1]))) < 4 * p / np.sqrt(n)
    edge = np.arange(BLOCK - 1000, 20 * BLOCK - 1000, BLOCK)  # last sample of each block vs the next block's first
    assert abs(np.mean(w[edge] * np.conj(w[edge - 1]))) < 5 * p / np.sqrt(edge.size)


def test_any_chunking_and_a_copy_give_the_same_bits(rng):
    one = KeyedNoise(1.0, np.random.default_rng(7)).generate(5 * BLOCK, 300)
    noise = KeyedNoise(1.0, np.random.default_rng(7))
    cuts = np.sort(rng.choice(np.arange(1, one.size), 20, replace=False))
    parts, pos = [], 300
    for i, size in enumerate(np.diff(np.r_[0, cuts, one.size])):
        if i == 10:
            clone, clone_from = noise.copy(), pos
        parts.append(noise.generate(int(size), pos))
        pos += int(size)
    assert np.array_equal(np.concatenate(parts), one)
    assert np.array_equal(clone.generate(300 + one.size - clone_from, clone_from), one[clone_from - 300 :])
    assert np.array_equal(noise.generate(100, 300), one[:100])  # back to an earlier index: the same samples


def test_the_seed_decides_the_noise():
    a, b, c = (KeyedNoise(1.0, np.random.default_rng(s)).generate(1000, 0) for s in (3, 3, 4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
