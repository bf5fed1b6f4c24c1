"""Streaming FIR blocks against scipy.signal.lfilter / upfirdn, chunk invariance and copy."""

import numpy as np
import pytest
from scipy import signal

from skycall.dsp._checks import DspArgumentError
from skycall.dsp.fir import FirDecimator, FirFilter, FirInterpolator
from skycall.rng import make_rng


def _noise(rng, n):
    return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)


def _taps(rng, n, complex_taps):
    t = rng.standard_normal(n)
    if complex_taps:
        t = t + 1j * rng.standard_normal(n)
    return t / np.sqrt(n)


def _chunked(block, x, rng):
    parts, i = [], 0
    while i < x.size:
        n = int(rng.integers(0, 3000))
        parts.append(block.process(x[i : i + n]))
        i += n
    return np.concatenate(parts)


@pytest.mark.parametrize("complex_taps", [False, True])
@pytest.mark.parametrize("n_taps", [1, 33, 70])
def test_fir_matches_lfilter_and_is_chunk_invariant(complex_taps, n_taps):
    rng = make_rng(1)
    taps, x = _taps(rng, n_taps, complex_taps), _noise(rng, 20_000)
    y = FirFilter(taps).process(x)
    assert y.dtype == np.complex64 and y.size == x.size
    ref = signal.lfilter(taps.astype(np.complex128), 1.0, x.astype(np.complex128))
    np.testing.assert_allclose(y, ref, atol=2e-5 * np.sqrt(n_taps))
    np.testing.assert_array_equal(_chunked(FirFilter(taps), x, rng), y)


def test_fir_copy_mid_stream_continues_identically_and_reset_restarts():
    rng = make_rng(2)
    taps, x = _taps(rng, 21, False), _noise(rng, 5000)
    f = FirFilter(taps)
    f.process(x[:1234])
    g = f.copy()
    a, b = f.process(x[1234:]), g.process(x[1234:])
    np.testing.assert_array_equal(a, b)
    f.reset()
    np.testing.assert_array_equal(f.process(x), FirFilter(taps).process(x))


@pytest.mark.parametrize("complex_taps", [False, True])
@pytest.mark.parametrize(("n_taps", "up"), [(48, 4), (37, 3), (5, 8), (1, 2)])
def test_interpolator_matches_upfirdn(complex_taps, n_taps, up):
    rng = make_rng(3)
    taps, x = _taps(rng, n_taps, complex_taps), _noise(rng, 6000)
    y = FirInterpolator(taps, up).process(x)
    ref = signal.upfirdn(taps.astype(np.complex128), x.astype(np.complex128), up)
    ref = np.concatenate([ref, np.zeros(max(0, x.size * up - ref.size))])[: x.size * up]  # taps shorter than up
    assert y.size == x.size * up
    np.testing.assert_allclose(y, ref, atol=2e-5 * np.sqrt(n_taps))
    interp = FirInterpolator(taps, up)
    np.testing.assert_array_equal(_chunked(interp, x, rng), y)


def test_interpolator_copy_mid_stream():
    rng = make_rng(4)
    taps, x = _taps(rng, 32, False), _noise(rng, 3000)
    a = FirInterpolator(taps, 4)
    a.process(x[:777])
    b = a.copy()
    np.testing.assert_array_equal(a.process(x[777:]), b.process(x[777:]))


@pytest.mark.parametrize("complex_taps", [False, True])
@pytest.mark.parametrize(("n_taps", "down"), [(48, 4), (37, 3), (3, 7), (1, 1)])
def test_decimator_matches_upfirdn_and_keeps_phase_across_chunks(complex_taps, n_taps, down):
    rng = make_rng(5)
    taps, x = _taps(rng, n_taps, complex_taps), _noise(rng, 10_001)
    y = FirDecimator(taps, down).process(x)
    ref = signal.upfirdn(taps.astype(np.complex128), x.astype(np.complex128), 1, down)
    assert y.size == -(-x.size // down)
    np.testing.assert_allclose(y, ref[: y.size], atol=2e-5 * np.sqrt(n_taps))
    np.testing.assert_array_equal(_chunked(FirDecimator(taps, down), x, rng), y)
    d = FirDecimator(taps, down)
    d.process(x[:1001])
    e = d.copy()
    np.testing.assert_array_equal(d.process(x[1001:]), e.process(x[1001:]))


def test_bad_arguments_are_refused():
    with pytest.raises(DspArgumentError, match="taps"):
        FirFilter([])
    with pytest.raises(DspArgumentError, match="up"):
        FirInterpolator([1.0], 0)
    with pytest.raises(DspArgumentError, match="down"):
        FirDecimator([1.0], 1.5)
    with pytest.raises(DspArgumentError, match="1-D"):
        FirFilter([1.0]).process(np.zeros((2, 2)))


def test_fir_writes_into_out_buffer():
    rng = make_rng(6)
    taps, x = _taps(rng, 9, True), _noise(rng, 3000)
    out = np.empty_like(x)
    assert FirFilter(taps).process(x, out=out) is out
    np.testing.assert_array_equal(out, FirFilter(taps).process(x))
    with pytest.raises(DspArgumentError, match="out"):
        FirFilter(taps).process(x, out=np.empty(3000, np.complex128))
