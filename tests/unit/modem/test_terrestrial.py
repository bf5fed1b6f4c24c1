"""The ``unmodified`` receiver against what a 3GPP phone is specified to do, not more.

Limits computed here from the published figures (independently of ``skycall.modem.profiles``): a
handset TCXO is within ±2.5 ppm before it syncs (IQD TCXO specification example), the terrestrial
high-speed-train Doppler is 870 Hz at 500 km/h with the track 150 m from the RRH (TS 38.101-4
HST-DPS, 15 kHz SCS), and the oscillator's AFC adjusts ±5 ppm. At 1545 MHz: initial search
±(3862.5 + 870) Hz, correction range ±7725 Hz, HST ramp 870·(500/3.6)/150 = 805.6 Hz/s.
"""

import math

import numpy as np
import pytest

from skycall.dsp.rotator import TrajectoryRotator
from skycall.metrics.ber_theory import qpsk_ber
from skycall.modem.ber import random_frames, simulate_chain
from skycall.modem.carrier import CarrierTracker, loop_coefficients
from skycall.modem.profiles import SATELLITE, UNMODIFIED, get_profile, terrestrial_profile
from skycall.modem.rx import Receiver
from skycall.modem.tx import Transmitter
from skycall.modem.waveform import WaveformConfig

WF = WaveformConfig()
FS, SPF = WF.sample_rate_sps, WF.samples_per_frame
F_DL = 1545.0e6
PULL_IN_HZ = 2.5e-6 * F_DL + 870.0
AFC_HZ = 5e-6 * F_DL
HST_RATE_HZ_S = 870.0 * (500 / 3.6) / 150.0


def _signal(freq_hz, n_frames, esn0_db, seed, silent=False):
    """``n_frames`` frames (``silent``: noise only) on the frequency line ``freq_hz`` = (f0, f1) (Hz at the
    first and last sample), complex AWGN at ``esn0_db``."""
    rng = np.random.default_rng(seed)
    x = Transmitter(WF).process(random_frames(n_frames, rng, WF)) * (0 if silent else 1)
    y = TrajectoryRotator(FS, np.array([0, x.size]), np.array(freq_hz, float)).process(x, 0)
    sigma = np.sqrt(WF.sps / 10 ** (esn0_db / 10) / 2)
    return (y + sigma * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))).astype(np.complex64)


def _lock_track(rx, y):
    """Feed ``y`` frame by frame; per frame: (locked, afc_hz)."""
    out = []
    for i in range(0, y.size, SPF):
        rx.process(y[i : i + SPF], i)
        out.append((rx.locked, rx.afc_hz))
    return out


def test_profile_figures_are_the_specified_ones():
    p = UNMODIFIED
    assert p.pull_in_hz == pytest.approx(PULL_IN_HZ) and p.acq_range_hz == pytest.approx(PULL_IN_HZ)
    assert p.afc_range_hz == pytest.approx(AFC_HZ)
    assert p.rate_corner_ratio is None and not p.estimate_rate
    assert loop_coefficients(p.pll_bandwidth_hz, p.rate_corner_ratio, WF.symbol_rate_sps)[2] == 0.0
    # second order: the HST ramp leaves sin φ = 2πR/ω_n² = sin(π/8) of phase error
    omega_n = p.pll_bandwidth_hz / 0.53
    assert 2 * math.pi * HST_RATE_HZ_S / omega_n**2 == pytest.approx(math.sin(math.pi / 8))
    assert p.max_rate_hz_s == pytest.approx(HST_RATE_HZ_S * math.sin(math.pi / 4) / math.sin(math.pi / 8))
    assert p.channel_passband_hz == pytest.approx(AFC_HZ + 12_000 * 1.35 / 2)  # the signal anywhere in range
    assert get_profile("unmodified", 2.0e9).afc_range_hz == pytest.approx(10_000.0)
    assert get_profile("unmodified") is UNMODIFIED and terrestrial_profile(F_DL) == UNMODIFIED
    assert SATELLITE.pull_in_hz is None and SATELLITE.afc_range_hz is None


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_initial_search_reaches_exactly_the_pull_in(sign):
    inside = _lock_track(Receiver(WF, UNMODIFIED), _signal([sign * 0.98 * PULL_IN_HZ] * 2, 12, 10.0, 1))
    assert inside[-1][0] and abs(inside[-1][1] - sign * 0.98 * PULL_IN_HZ) < 5.0
    outside = _lock_track(Receiver(WF, UNMODIFIED), _signal([sign * 1.03 * PULL_IN_HZ] * 2, 12, 20.0, 2))
    assert not any(locked for locked, _ in outside)
    # the satellite receiver, wideband, takes the same signal
    assert _lock_track(Receiver(WF, SATELLITE), _signal([sign * 1.03 * PULL_IN_HZ] * 2, 12, 20.0, 2))[-1][0]


