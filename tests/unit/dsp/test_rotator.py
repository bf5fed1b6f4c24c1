"""Rotators against float64 numpy references, chunk invariance (bit-exact) and copy mid-stream."""

import numpy as np
import pytest

from skycall.dsp._checks import DspArgumentError
from skycall.dsp.rotator import Rotator, TrajectoryRotator
from skycall.rng import make_rng

FS = 240e3


def _noise(rng, n):
    return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)


def _chunks(rng, n, max_len=5000):
    edges = np.sort(rng.integers(0, n, size=n // max_len * 2 + 3))
    return np.concatenate([[0], edges, [n]])


def _phase_error_rad(y, x, ref_cycles):
    """Largest |angle(y / (x·exp(j2π·ref)))| (x must have no zeros)."""
    ref = x.astype(np.complex128) * np.exp(2j * np.pi * ref_cycles)
    return float(np.max(np.abs(np.angle(y * np.conj(ref)))))


def _trapezoid_cycles(index, freq_hz, n_abs):
    """∫₀ⁿ f dt / fs for piecewise-linear f with integer knots: the trapezoid sum is exact."""
    lo = min(0, int(n_abs[0]))
    grid = np.arange(lo, int(n_abs[-1]) + 2)
    f = np.interp(grid, index, freq_hz)
    cyc = np.concatenate([[0.0], np.cumsum((f[:-1] + f[1:]) / 2 / FS)])
    return cyc[n_abs - lo] - cyc[-lo]


def _assert_chunked_and_copied(rot, x, y, rng, max_len, cut=None):
    """Random chunking of a fresh ``rot`` reproduces the one-shot ``y``; with ``cut``, a copy taken
    after ``x[:cut]`` (and the original) continue identically."""
    edges = _chunks(rng, x.size, max_len)
    parts = [rot.process(x[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_array_equal(np.concatenate(parts), y)
    if cut is not None:
        rot.reset()
        rot.process(x[:cut])
        twin = rot.copy()
        np.testing.assert_array_equal(twin.process(x[cut:]), y[cut:])
        np.testing.assert_array_equal(rot.process(x[cut:]), y[cut:])


def test_rotator_stays_within_1e5_rad_of_float64_reference_over_1e7_samples():
    f_hz, phase = 12345.678, 0.7
    rot = Rotator(f_hz, FS, phase)
    x = np.ones(1_000_000, dtype=np.complex64)
    worst_phase, worst_amp = 0.0, 0.0
    for c in range(10):
        y = rot.process(x)
        n = np.arange(c * x.size, (c + 1) * x.size, dtype=np.float64)
        ref = np.mod(f_hz / FS * n, 1.0) + phase / (2 * np.pi)
        worst_phase = max(worst_phase, _phase_error_rad(y, x, ref))
        worst_amp = max(worst_amp, float(np.max(np.abs(np.abs(y) - 1))))
    assert worst_phase < 1e-5
    assert worst_amp < 1e-6


@pytest.mark.parametrize("f_hz", [0.0, -47_000.3, 119_999.0])
def test_rotator_chunking_is_bit_exact_and_copy_continues(f_hz):
    rng = make_rng(11)
    x = _noise(rng, 60_000)
    y = Rotator(f_hz, FS, 0.1).process(x)
    _assert_chunked_and_copied(Rotator(f_hz, FS, 0.1), x, y, rng, 5_000, cut=33_333)
    n = np.arange(x.size)
    assert _phase_error_rad(y, x, f_hz / FS * n + 0.1 / (2 * np.pi)) < 2e-6


def _doppler_table():
    # constant, +600 Hz/s ramp, steeper ramp, held; starts after 0 (first frequency held before)
    index = np.array([1_000, 50_000, 170_000, 230_000, 300_000], dtype=np.int64)
    freq = np.array([-30_000.0, -30_000.0, -30_000.0 + 600.0 * 120_000 / FS, 20_000.0, 35_000.0])
    return index, freq


def test_trajectory_matches_exact_integral_and_holds_ends():
    index, freq = _doppler_table()
    rot = TrajectoryRotator(FS, index, freq, phase_rad=0.3)
    x = np.ones(400_000, dtype=np.complex64)
    y = rot.process(x)
    ref = _trapezoid_cycles(index, freq, np.arange(x.size)) + 0.3 / (2 * np.pi)
    assert _phase_error_rad(y, x, ref) < 2e-6
    assert np.max(np.abs(np.abs(y) - 1)) < 1e-6  # three float32 unit phasors per sample, no recursion


def test_trajectory_sign_minus_undoes_plus_and_first_index_addresses_absolute_samples():
    index, freq = _doppler_table()
    rng = make_rng(12)
    x = _noise(rng, 320_000)
    y = TrajectoryRotator(FS, index, freq).process(x)
    back = TrajectoryRotator(FS, index, freq, sign=-1).process(y)
    np.testing.assert_allclose(back, x, atol=2e-5 * np.max(np.abs(x)))
    late = TrajectoryRotator(FS, index, freq)
    np.testing.assert_array_equal(late.process(x[200_000:210_000], first_index=200_000), y[200_000:210_000])
    assert late.sample_index == 210_000
    np.testing.assert_array_equal(late.process(x[210_000:211_000]), y[210_000:211_000])


def test_trajectory_chunking_is_bit_exact_and_copy_continues():
    index, freq = _doppler_table()
    rng = make_rng(13)
    x = _noise(rng, 320_000)
    y = TrajectoryRotator(FS, index, freq).process(x)
    _assert_chunked_and_copied(TrajectoryRotator(FS, index, freq), x, y, rng, 20_000, cut=171_717)


def _pass_table(duration_s):
    """A LEO-like Doppler S-curve on the ground station's 10 ms grid (peak rate 600 Hz/s)."""
    t_s = np.arange(0.0, duration_s + 1e-9, 0.01)
    return np.round(t_s * FS).astype(np.int64), -36_000.0 * np.tanh((t_s - duration_s / 2) / 60.0)


def test_trajectory_on_a_10_ms_grid_is_exact_and_chunking_is_bit_exact():
    """2000 short segments (one table point per 2400 samples), each a different chirp."""
    index, freq = _pass_table(20.0)
    rng = make_rng(16)
    x = _noise(rng, index[-1] + 5_000)  # runs past the last point: its frequency is held
    y = TrajectoryRotator(FS, index, freq, phase_rad=-1.1).process(x)
    ref = _trapezoid_cycles(index, freq, np.arange(x.size)) - 1.1 / (2 * np.pi)
    assert _phase_error_rad(y, x, ref) < 2e-6
    _assert_chunked_and_copied(TrajectoryRotator(FS, index, freq, phase_rad=-1.1), x, y, rng, 3_000)


def test_trajectory_bits_do_not_depend_on_where_x_and_out_lie_in_memory():
    """The kernel places its vectors by the address of ``out``: any offset of x and out gives the same bits."""
    index, freq = _pass_table(2.0)
    n = 9_000
    x = _noise(make_rng(17), n)
    y = TrajectoryRotator(FS, index, freq).process(x, first_index=123_457)
    x_buf, out_buf = np.zeros(n + 8, np.complex64), np.zeros(n + 8, np.complex64)
    for x_off, out_off in [(0, 0), (1, 5), (3, 3), (7, 2), (4, 0)]:
        xs, outs = x_buf[x_off : x_off + n], out_buf[out_off : out_off + n]
        xs[:] = x
        TrajectoryRotator(FS, index, freq).process(xs, first_index=123_457, out=outs)
        np.testing.assert_array_equal(outs, y)
        TrajectoryRotator(FS, index, freq).process(xs, first_index=123_457, out=xs)  # in place
        np.testing.assert_array_equal(xs, y)


def _table(c0, alpha, gamma, n):
    """The float32 phasor table exp(j2π(c0 + α·k + γ·k²)), k < n, as the trajectory kernel builds it."""
    from skycall.dsp.rotator import _VEC, _chirp_table

    tabs = np.zeros(2 * (n + _VEC), np.float32)
    _chirp_table(c0, alpha, gamma, n, tabs, 0, n + _VEC)
    return tabs[:n] + 1j * tabs[n + _VEC : 2 * n + _VEC].astype(np.complex128)


def test_table_phasors_are_within_1e7_of_exp():
    """Each entry from its float64 phase t: exact reduction to a quadrant, then a float32 polynomial."""
    quarter_turns = np.arange(-8, 9) / 8
    t = np.concatenate([make_rng(17).uniform(-1e6, 1e6, 500), quarter_turns, [0.5 - 1e-17, 1e9 + 0.125]])
    got = np.array([_table(v, 0.0, 0.0, 1)[0] for v in t])
    want = np.exp(2j * np.pi * np.mod(t, 1.0))  # the reduction is exact in float64, so is the reference's
    assert np.max(np.abs(got - want)) < 1.2e-7
    assert np.array_equal(got[500 : 500 + 17 : 2].real, np.cos(np.pi * quarter_turns[::2] * 2).round())
    k = np.arange(1_000.0)
    for c0, alpha, gamma in [(0.3, 0.1234, 1e-7), (0.7, -0.4, -3e-6), (-2.5, 0.49, 5e-9)]:
        chirp = np.exp(2j * np.pi * np.mod(c0 + alpha * k + gamma * k * k, 1.0))
        assert np.max(np.abs(_table(c0, alpha, gamma, k.size) - chirp)) < 1.2e-7


def test_trajectory_out_of_order_first_index_matches_one_shot():
    """Jumping back and forth between segments (per-block tables rebuilt) changes nothing."""
    index, freq = _doppler_table()
    rng = make_rng(15)
    x = _noise(rng, 320_000)
    y = TrajectoryRotator(FS, index, freq).process(x)
    rot = TrajectoryRotator(FS, index, freq)
    for start in (250_000, 60_000, 180_000, 0, 299_000, 175_000):
        np.testing.assert_array_equal(
            rot.process(x[start : start + 7_001], first_index=start), y[start : start + 7_001]
        )


def _check_ramp(duration_s, step):
    """Max phase error over ``duration_s`` of a ±600 Hz/s triangle between -48 and +48 kHz.

    (A single 600 Hz/s ramp over 10 min would sweep 360 kHz, beyond ±fs/2.) The reference
    integrates f by the trapezoid rule (exact for linear f) in long double, chunk by chunk.
    """
    leg = int(160 * FS)  # 96 kHz at 600 Hz/s
    index = np.arange(5, dtype=np.int64) * leg
    freq = np.array([-48e3, 48e3, -48e3, 48e3, -48e3])
    rot = TrajectoryRotator(FS, index, freq)
    x = np.ones(step, dtype=np.complex64)
    worst, carry = 0.0, np.longdouble(0)
    for start in range(0, int(duration_s * FS), step):
        n = np.arange(start, start + step + 1)
        f = np.interp(n, index, freq).astype(np.longdouble)
        cyc = carry + np.concatenate([[0], np.cumsum((f[:-1] + f[1:]) / 2)]) / np.longdouble(FS)
        carry = np.mod(cyc[-1], 1)
        ref = np.asarray(np.mod(cyc[:-1], 1), dtype=np.float64)
        worst = max(worst, _phase_error_rad(rot.process(x), x, ref))
    return worst


def test_quadratic_phase_of_600_hz_per_s_ramp_is_exact_over_20_s():
    assert _check_ramp(20.0, 480_000) < 1e-5


@pytest.mark.slow
def test_quadratic_phase_of_600_hz_per_s_ramps_is_exact_over_10_min():
    assert _check_ramp(600.0, 1_440_000) < 1e-5


def test_bad_arguments_are_refused():
    with pytest.raises(DspArgumentError, match="freq_hz"):
        Rotator(200e3, FS)
    with pytest.raises(DspArgumentError, match="sample_rate_sps"):
        Rotator(1e3, 0.0)
    with pytest.raises(DspArgumentError, match="increasing"):
        TrajectoryRotator(FS, np.array([0, 0]), np.array([1.0, 2.0]))
    with pytest.raises(DspArgumentError, match="integer"):
        TrajectoryRotator(FS, np.array([0.0, 1.0]), np.array([1.0, 2.0]))
    with pytest.raises(DspArgumentError, match="sign"):
        TrajectoryRotator(FS, np.array([0]), np.array([1.0]), sign=2)
    with pytest.raises(DspArgumentError, match="first_index"):
        TrajectoryRotator(FS, np.array([0]), np.array([1.0])).process(np.ones(4), first_index=-1)


def test_out_buffer_is_used_in_place_and_checked():
    rng = make_rng(14)
    x = _noise(rng, 5_000)
    y = Rotator(1_000.0, FS).process(x)
    buf = x.copy()
    assert Rotator(1_000.0, FS).process(buf, out=buf) is buf
    np.testing.assert_array_equal(buf, y)
    index, freq = _doppler_table()
    z = TrajectoryRotator(FS, index, freq).process(x)
    out = np.empty_like(x)
    TrajectoryRotator(FS, index, freq).process(x, out=out)
    np.testing.assert_array_equal(out, z)
    with pytest.raises(DspArgumentError, match="out"):
        Rotator(1_000.0, FS).process(x, out=np.empty(4_999, np.complex64))
    with pytest.raises(DspArgumentError, match="out"):
        TrajectoryRotator(FS, index, freq).process(x, out=np.empty(4_999, np.complex64))
    with pytest.raises(DspArgumentError, match="out"):
        TrajectoryRotator(FS, index, freq).process(x, out=np.empty(5_000, np.complex128))
    # other dtypes and strides take the converting path and give the same samples
    wide = np.zeros(2 * x.size, np.complex128)
    wide[::2] = x
    np.testing.assert_array_equal(TrajectoryRotator(FS, index, freq).process(wide[::2]), z)
    np.testing.assert_array_equal(TrajectoryRotator(FS, index, freq).process(list(x)), z)
