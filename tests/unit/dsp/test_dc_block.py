"""DC blocker against a float64 scipy reference, chunk and copy invariance, its corner and rejection."""

import numpy as np
import pytest
from scipy import signal

from skycall.dsp._checks import DspArgumentError
from skycall.dsp.dc_block import DcBlocker

FS = 960e3


def _noise(rng, n):
    return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)


def test_matches_float64_difference_equation(rng):
    x = _noise(rng, 50_000) + np.complex64(0.3 - 0.2j)
    blk = DcBlocker(1000.0, FS)
    ref = signal.lfilter([blk.g, -blk.g], [1.0, -blk.a], x.astype(np.complex128))
    np.testing.assert_allclose(blk.process(x), ref, rtol=0, atol=2e-6)


def test_any_chunking_and_a_copy_mid_stream_give_the_same_output(rng):
    x = _noise(rng, 40_000) + np.complex64(1.0)
    y = DcBlocker(2000.0, FS).process(x)
    blk = DcBlocker(2000.0, FS)
    edges = np.concatenate([[0], np.sort(rng.integers(0, x.size, 30)), [x.size]])
    np.testing.assert_array_equal(np.concatenate([blk.process(x[a:b]) for a, b in zip(edges[:-1], edges[1:],
                                                                                          strict=True)]), y)
    blk.reset()
    blk.process(x[:12_345])
    twin = blk.copy()
    np.testing.assert_array_equal(twin.process(x[12_345:]), y[12_345:])
    np.testing.assert_array_equal(blk.process(x[12_345:]), y[12_345:])


def test_removes_a_dc_offset_as_large_as_the_signal_and_passes_the_if():
    """A DC term at 0 dB relative to a tone at fs/4: after 5 time constants the DC is below −100 dBc
    and the tone keeps its amplitude to 1e-4."""
    n = np.arange(200_000)
    tone = np.exp(2j * np.pi * 0.25 * n)
    blk = DcBlocker(1000.0, FS)
    y = blk.process((tone + 1.0).astype(np.complex64)).astype(np.complex128)
    settled = y[int(5 * FS / (2 * np.pi * 1000.0)) :]
    residual = settled - tone[-settled.size :] * np.mean(settled * np.conj(tone[-settled.size :]))
    assert 20 * np.log10(np.abs(np.mean(residual)) + 1e-30) < -100
    assert abs(np.mean(settled * np.conj(tone[-settled.size :]))) == pytest.approx(1.0, abs=1e-4)


def test_corner_is_minus_3_db():
    blk = DcBlocker(2000.0, FS)
    _, h = signal.freqz([blk.g, -blk.g], [1.0, -blk.a], worN=[2000.0, FS / 4], fs=FS)
    assert 20 * np.log10(abs(h[0])) == pytest.approx(-3.01, abs=0.03)
    assert abs(h[1]) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("corner_hz, fs", [(0.0, FS), (-1.0, FS), (FS / 4, FS), (100.0, float("nan"))])
def test_bad_parameters_are_one_clear_error(corner_hz, fs):
    with pytest.raises(DspArgumentError):
        DcBlocker(corner_hz, fs)
