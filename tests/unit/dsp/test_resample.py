"""RationalResampler against scipy.signal.upfirdn, a passband tone, chunking and copy."""

import numpy as np
import pytest
from scipy import signal

from skycall.dsp._checks import DspArgumentError
from skycall.dsp.resample import RationalResampler
from skycall.rng import make_rng


def _noise(rng, n):
    return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)


@pytest.mark.parametrize(("up", "down"), [(3, 2), (2, 5), (1, 4), (5, 1), (160, 147), (4, 6)])
def test_matches_upfirdn_and_is_chunk_invariant(up, down):
    rng = make_rng(21)
    x = _noise(rng, 8_000)
    rs = RationalResampler(up, down)
    y = rs.process(x)
    ref = signal.upfirdn(rs.taps.astype(np.float64), x.astype(np.complex128), rs.up, rs.down)
    assert y.size == -(-x.size * rs.up // rs.down)
    np.testing.assert_allclose(y, ref[: y.size], atol=1e-4)
    chunked = RationalResampler(up, down)
    parts, i = [], 0
    while i < x.size:
        n = int(rng.integers(0, 700))
        parts.append(chunked.process(x[i : i + n]))
        i += n
    np.testing.assert_array_equal(np.concatenate(parts), y)


def test_copy_mid_stream_and_complex_taps():
    rng = make_rng(22)
    x = _noise(rng, 5_000)
    taps = (rng.standard_normal(31) + 1j * rng.standard_normal(31)) / 6
    rs = RationalResampler(3, 4, taps)
    y = rs.process(x)
    ref = signal.upfirdn(taps, x.astype(np.complex128), 3, 4)
    np.testing.assert_allclose(y, ref[: y.size], atol=1e-5)
    rs.reset()
    rs.process(x[:1_111])
    twin = rs.copy()
    np.testing.assert_array_equal(twin.process(x[1_111:]), rs.process(x[1_111:]))


def test_default_filter_passes_a_tone_with_unity_gain_at_the_new_rate():
    fs_in, up, down, f_hz = 48_000.0, 5, 3, 3_000.0
    n = np.arange(30_000)
    y = RationalResampler(up, down).process(np.exp(2j * np.pi * f_hz / fs_in * n))
    fs_out = fs_in * up / down
    steady = y[1_000:-1_000]
    assert np.abs(steady) == pytest.approx(1.0, abs=2e-3)
    freq = np.angle(np.sum(steady[1:] * np.conj(steady[:-1]))) * fs_out / (2 * np.pi)
    assert freq == pytest.approx(f_hz, abs=1e-3)


def test_bad_arguments_are_refused():
    with pytest.raises(DspArgumentError, match="down"):
        RationalResampler(2, 0)