@pytest.mark.parametrize("offset_hz", [11_000.0, 12_500.0, -13_500.0])
def test_no_lock_one_symbol_rate_away(offset_hz):
    """A carrier 12 kHz (one symbol rate) from a hypothesis looks the same to the UW statistics one
    symbol apart; the search must not take such an alias, inside its channel filter, for a carrier in
    its pull-in."""
    rx = Receiver(WF, UNMODIFIED)
    assert not any(locked for locked, _ in _lock_track(rx, _signal([offset_hz] * 2, 40, 12.0, 11)))
    assert rx.counters.acquisitions == 0


def test_slow_ramp_is_lost_where_the_correction_range_ends():
    """300 Hz/s from 0: followed while the offset is inside ±5 ppm, lost just after, never re-acquired."""
    rate, n = 300.0, 800  # 32 s: 0 -> 9.6 kHz
    y = _signal([0.0, rate * n * SPF / FS], n, 10.0, 3)
    track = _lock_track(Receiver(WF, UNMODIFIED), y)
    t_cross = AFC_HZ / rate
    lost = next(k for k, (locked, _) in enumerate(track) if k > 10 and not locked) * WF.frame_s
    assert t_cross <= lost <= t_cross + 0.5
    assert all(locked for locked, _ in track[10 : int(t_cross / WF.frame_s) - 2])
    assert not any(locked for locked, _ in track[int((t_cross + 1.0) / WF.frame_s) :])
    assert max(abs(a) for _, a in track) <= AFC_HZ + 1e-6


def test_hst_ramp_is_tracked_and_a_faster_one_is_not():
    """The HST-DPS ramp (806 Hz/s) at Es/N0 14 dB: held without slips; 1.2 x the noise-free pull-out: lost."""
    n = 150
    rx = Receiver(WF, UNMODIFIED)
    track = _lock_track(rx, _signal([-3000.0, -3000.0 + HST_RATE_HZ_S * n * SPF / FS], n, 14.0, 4))
    assert all(locked for locked, _ in track[3:]) and rx.counters.cycle_slips == 0
    fast = 1.2 * UNMODIFIED.max_rate_hz_s
    rx = Receiver(WF, UNMODIFIED)
    _lock_track(rx, _signal([-3000.0, -3000.0 + fast * 60 * SPF / FS], 60, 30.0, 5))
    assert rx.counters.lock_losses >= 3 or rx.counters.cycle_slips >= 3


