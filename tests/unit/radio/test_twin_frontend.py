"""The twin's crystal and analog front end against closed forms; the host's digital IF and levels."""

import math

import numpy as np
import pytest

from skycall.config.virtual_pluto import UNTRACKED_DC_DB, VirtualPlutoConfig
from skycall.radio.frontend import IfFrontEnd
from skycall.radio.hostclock import HostClock
from skycall.radio.levels import CLIP_LEVEL, LevelMeter, level_warning
from skycall.radio.virtual_pluto.analog import RxFrontEnd, TxFrontEnd, interpolate, iq_coefficients
from skycall.radio.virtual_pluto.clock import Crystal, StreamClock

FS = 960e3
TRACKED = {"bb_dc_offset_tracking_en": True, "rf_dc_offset_tracking_en": True, "quadrature_tracking_en": True}


def test_crystal_integral_matches_numerical_integration_and_inverts():
    xtal = Crystal(ppm=18.0, drift_ppm=1.5, drift_tau_s=30.0, t_on=100.0)
    t = np.linspace(100.0, 220.0, 1_200_001)
    numeric = np.trapezoid(1.0 + xtal.error(t), t)
    assert xtal.elapsed(100.0, 220.0) == pytest.approx(numeric, abs=1e-9)
    assert xtal.error(1e6) == pytest.approx(19.5e-6)  # warmed up: ε0 + Δ
    t1 = xtal.time_after(130.0, 60.0)
    assert xtal.elapsed(130.0, t1) == pytest.approx(60.0, abs=1e-12)


def test_stream_clock_rate_follows_crystal_and_xo_correction():
    """A driver told the reference is 40 MHz·(1+ε) makes a board whose crystal really is that run exactly."""
    xtal = Crystal(ppm=-22.0)
    assert StreamClock(xtal, 0.0, FS, 1.0).index_at(10.0) == pytest.approx(FS * 10 * (1 - 22e-6))
    assert StreamClock(xtal, 0.0, FS, 1 / (1 - 22e-6)).index_at(10.0) == pytest.approx(FS * 10, abs=1e-6)


@pytest.mark.parametrize("f_hz", [1e3, 240e3, 300e3])
def test_interpolation_at_drifting_positions_is_within_minus_75_db_of_the_exact_tone(f_hz):
    n = np.arange(-20, 41_000)
    x = np.exp(2j * np.pi * f_hz / FS * n).astype(np.complex64)
    pos = 7.25 + np.arange(38_400) * (1 + 40e-6)  # a 40 ppm clock difference
    y = interpolate(x, -20, pos)
    err_db = 10 * np.log10(np.mean(np.abs(y - np.exp(2j * np.pi * f_hz / FS * pos)) ** 2))
    assert err_db < -75


def test_iq_imbalance_image_rejection_matches_the_closed_form():
    """0.5 dB / 3°: IRR = (1 + 2g·cosφ + g²)/(1 − 2g·cosφ + g²) = 28.2 dB."""
    mu, nu = iq_coefficients(0.5, 3.0)
    g, phi = 10 ** (0.5 / 20), math.radians(3.0)
    closed = 10 * math.log10((1 + 2 * g * math.cos(phi) + g * g) / (1 - 2 * g * math.cos(phi) + g * g))
    assert 10 * math.log10(abs(mu) ** 2 / abs(nu) ** 2) == pytest.approx(closed, abs=1e-9)
    assert closed == pytest.approx(28.2, abs=0.05)
    tx = TxFrontEnd(VirtualPlutoConfig(serial="a", port=1, iq_gain_db=0.5, iq_phase_deg=3.0))
    k = np.arange(96_000)
    y = tx.apply(np.exp(2j * np.pi * 0.25 * k).astype(np.complex64), 0.0)
    spec = np.abs(np.fft.fft(y)) ** 2
    assert 10 * np.log10(spec[24_000] / spec[72_000]) == pytest.approx(closed, abs=0.05)  # +fs/4 vs its image


def test_receive_front_end_levels_dc_and_tracking_switches():
    cfg = VirtualPlutoConfig(serial="a", port=1, cable_db=30.0, dc_offset_dbfs=-40.0, noise_floor_dbfs=-200.0)
    rx = RxFrontEnd(cfg)
    n = 38_400
    tone = (0.5 * np.exp(2j * np.pi * 0.1 * np.arange(n))).astype(np.complex64)  # −6 dBFS at the DAC side
    ints = rx.process(tone, 0.0, 1 / FS, 0.0, 33.0, TRACKED, (1, 0))  # RX +33 dB, cable −30 dB: +3 dB
    y = ints.astype(np.float64).view(np.complex128)[:, 0] / 2048
    assert 20 * np.log10(abs(np.mean(y))) == pytest.approx(-40.0, abs=0.1)  # the DC offset
    assert 10 * np.log10(np.mean(np.abs(y - np.mean(y)) ** 2)) == pytest.approx(20 * np.log10(0.5) + 3, abs=0.05)
    untracked = RxFrontEnd(cfg).process(tone, 0.0, 1 / FS, 0.0, 33.0, {**TRACKED, "bb_dc_offset_tracking_en": False},
                                        (1, 0))
    y2 = untracked.astype(np.float64).view(np.complex128)[:, 0] / 2048
    assert 20 * np.log10(abs(np.mean(y2))) == pytest.approx(-40.0 + UNTRACKED_DC_DB, abs=0.1)


