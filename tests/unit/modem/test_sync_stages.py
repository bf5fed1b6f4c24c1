"""Streaming synchronisation stages: closed-form references, chunking invariance, copy mid-stream."""

import dataclasses

import numpy as np
import pytest

from skycall.modem.acquisition import Acquirer
from skycall.modem.carrier import CarrierTracker
from skycall.modem.nco import ChirpMixer
from skycall.modem.profiles import SATELLITE
from skycall.modem.timing import GardnerTiming
from skycall.modem.tx import Transmitter
from skycall.modem.waveform import WaveformConfig
from tests.unit.modem.test_txrx import _frames

WF = WaveformConfig()
RS = WF.symbol_rate_sps


def _chunked(stage, x, seed, split_output=False):
    """Feed ``x`` in random chunks; also return a copy taken mid-stream and where it was taken."""
    rng = np.random.default_rng(seed)
    parts, i, cp, at = [], 0, None, None
    while i < x.size:
        n = int(rng.integers(1, 700))
        parts.append(stage.process(x[i : i + n]))
        i += n
        if cp is None and i > x.size // 2:
            cp, at = stage.copy(), i
    if split_output:
        return [np.concatenate(p) for p in zip(*parts, strict=True)], cp, at
    return np.concatenate(parts), cp, at


def _qpsk(n, seed):
    rng = np.random.default_rng(seed)
    return ((2 * rng.integers(0, 2, n) - 1) + 1j * (2 * rng.integers(0, 2, n) - 1)) / np.sqrt(2)


def test_chirp_mixer_matches_closed_form_and_is_chunk_invariant():
    fs, f0, r = 240_000.0, -41_234.5, 612.0
    x = (np.random.default_rng(1).standard_normal(50_000) * (1 + 1j)).astype(np.complex64)
    mixer = ChirpMixer(fs)
    mixer.set(f0, r)
    one = mixer.copy().process(x)
    n = np.arange(x.size, dtype=np.float64)
    cycles = f0 / fs * n + r / fs**2 * n * (n - 1) / 2  # φ[n] = Σ_{k<n} f[k]
    ref = x * np.exp(-2j * np.pi * np.mod(cycles, 1.0))
    assert np.max(np.abs(one - ref)) < 2e-5 * np.max(np.abs(x))
    got, cp, at = _chunked(mixer, x, 2)
    assert np.array_equal(got, one)
    fresh = ChirpMixer(fs)
    fresh.set(f0, r)
    assert np.array_equal(fresh.process(x)[at:], one[at:])
    assert mixer.freq_hz == pytest.approx(f0 + r * x.size / fs, rel=1e-9)


def test_chirp_mixer_retune_keeps_phase_continuous():
    fs = 48_000.0
    m = ChirpMixer(fs)
    m.set(1_000.0, 0.0)
    a = m.process(np.ones(1000, np.complex64))
    m.set(2_000.0, 0.0)
    b = m.process(np.ones(10, np.complex64))
    step = np.angle(b[0] * np.conj(a[-1]))
    assert step == pytest.approx(-2 * np.pi * 1_000.0 / fs, abs=1e-5)  # last step still at the old frequency


def test_carrier_loop_tracks_a_ramp_without_steady_state_error():
    """Third order: the residual left by acquisition (3 Hz, 60 Hz/s: 10 % of a 600 Hz/s ramp) is pulled in
    without a slip and the phase error then averages to zero (a 2nd-order loop would keep 2πR/ω_n²)."""
    n = int(1.5 * RS)
    d = _qpsk(n, 3)
    t = np.arange(n) / RS
    z = (d * np.exp(1j * (np.pi * 60.0 * t * t + 2 * np.pi * 3.0 * t + 0.2))).astype(np.complex64)
    loop = CarrierTracker(RS, SATELLITE.pll_bandwidth_hz, SATELLITE.rate_corner_ratio)
    loop.start(0.2, 1.0)
    out = loop.process(z)
    err = np.angle(out * np.conj(d))
    assert np.max(np.abs(err)) < np.pi / 4  # no slip during pull-in
    assert abs(np.mean(err[-int(0.3 * RS) :])) < 0.01
    assert loop.rate_hz_s == pytest.approx(60.0, rel=0.02)
    assert loop.freq_hz == pytest.approx(3.0 + 60.0 * t[-1], abs=0.5)


def test_carrier_loop_chunking_and_copy():
    n = 20_000
    rng = np.random.default_rng(4)
    z = (_qpsk(n, 4) * np.exp(1j * 2 * np.pi * 3.0 * np.arange(n) / RS) + 0.3 * rng.standard_normal(n)).astype(
        np.complex64
    )
    loop = CarrierTracker(RS, 50.0, 8.0)
    one = loop.copy().process(z)
    got, cp, at = _chunked(loop, z, 5)
    assert np.array_equal(got, one)
    assert np.array_equal(cp.process(z[at:]), one[at:])


