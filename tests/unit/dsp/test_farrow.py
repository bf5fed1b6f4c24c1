"""FarrowDelay against closed-form delayed tones, the delay-ramp Doppler shift, a numpy evaluation of the
docstring's maths (bit for bit), chunking and copy."""

import numpy as np
import pytest

from skycall.dsp._checks import DspArgumentError
from skycall.dsp.farrow import FarrowDelay
from skycall.rng import make_rng

FS = 240e3


def _lagrange_bound(f_hz):
    """Cubic Lagrange remainder for a unit tone: ω⁴/4!·max|(μ+1)μ(μ-1)(μ-2)| = ω⁴/24·9/16, plus float32."""
    w = 2 * np.pi * f_hz / FS
    return w**4 / 24 * 9 / 16 + 2e-6


def _tone(f_hz, n):
    return np.exp(2j * np.pi * f_hz / FS * n).astype(np.complex64)


@pytest.mark.parametrize("delay_samples", [2.0, 2.5, 37.3, 1536.75])
def test_constant_delay_gives_closed_form_phase(delay_samples):
    f_hz = 3_000.0
    n = np.arange(20_000)
    y = FarrowDelay(FS, np.array([0]), np.array([delay_samples / FS])).process(_tone(f_hz, n))
    ref = np.exp(2j * np.pi * f_hz / FS * (n - delay_samples))
    settled = n >= delay_samples + 2
    np.testing.assert_allclose(y[settled], ref[settled], atol=_lagrange_bound(f_hz))
    assert np.all(y[n < delay_samples - 2] == 0)  # before the stream started


def test_delay_ramp_shifts_frequency_by_minus_f_times_drift():
    f_hz, drift = 20_000.0, 40e-6  # 40 µs/s, the LEO maximum
    n = np.arange(int(2.5 * FS))
    t0 = 6.4e-3
    index = np.array([0, n[-1]], dtype=np.int64)
    delay_s = t0 + drift * index / FS
    y = FarrowDelay(FS, index, delay_s).process(_tone(f_hz, n))
    tail = slice(int(0.1 * FS), None)
    # closed form: x evaluated at n - D(n)
    ref = np.exp(2j * np.pi * f_hz / FS * (n - (t0 + drift * n / FS) * FS))
    np.testing.assert_allclose(y[tail], ref[tail], atol=_lagrange_bound(f_hz))
    # and the instantaneous frequency is f·(1 - d'): a -0.8 Hz Doppler shift
    phase = np.unwrap(np.angle(y[tail]).astype(np.float64))
    slope_hz = np.polyfit(n[tail] / FS, phase, 1)[0] / (2 * np.pi)
    assert slope_hz - f_hz == pytest.approx(-f_hz * drift, abs=1e-3)


def test_chunking_is_bit_exact_and_copy_continues():
    rng = make_rng(31)
    x = (rng.standard_normal(60_000) + 1j * rng.standard_normal(60_000)).astype(np.complex64)
    index = np.array([5_000, 20_000, 45_000], dtype=np.int64)
    delay_s = np.array([2.0e-3, 2.0e-3 + 40e-6 * 15_000 / FS, 1.9e-3])
    y = FarrowDelay(FS, index, delay_s).process(x)
    fd = FarrowDelay(FS, index, delay_s)
    parts, i = [], 0
    while i < x.size:
        k = int(rng.integers(0, 4_000))
        parts.append(fd.process(x[i : i + k], first_index=i))
        i += k
    np.testing.assert_array_equal(np.concatenate(parts), y)
    fd.reset()
    fd.process(x[:25_555])
    twin = fd.copy()
    np.testing.assert_array_equal(twin.process(x[25_555:]), y[25_555:])
    out = np.empty(x.size - 25_555, dtype=np.complex64)
    assert fd.process(x[25_555:], out=out) is out
    np.testing.assert_array_equal(out, y[25_555:])


