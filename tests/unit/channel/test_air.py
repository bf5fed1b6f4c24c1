"""Loopback air: closed-form LO offset, noise power, chunk invariance, copy mid-stream, clock offset."""

import numpy as np
import pytest

from skycall.channel.air import AirModel
from skycall.errors import ConfigError
from skycall.rng import make_rng

FS = 240e3
FC = 1545e6


def _air(seed=1, **kw):
    args = {"noise_floor_dbfs": -40.0, "lo_offset_ppm": 0.0, "clock_offset_ppm": 0.0, **kw}
    return AirModel(FS, FC, rng=make_rng(seed), **args)


def _noise(rng, n):
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) * 0.3).astype(np.complex64)


def test_lo_offset_matches_the_closed_form():
    ppm = 2.5  # 3862.5 Hz at 1545 MHz
    n0 = 123_456
    n = np.arange(n0, n0 + 5000)
    x = np.exp(2j * np.pi * 1000.0 * n / FS).astype(np.complex64)
    y = _air(noise_floor_dbfs=-300.0, lo_offset_ppm=ppm).process(x, n0)
    ref = x * np.exp(2j * np.pi * ppm * 1e-6 * FC * n / FS)
    assert np.max(np.abs(y - ref)) < 2e-5


def test_noise_power_matches_the_floor():
    air = _air(noise_floor_dbfs=-30.0)
    w = air.process(np.zeros(200_000, np.complex64), 0)
    p_db = 10 * np.log10(np.mean(np.abs(w) ** 2))
    assert abs(p_db - -30.0) < 0.1  # 200k samples: ±0.02 dB 1-sigma
    assert abs(np.mean(w.real**2) - np.mean(w.imag**2)) < 0.03 * np.mean(w.real**2)
    assert abs(np.corrcoef(w.real[:-1], w.real[1:])[0, 1]) < 0.01  # white


def test_seed_decides_the_noise():
    z = np.zeros(1000, np.complex64)
    assert np.array_equal(_air(1).process(z, 0), _air(1).process(z, 0))
    assert not np.array_equal(_air(1).process(z, 0), _air(2).process(z, 0))


@pytest.mark.parametrize("kw", [{}, {"lo_offset_ppm": -3.0}])
def test_random_chunking_and_copy_mid_stream_are_bit_identical(kw, rng):
    x = _noise(rng, 30_000)
    one = _air(**kw).process(x, 5000)
    air = _air(**kw)
    cuts = np.sort(rng.choice(np.arange(1, x.size), 25, replace=False))
    parts, pos, clone, tail_from = [], 5000, None, None
    for i, part in enumerate(np.split(x, cuts)):
        if i == 12:
            clone, tail_from = air.copy(), len(np.concatenate(parts))
        parts.append(air.process(part, pos))
        pos += part.size
    assert np.array_equal(np.concatenate(parts), one)
    assert np.array_equal(clone.process(x[tail_from:], 5000 + tail_from), one[tail_from:])


def test_lo_offset_beyond_nyquist_is_a_clear_error():
    with pytest.raises(ConfigError, match="lo_offset_ppm"):
        _air(lo_offset_ppm=100.0)


@pytest.mark.parametrize("ppm", [50.0, -30.0])
def test_clock_offset_stretches_a_tone_by_ppm(ppm):
    """A slow tone through d(n) = D0 - eps·n samples acquires phase 2π·f0·(eps·n - D0)/fs (closed form)."""
    pytest.importorskip("skycall.dsp.farrow")
    f0, n_total = 5000.0, 200_000
    n = np.arange(n_total)
    x = np.exp(2j * np.pi * f0 * n / FS).astype(np.complex64)
    air = _air(noise_floor_dbfs=-300.0, clock_offset_ppm=ppm, horizon_samples=n_total)
    assert air.latency_samples == (int(np.ceil(2 + ppm * 1e-6 * n_total)) if ppm > 0 else 2)
    starts = range(0, n_total, 7000)
    y = np.concatenate([air.process(x[s : s + 7000], s) for s in starts])
    ref = np.exp(2j * np.pi * f0 * (n - air.latency_samples + ppm * 1e-6 * n) / FS)
    mid = slice(1000, n_total)
    assert np.max(np.abs(y[mid] - ref[mid])) < 1e-3
    # the recovered sample-rate ratio: phase slope of y / phase slope of x = 1 + eps
    slope = np.polyfit(n[mid], np.unwrap(np.angle(y[mid].astype(np.complex128))), 1)[0] / (
        2 * np.pi * f0 / FS
    )
    assert abs(slope - (1 + ppm * 1e-6)) < 1e-7