def test_receive_front_end_carries_the_carrier_offset_across_blocks_and_clips():
    cfg = VirtualPlutoConfig(serial="a", port=1, cable_db=0.0, noise_floor_dbfs=-200.0)
    rx = RxFrontEnd(cfg)
    ones = np.full(1000, 0.5, np.complex64)
    a = rx.process(ones, 10.0, 1 / FS, 1234.5, 0.0, TRACKED, (1, 0))
    b = rx.process(ones, 10.0 + 3000 / FS, 1 / FS, 1234.5, 0.0, TRACKED, (1, 3000))  # 2000 samples later
    phase = [np.angle(v[:, 0] + 1j * v[:, 1]) for v in (a.astype(float), b.astype(float))]
    expected = 2 * np.pi * 1234.5 * 3000 / FS
    assert np.angle(np.exp(1j * (phase[1][0] - phase[0][0] - expected))) == pytest.approx(0.0, abs=2e-3)
    hot = RxFrontEnd(cfg).process(np.full(10, 2.0 - 2.0j, np.complex64), 20.0, 1 / FS, 0.0, 0.0, TRACKED, (1, 9))
    assert (hot[:, 0] == 2047).all() and (hot[:, 1] == -2048).all()  # the 12-bit ADC saturates


def test_if_front_end_moves_the_channel_off_dc_and_blocks_the_dc():
    """A ±20 kHz channel sent through the IF and received with a DC offset as strong as itself: the DC
    is gone (< −70 dBc once the blocker settled) and the channel is back at 0 Hz, within the blocker's
    own phase error at f_IF (f_c/f_IF = −48 dB)."""
    from scipy import signal

    front = IfFrontEnd(FS, 240e3, 1000.0)
    rng = np.random.default_rng(3)
    taps = signal.firwin(255, 20e3, fs=FS)
    bb = signal.lfilter(taps, 1.0, rng.standard_normal(200_000) + 1j * rng.standard_normal(200_000)).astype(
        np.complex64)
    air = front.tx(bb, 5000)
    n = 5000 + np.arange(len(bb))
    np.testing.assert_allclose(air, bb * np.exp(2j * np.pi * 240e3 / FS * n), atol=2e-5)
    power = np.mean(np.abs(bb) ** 2)
    err = front.rx(air + np.complex64(np.sqrt(power)), 5000)[20_000:] - bb[20_000:]
    assert 10 * np.log10(np.abs(np.mean(err)) ** 2 / power) < -70
    assert 10 * np.log10(np.mean(np.abs(err) ** 2) / power) < -45


def test_level_meter_against_numpy_and_its_warnings():
    rng = np.random.default_rng(1)
    x = (0.01 * (rng.standard_normal(5000) + 1j * rng.standard_normal(5000))).astype(np.complex64)
    meter = LevelMeter()
    meter.add(x)
    reading = meter.take()
    assert reading["rx_rms_dbfs"] == pytest.approx(10 * np.log10(np.mean(np.abs(x) ** 2)), abs=1e-4)
    assert reading["rx_peak_dbfs"] == pytest.approx(20 * np.log10(np.abs(x.view(np.float32)).max()), abs=1e-4)
    assert reading["clipped"] == 0 and "weak" not in (level_warning(reading) or "")
    hot = x.copy()
    hot[:7] = CLIP_LEVEL + 1j * 0.0
    meter.add(hot)
    assert "clipping: 7 samples" in level_warning(meter.take())
    meter.add(x * np.float32(1e-3))
    assert "weak" in level_warning(meter.take())
    assert meter.summary()["clipped"] == 7


def test_host_clock_takes_the_least_delayed_completion():
    clock = HostClock(1000.0, window_s=2.0)
    rng = np.random.default_rng(2)
    for k in range(1, 200):
        clock.observe(10 * k, 5.0 + 0.010 * k + rng.exponential(0.003))  # sample 10k produced at 5 + 0.01k
    assert clock.index_at(6.0) == pytest.approx(1000.0, abs=1.0)
    assert clock.time_of(1000) == pytest.approx(6.0, abs=1e-3)