def test_second_order_steady_state_phase_error_on_a_ramp():
    """R = 100 Hz/s at high SNR, loop retuned upstream every 120 symbols as in the receiver:
    mean phase error asin(2πR/ω_n²) (the rate integrator of a third-order loop would make it 0)."""
    rs, rate, n, blk = WF.symbol_rate_sps, 100.0, 24_000, 120
    rng = np.random.default_rng(6)
    sym = ((2 * rng.integers(0, 2, n) - 1) + 1j * (2 * rng.integers(0, 2, n) - 1)) / np.sqrt(2)
    t = np.arange(n) / rs
    z = sym * np.exp(1j * np.pi * rate * t * t)
    loop = CarrierTracker(rs, UNMODIFIED.pll_bandwidth_hz, None)
    mixer_hz, mixer_cycles, out = 0.0, 0.0, []
    for b in range(0, n, blk):
        ph = mixer_cycles + mixer_hz * np.arange(blk) / rs
        mixer_cycles = ph[-1] + mixer_hz / rs
        out.append(loop.process((z[b : b + blk] * np.exp(-2j * np.pi * ph)).astype(np.complex64)))
        f = loop.freq_hz
        loop.remove(f, 0.0)
        mixer_hz += f
    err = np.angle(np.concatenate(out) * np.conj(sym))[n // 2 :]
    omega_n = UNMODIFIED.pll_bandwidth_hz / 0.53
    assert np.mean(err) == pytest.approx(math.asin(2 * math.pi * rate / omega_n**2), rel=0.05)


def test_carrier_limits_hold_the_frequency_and_survive_copy_and_chunking():
    rs = WF.symbol_rate_sps
    n = 6000
    z = np.exp(2j * np.pi * 60.0 * np.arange(n) / rs).astype(np.complex64)  # 60 Hz, beyond the 40 Hz limit
    loop = CarrierTracker(rs, UNMODIFIED.pll_bandwidth_hz, None)
    loop.set_limits(-40.0, 40.0)
    ref = loop.copy()
    one = ref.process(z)
    assert ref.freq_hz == pytest.approx(40.0)
    parts, i, cp = [], 0, None
    for k in (1, 700, 33, 2000, 3266):
        parts.append(loop.process(z[i : i + k]))
        i += k
        if i == 734:
            cp = loop.copy()
    assert np.array_equal(np.concatenate(parts), one)
    assert np.array_equal(cp.process(z[734:]), one[734:])
    loop.remove(10.0, 0.0)  # an upstream mixer took 10 Hz: the absolute limit is now 30 Hz in the loop
    loop.process(z)
    assert loop.freq_hz == pytest.approx(30.0)
    loop.start(0.0, 1.0)
    assert loop.freq_hz == 0.0
    loop.process(z)
    assert loop.freq_hz == pytest.approx(30.0)  # start() keeps the limits


def test_search_is_centred_on_the_correction_it_holds():
    """After following a ramp to 6 kHz (beyond the cold pull-in), a signal lost and found again at 7 kHz
    is re-acquired around the held correction; a receiver fresh from power-on does not reach it."""
    ramp = _signal([0.0, 6000.0], 500, 12.0, 7)  # 20 s at 300 Hz/s
    gap = _signal([0.0, 0.0], 10, 12.0, 8, silent=True)
    again = _signal([7000.0, 7000.0], 15, 12.0, 9)
    rx = Receiver(WF, UNMODIFIED)
    track = _lock_track(rx, np.concatenate([ramp, gap, again]))
    assert track[499][0] and not track[505][0] and track[-1][0] and abs(track[-1][1] - 7000.0) < 5.0
    assert not any(locked for locked, _ in _lock_track(Receiver(WF, UNMODIFIED), again))


def test_implementation_loss_near_theory_within_its_envelope():
    """Its TCXO offset (-4 kHz) and a pre-compensated residual ramp (20 Hz/s), Eb/N0 5 dB: uncoded BER
    between the closed form and the closed form 0.3 dB lower."""
    c = simulate_chain(WF, UNMODIFIED, 5.0, 150, seed=10, cfo_hz=-4000.0, rate_hz_s=20.0)
    assert c.missed_frames == 0 and c.cycle_slips == 0 and c.lock_losses == 0
    assert float(qpsk_ber(5.0)) * 0.85 <= c.ber <= float(qpsk_ber(4.7))