def _numpy_farrow(x, index, delay_s, dtype):
    """The module docstring's interpolant over the whole stream, vectorised in numpy (no kernel code).

    The position in float64: D(n) = d_k + s_k·(n − index_k) on the segment k holding n (held outside the
    table), m = n − ⌈D⌉, μ = ⌈D⌉ − D; the Horner form in ``dtype`` (float32: the kernel's rounding, float64:
    the exact value of the same interpolant); x is zero before the stream's start.
    """
    d_pts = delay_s * FS
    slope = np.zeros_like(d_pts)
    slope[:-1] = np.diff(d_pts) / np.diff(index).astype(np.float64)
    n = np.arange(x.size)
    k = np.searchsorted(index, n, side="right") - 1
    kk = np.maximum(k, 0)
    d = d_pts[kk] + np.where(k >= 0, slope[kk], 0.0) * (n - index[kk]).astype(np.float64)
    c = np.ceil(d)
    mu = (c - d).astype(dtype)[:, None]
    pad = int(np.max(c)) + 1
    xs = np.concatenate([np.zeros((pad, 2), np.float32), x.view(np.float32).reshape(-1, 2)]).astype(dtype)
    m = pad + n - c.astype(np.int64)
    xm1, x0, x1, x2 = xs[m - 1], xs[m], xs[m + 1], xs[m + 2]
    third, half, sixth = (dtype(v) for v in (1 / 3, 0.5, 1 / 6))
    k1 = x1 - xm1 * third - x0 * half - x2 * sixth
    k2 = (xm1 + x1) * half - x0
    k3 = (x0 - x1) * half + (x2 - xm1) * sixth
    return (((k3 * mu + k2) * mu + k1) * mu + x0).view(np.complex64 if dtype is np.float32 else np.complex128)[:, 0]


def test_drifting_delay_equals_numpy_evaluation_bit_for_bit_in_random_chunks():
    """Steep and LEO-slow drifts both ways, whole-sample delays (μ = 0) and holds; chunks from 0 samples to
    more than the history (the buffer grows and its history moves to the front)."""
    rng = make_rng(47)
    x = (rng.standard_normal(150_000) + 1j * rng.standard_normal(150_000)).astype(np.complex64)
    index = np.array([2_000, 3_000, 3_400, 9_000, 20_000, 21_000, 60_000, 61_000, 140_000], dtype=np.int64)
    d_samples = np.array([7.0, 7.0, 127.0, 40.25, 40.25 + 11_000 * 4e-5, 13.0, 13.0 - 39_000 * 3e-5, 500.0, 600.5])
    delay_s = d_samples / FS
    ref = _numpy_farrow(x, index, delay_s, np.float32)
    exact = _numpy_farrow(x, index, delay_s, np.float64)
    assert np.max(np.abs(ref - exact)) < 1e-5 * np.max(np.abs(exact))  # float32 rounding of the same interpolant
    fd = FarrowDelay(FS, index, delay_s)
    parts, i = [], 0
    while i < x.size:
        n = int(rng.choice([0, 1, 3, 700, 1_920, 5_000, 23_040]))
        parts.append(fd.process(x[i : i + n], first_index=i))
        i += n
    np.testing.assert_array_equal(np.concatenate(parts).view(np.uint32), ref.view(np.uint32))


def test_bad_arguments_are_refused():
    with pytest.raises(DspArgumentError, match="2 samples"):
        FarrowDelay(FS, np.array([0]), np.array([1.0 / FS]))
    with pytest.raises(DspArgumentError, match="increasing"):
        FarrowDelay(FS, np.array([5, 1]), np.array([1e-3, 1e-3]))
    fd = FarrowDelay(FS, np.array([0]), np.array([1e-3]))
    fd.process(np.zeros(10))
    with pytest.raises(DspArgumentError, match="first_index"):
        fd.process(np.zeros(10), first_index=0)