def test_gardner_recovers_a_fractional_delay_and_is_chunk_invariant():
    sps, delay = 4, 1.7
    d = _qpsk(4000, 6)
    up = np.zeros(d.size * sps, complex)
    up[::sps] = d
    from skycall.dsp.rrc import rrc_taps

    h = rrc_taps(0.35, sps, 8)
    rc = np.convolve(h, h)  # RRC·RRC = raised cosine: zero ISI at the right instants
    y = np.convolve(up, rc)[: up.size]
    y = np.interp(np.arange(y.size) - delay, np.arange(y.size), y.real) + 1j * np.interp(
        np.arange(y.size) - delay, np.arange(y.size), y.imag
    )
    y = y.astype(np.complex64)
    g = (rc.size - 1) / 2 + delay  # first symbol peaks here
    tim = GardnerTiming(sps, 0.005, g + 0.6)  # start 0.6 samples late
    (z, p), cp, at = _chunked(tim, y, 7, split_output=True)
    k = np.round((p - g) / sps).astype(int)
    late = slice(1000, None)
    assert np.max(np.abs(p[late] - (g + k[late] * sps))) < 0.15  # converged onto the true instants
    assert np.mean(np.abs(z[late] - d[k[late]])) < 0.1
    z1, p1 = GardnerTiming(sps, 0.005, g + 0.6).process(y)
    assert np.array_equal(z1, z) and np.array_equal(p1, p)
    z2, p2 = cp.process(y[at:])
    assert np.array_equal(z2, z[z.size - z2.size :]) and np.array_equal(p2, p[p.size - p2.size :])
    assert p2[0] >= at - 3  # the copy continues from where it was taken


def test_refine_measures_frequency_and_rate_from_three_uws():
    """Phase-coherent line through 3 UWs of a 40 kHz + 600 Hz/s signal at Es/N0 6 dB."""
    fs, f0, r = WF.sample_rate_sps, 40_000.0, 600.0
    lead = 5000
    x = np.r_[np.zeros(lead, np.complex64), Transmitter(WF).process(_frames(5, 8))]
    n = np.arange(x.size)
    rng = np.random.default_rng(9)
    x = x * np.exp(2j * np.pi * (f0 * n / fs + 0.5 * r * (n / fs) ** 2))
    x = (x + np.sqrt(WF.sps / 10**0.6 / 2) * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))).astype(
        np.complex64
    )
    prof = dataclasses.replace(SATELLITE)
    acq = Acquirer(WF, prof, fs, WF.samples_per_frame // 4)
    first = lead + WF.tx_delay_samples
    dets = []
    for k in range(3):
        index = first + k * WF.samples_per_frame
        w0 = index - acq.edge_len - acq.decim
        f_k = f0 + r * (index + WF.uw_symbols * WF.sps / 2) / fs
        det = acq.measure(x[w0 : w0 + acq.window_len], w0, index, f_k + 20.0)
        assert det is not None and abs(det.index - index) < 1.0
        dets.append(det)
    f_ref, rate, n_ref = acq.refine(x, 0, dets, 0.0, True)
    assert rate == pytest.approx(r, abs=15.0)
    assert n_ref == pytest.approx(first + WF.samples_per_frame + (WF.uw_symbols - 1) * WF.sps / 2, abs=1.0)
    assert f_ref == pytest.approx(f0 + r * n_ref / fs, abs=1.0)


def test_carrier_loop_is_data_aided_where_symbols_are_known():
    """Start 1.1 rad off: decisions pull the loop into the wrong quadrant (ambiguity π/2), known symbols
    pull it onto the true phase (the UW resolves the ambiguity inside the loop)."""
    d = _qpsk(3000, 10)
    z = (d * np.exp(1j * 1.1)).astype(np.complex64)
    dd = CarrierTracker(RS, 30.0, 8.0).process(z)
    da = CarrierTracker(RS, 30.0, 8.0).process(z, ref=d.astype(np.complex64))
    err_dd = np.angle(np.mean(dd[-500:] * np.conj(d[-500:])))
    err_da = np.angle(np.mean(da[-500:] * np.conj(d[-500:])))
    assert abs(err_da) < 0.02
    assert abs(abs(err_dd) - np.pi / 2) < 0.02
    with pytest.raises(ValueError, match="shape"):
        CarrierTracker(RS, 30.0, 8.0).process(z, ref=d[:10].astype(np.complex64))
