"""Co-channel interference: spectral overlap against the transmit filter's own spectrum, the emulated
carriers (power, frequency, chunk invariance, copy), and the SINR measured at the handset's matched
filter from the received samples against the predicted C/(N+I) along a pass."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from groundstation.build import REAL_RADIO_DL_RMS, dl_noise_power
from groundstation.handset_channel import handset_paths
from groundstation.interference import CoChannelInterference, rc_overlap
from groundstation.pass_channel import PassPath, PassTables
from groundstation.scenario import build_scenario
from skycall.call.build import waveform
from skycall.channel.air import AirModel
from skycall.config.flowgraph import load_flowgraph
from skycall.dsp.rotator import TrajectoryRotator
from skycall.dsp.rrc import rrc_taps
from skycall.rng import make_rng

WF = waveform()
FS = WF.sample_rate_sps
N_SLOT = WF.samples_per_frame
DEMO = Path(__file__).resolve().parents[3] / "flowgraphs" / "loopback_call.toml"
BENCH_SNR_DB = 26.0  # the phone's ADC SNR on the shipped bench (virtual lab: 26 dB)


def test_overlap_against_the_transmit_filters_spectrum():
    """κ(Δf) from the raised-cosine formula vs T ∫ |P(f)|² |P(f − Δf)|² df of the sampled RRC taps (FFT)."""
    taps = rrc_taps(WF.rolloff, WF.sps, 40).astype(np.float64)  # long span: the sampled pulse ≈ the ideal one
    n = 2**16
    h2 = np.abs(np.fft.fft(taps, n)) ** 2  # |P(f)|² = |H_k|²/fs for unit-energy taps, df = fs/n
    for delta in (0.0, 2_000.0, 5_000.0, 9_000.0, 15_000.0):
        shift = int(round(delta / (FS / n)))
        fft_kappa = np.sum(h2 * np.roll(h2, shift)) / (WF.sps * n)  # (1/T) Σ |P|²|P_Δ|² df
        assert rc_overlap(delta, WF.symbol_rate_sps, WF.rolloff) == pytest.approx(fft_kappa, abs=0.01)
    assert rc_overlap(0.0, 12e3, 0.35) == pytest.approx(1 - 0.35 / 4, abs=1e-6)
    assert rc_overlap(1.36 * 12e3, 12e3, 0.35) == 0.0


def _interferers(freqs=(3_000.0, -7_000.0), amps=(1.0, 0.5), residual=None):
    index = np.array([0, 10 * N_SLOT])
    amp = np.array([[a, a] for a in amps])
    freq = np.array([[f, f] for f in freqs])
    return CoChannelInterference(FS, WF, index, amp, freq, make_rng(1), residual_power=residual)


def test_carriers_have_their_power_and_frequency():
    ci = _interferers()
    x = ci.generate(20 * N_SLOT, 0)
    assert np.mean(np.abs(x) ** 2) == pytest.approx(1.0 + 0.25, rel=0.03)
    spec = np.abs(np.fft.fft(x)) ** 2
    f = np.fft.fftfreq(x.size, 1 / FS)
    for f0, a in ((3_000.0, 1.0), (-7_000.0, 0.5)):  # each carrier's power sits in its own band
        band = np.abs(f - f0) < 0.3 * WF.symbol_rate_sps
        assert np.sum(spec[band]) / np.sum(spec) > 0.5 * a**2 / 1.25
    noisy = _interferers(residual=np.array([0.3, 0.3])).generate(20 * N_SLOT, 0)
    assert np.mean(np.abs(noisy) ** 2) == pytest.approx(1.25 + 0.3, rel=0.03)


def test_chunking_is_bit_exact_and_copy_continues():
    ci = _interferers(residual=np.array([0.1, 0.2]))
    n = 7 * N_SLOT
    y = ci.copy().generate(n, 0)
    rng = make_rng(2)
    edges = np.concatenate([[0], np.sort(rng.integers(0, n, size=9)), [n]])
    parts = [ci.generate(int(b - a), int(a)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_array_equal(np.concatenate(parts), y)
    ci.reset()
    cut = 3 * N_SLOT + 17
    ci.generate(cut, 0)
    twin = ci.copy()
    np.testing.assert_array_equal(twin.generate(n - cut, cut), y[cut:])
    np.testing.assert_array_equal(ci.generate(n - cut, cut), y[cut:])


def measured_sinr_db(
    flow, n_slots: int = 5, start_slot: int = 2, real_radio: bool = False
) -> tuple[float, float, dict]:
    """SINR at the matched filter measured from the received samples, and the prediction for the window.

    The received stream (serving beam, interferers, the air's noise) minus the serving beam alone
    through an identical pass path is interference + noise; both are brought to baseband with the
    serving carrier's true residual Doppler and matched-filtered (RRC). Signal: mean power of the
    serving beam at its best sampling phase; interference + noise: mean power over every sample (all
    symbol timings of the interferers).

    ``real_radio``: the ground station transmits the receiver noise with the signal, and the phone's
    own receiver adds noise :data:`BENCH_SNR_DB` below the transmitted RMS (the shipped bench's cable).
    """
    sc = build_scenario(flow)
    traj = sc.trajectory
    noise = dl_noise_power(flow, sc, not real_radio, WF.sps)
    comp = flow.beam.precompensation

    def pass_path():
        tables = PassTables.from_trajectory(traj, "dl", FS, flow.beam.esn0_offset_db)
        return PassPath(tables, FS, WF.sps, noise, comp, uplink=False)

    down, _ = handset_paths(flow, traj, WF, pass_path(), None, noise, transmit_dl_noise=real_radio)
    alone = pass_path()
    floor_dbfs = 20 * np.log10(REAL_RADIO_DL_RMS) - BENCH_SNR_DB if real_radio else flow.air.noise_floor_dbfs
    air = AirModel(FS, 1545e6, floor_dbfs, 0.0, 0.0, make_rng(99))
    serving = CoChannelInterference(FS, WF, np.array([0]), np.ones((1, 1)), np.zeros((1, 1)), make_rng(5))
    first, n = start_slot * N_SLOT, n_slots * N_SLOT
    lead = serving.carrier(0, first, 0)
    down.process(lead, 0)
    alone.process(lead, 0)
    x = serving.carrier(0, n, first)
    sent = down.process(x, first)
    received = air.process(sent, first)
    reference = alone.process(x, first)
    f_serving = traj.dl.residual_doppler_hz if comp else traj.dl.doppler_hz
    baseband = TrajectoryRotator(FS, np.round(traj.t_s * FS).astype(np.int64), f_serving, sign=-1)
    taps = rrc_taps(WF.rolloff, WF.sps, WF.rrc_span_symbols).astype(np.float64)
    core = slice(taps.size, n - taps.size)
    s = np.convolve(baseband.copy().process(reference, first), taps, mode="same")[core]
    e = np.convolve(baseband.copy().process(received - reference, first), taps, mode="same")[core]
    signal = max(np.mean(np.abs(s[k :: WF.sps]) ** 2) for k in range(WF.sps))
    status = {**down.last_status, "sent_rms": float(np.sqrt(np.mean(np.abs(sent) ** 2)))}
    return 10 * np.log10(signal / np.mean(np.abs(e) ** 2)), status["sinr_db"], status


def _flow(offset_s, taper="taylor", layout="scan", **channel):
    base = load_flowgraph(DEMO)
    return dataclasses.replace(base, duration_s=1.0, pass_=dataclasses.replace(base.pass_, call_offset_s=offset_s),
                               beam=dataclasses.replace(base.beam, taper=taper, cell_layout=layout),
                               channel=dataclasses.replace(base.channel, **channel))


@pytest.mark.parametrize("offset_s,taper,layout", [(-100.0, "uniform", "nadir"), (150.0, "uniform", "nadir"),
                                                   (-100.0, "taylor", "scan"), (-250.0, "taylor", "scan")])
def test_measured_sinr_matches_predicted_c_over_n_plus_i(offset_s, taper, layout):
    measured, predicted, status = measured_sinr_db(_flow(offset_s, taper, layout))
    assert measured == pytest.approx(predicted, abs=0.5)
    assert predicted < status["c_over_i_db"] + 0.5  # interference-limited or not, never better than C/I allows


def test_interference_off_leaves_the_snr():
    measured, predicted, _ = measured_sinr_db(_flow(-100.0, "uniform", "nadir", interference="off"))
    sc = build_scenario(_flow(-100.0, "uniform", "nadir"))
    esn0 = np.interp(2.5 * N_SLOT / FS, sc.trajectory.t_s, sc.trajectory.dl.esn0_db)
    assert predicted == pytest.approx(esn0, abs=0.05)
    assert measured == pytest.approx(esn0, abs=0.5)


@pytest.mark.parametrize("offset_s,interference", [(-100.0, "co-channel"), (-250.0, "co-channel"), (-100.0, "off")])
def test_a_real_radio_transmits_the_noise_so_the_phone_sees_the_budget(offset_s, interference):
    """Over a cable the phone's own receiver would see the signal at the bench's SNR whatever the pass;
    the ground station sends the budget's noise with it, so the phone measures C/(N+I) of the pass
    (its own noise costs 10·log10(1 + N_rx/N) ≈ 0.1 dB), at a transmit RMS that leaves headroom."""
    flow = _flow(offset_s, "taylor", "scan", interference=interference)
    measured, predicted, status = measured_sinr_db(flow, real_radio=True)
    assert measured == pytest.approx(predicted, abs=0.5)
    assert status["sent_rms"] == pytest.approx(REAL_RADIO_DL_RMS, rel=0.1)  # signal + noise (+ interference)


@pytest.mark.slow
@pytest.mark.parametrize("taper,layout", [("uniform", "nadir"), ("taylor", "scan")])
def test_measured_sinr_over_a_whole_pass(taper, layout):
    """10° → 90° → 10° (the demo's overhead pass, ±270 s) every 30 s: within 0.5 dB everywhere."""
    worst = 0.0
    for offset_s in np.arange(-270.0, 271.0, 30.0):
        measured, predicted, status = measured_sinr_db(_flow(float(offset_s), taper, layout))
        print(f"{taper}/{layout} t = {offset_s:+.0f} s: measured {measured:6.2f} dB, predicted {predicted:6.2f} dB, "
              f"C/I {status['c_over_i_db']:6.2f} dB")
        worst = max(worst, abs(measured - predicted))
    print(f"{taper}/{layout}: worst |measured - predicted| = {worst:.2f} dB")
    assert worst <= 0.5


def test_without_precompensation_every_beam_arrives_on_the_handsets_doppler():
    sc = build_scenario(_flow(-100.0, "uniform", "nadir"))
    ints, dl = sc.trajectory.interferers, sc.trajectory.dl
    off = ints.offsets_hz(dl.doppler_hz, compensated=False)
    assert off.shape == ints.gain_rel_db.shape
    np.testing.assert_array_equal(off, np.broadcast_to(dl.doppler_hz[:, None], off.shape))
    measured, predicted, status = measured_sinr_db(dataclasses.replace(
        _flow(-100.0, "uniform", "nadir"), beam=dataclasses.replace(_flow(-100.0, "uniform", "nadir").beam,
                                                                    precompensation=False)))
    assert measured == pytest.approx(predicted, abs=0.5)
