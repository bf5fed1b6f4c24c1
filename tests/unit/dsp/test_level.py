"""Level normaliser against an independent float64 block reference; chunk/copy invariance; levels −5…−35 dBFS."""

import numpy as np
import pytest

from skycall.dsp.level import ATTACK_RATIO, SILENCE_RATIO, LevelNormaliser

FS = 240e3


def _qpsk_like(rng, n):
    """Unit-power complex noise shaped like a 12 ksym/s signal (the normaliser only sees power)."""
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


def _reference(x, first, norm: LevelNormaliser):
    """Straight from the module docstring, in float64, block by block."""
    L, p_est = norm.block, 0.0
    xs = np.concatenate([np.zeros(first % L), x.astype(np.complex128)])
    gains = []
    for b in range(len(xs) // L):
        p = np.mean(np.abs(xs[b * L : (b + 1) * L]) ** 2)
        if p > ATTACK_RATIO * p_est:
            p_est = p
        elif p >= SILENCE_RATIO * p_est:
            p_est += norm.alpha * (p - p_est)
        else:
            p_est *= norm.release
        gains.append(1 / np.sqrt(p_est) if p_est > 0 else 0.0)
    y = np.zeros(len(xs), np.complex128)
    for b, g in enumerate(gains):
        y[(b + 1) * L : (b + 2) * L] = xs[b * L : (b + 1) * L][: max(0, len(xs) - (b + 1) * L)] * g
    return y[first % L :]


def test_matches_the_float64_reference_from_any_start_index(rng):
    x = np.concatenate([0.001 * _qpsk_like(rng, 5000), 0.05 * _qpsk_like(rng, 30_000), 0.001 * _qpsk_like(rng, 9000)])
    norm = LevelNormaliser(FS)
    first = 1234567
    np.testing.assert_allclose(norm.process(x, first), _reference(x, first, LevelNormaliser(FS)), rtol=2e-5, atol=2e-5)


def test_any_chunking_and_a_copy_mid_stream_give_the_same_output(rng):
    x = np.concatenate([0.3 * _qpsk_like(rng, 20_000), 0.01 * _qpsk_like(rng, 20_000)])
    y = LevelNormaliser(FS).process(x, 777)
    norm = LevelNormaliser(FS)
    edges = np.concatenate([[0], np.sort(rng.integers(0, x.size, 25)), [x.size]])
    parts = [norm.process(x[a:b], 777 + a) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_array_equal(np.concatenate(parts), y)
    norm.reset()
    norm.process(x[:15_001], 777)
    twin = norm.copy()
    np.testing.assert_array_equal(twin.process(x[15_001:], 777 + 15_001), y[15_001:])
    np.testing.assert_array_equal(norm.process(x[15_001:], 777 + 15_001), y[15_001:])


@pytest.mark.parametrize("level_dbfs", [-5.0, -20.0, -35.0])
def test_any_adc_level_comes_out_at_unit_power_from_the_first_block_of_a_burst(rng, level_dbfs):
    """A burst 30 dB above the noise, at −5 … −35 dBFS: unit power (±0.3 dB) in its first block and on
    average (±0.1 dB); the noise after it keeps its level relative to the burst (−30 dB ± 1 dB)."""
    a = 10 ** (level_dbfs / 20)
    noise = a * 10 ** (-30 / 20) * _qpsk_like(rng, 60_000)
    x = noise.copy()
    x[12_000:48_000] += a * _qpsk_like(rng, 36_000)
    norm = LevelNormaliser(FS)
    y = norm.process(x, 0)[norm.block :]  # undo the one-block latency
    L = norm.block
    first_block = y[12_000 : 12_000 + L]
    assert 10 * np.log10(np.mean(np.abs(first_block) ** 2)) == pytest.approx(0.0, abs=0.3)
    assert 10 * np.log10(np.mean(np.abs(y[12_000:48_000]) ** 2)) == pytest.approx(0.0, abs=0.1)
    assert 10 * np.log10(np.mean(np.abs(y[49_000:]) ** 2)) == pytest.approx(-30.0, abs=1.0)
