"""The bridge's tables: pass geometry checked against independent physics, static impairments, errors."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from bridge_flows import leo_flow, with_beam

from skycall.bridge.plan import bridge_plan, pass_plan, static_plan, triangle
from skycall.config.flowgraph import DL_FREQ_HZ, SRSRAN_RATES_SPS, UL_FREQ_HZ, SrsranConfig, load_flowgraph
from skycall.errors import SkycallError

ROOT = Path(__file__).resolve().parents[3]


def test_shipped_flowgraph_is_a_pass_whose_raw_doppler_exceeds_20_khz_and_compensation_removes_it():
    plan = pass_plan(load_flowgraph(ROOT / "flowgraphs" / "srsran_leo.toml"))
    assert plan.sample_rate_sps == 1.92e6
    assert np.min(np.abs(plan.dl.doppler_hz)) > 20e3 and np.min(np.abs(plan.ul.doppler_hz)) > 20e3
    assert np.max(np.abs(plan.dl.residual_hz)) < 1e-6 and np.max(np.abs(plan.ul.residual_hz)) < 1e-6  # beam centre
    assert plan.info["band"].startswith("n255") and plan.dl.freq_hz == DL_FREQ_HZ and plan.ul.freq_hz == UL_FREQ_HZ
    np.testing.assert_allclose(plan.dl.delay_s, 2.0 / plan.sample_rate_sps, rtol=1e-9)  # no differential delay


def test_uplink_doppler_is_the_downlink_one_scaled_by_the_carrier_ratio(flow):
    plan = pass_plan(flow)  # one range rate, two carriers: f_d = −f·ρ̇/c
    np.testing.assert_allclose(plan.ul.doppler_hz, plan.dl.doppler_hz * UL_FREQ_HZ / DL_FREQ_HZ, rtol=1e-9)
    np.testing.assert_allclose(plan.ul.centre_hz, plan.dl.centre_hz * UL_FREQ_HZ / DL_FREQ_HZ, rtol=1e-9)


def test_differential_delay_drifts_as_the_residual_doppler_says(flow):
    """d(τ_h − τ_c)/dt = (ρ̇_h − ρ̇_c)/c = −(f_d − f_c)/f: the rebuilt beam-centre geometry against the trajectory's
    velocities."""
    plan = pass_plan(flow)
    t = plan.dl.index / plan.sample_rate_sps
    drift = np.gradient(plan.dl.delay_s, t)[1:-1]
    expected = -plan.dl.residual_hz[1:-1] / DL_FREQ_HZ
    assert np.max(np.abs(expected)) > 5e-8  # 20 km east of the centre: ~150 Hz residual, a real drift
    np.testing.assert_allclose(drift, expected, rtol=0.01, atol=2e-10)
    assert np.min(plan.dl.delay_s) == pytest.approx(2.0 / plan.sample_rate_sps, rel=1e-6)  # fixed latency: 2 samples
    assert plan.info["differential_delay_s"][0] < -1e-6  # the UE is nearer than its beam centre here


def test_full_delay_is_the_physical_one_way_delay(flow):
    plan = pass_plan(dataclasses.replace(flow, srsran=SrsranConfig(full_delay=True)))
    assert 2.0e-3 < np.min(plan.dl.delay_s) and np.max(plan.dl.delay_s) < 6.4e-3  # 600 km, elevation >= 10°
    np.testing.assert_array_equal(plan.dl.delay_s, plan.ul.delay_s)
    drift = np.gradient(plan.dl.delay_s, plan.dl.index / plan.sample_rate_sps)[1:-1]
    np.testing.assert_allclose(drift, -plan.dl.doppler_hz[1:-1] / DL_FREQ_HZ, rtol=0.01)  # ρ̇/c, up to ±40 µs/s


def test_compensation_off_leaves_the_raw_doppler_both_ways(flow):
    plan = pass_plan(with_beam(flow, precompensation=False))
    assert plan.dl.centre_hz is None and plan.ul.centre_hz is None
    np.testing.assert_array_equal(plan.dl.residual_hz, plan.dl.doppler_hz)
    assert plan.info["dl"]["max_abs_offset_at_receiver_hz"] > 25e3


def test_offsets_and_the_triangle_ramp_are_added_to_the_pass(flow):
    base = pass_plan(flow)
    plan = pass_plan(dataclasses.replace(flow, srsran=SrsranConfig(dl_offset_hz=300.0, ul_offset_hz=-70.0,
                                                                   dl_rate_hz_s=400.0, dl_rate_span_hz=200.0)))
    t = plan.dl.index / plan.sample_rate_sps
    ramp = plan.dl.doppler_hz - 300.0 - np.interp(plan.dl.index, base.dl.index, base.dl.doppler_hz)
    assert np.max(np.abs(ramp)) == pytest.approx(200.0, abs=1e-6)
    np.testing.assert_allclose(np.abs(np.diff(ramp) / np.diff(t)), 400.0, rtol=1e-3)  # ±400 Hz/s everywhere
    np.testing.assert_allclose(plan.ul.doppler_hz, base.ul.doppler_hz - 70.0)


def test_triangle_wave_has_the_slope_and_peaks_asked():
    t, f = triangle(10.0, rate_hz_s=250.0, span_hz=500.0)
    assert t[0] == 0.0 and f[0] == 0.0 and t[-1] >= 10.0
    np.testing.assert_allclose(np.abs(np.diff(f) / np.diff(t)), 250.0)
    np.testing.assert_allclose(np.abs(f[1:]), 500.0)
    assert triangle(10.0, 0.0, 500.0)[1].tolist() == [0.0]


def test_static_plan_has_only_the_configured_impairments():
    cfg = SrsranConfig(channel="static", n_prb=25, dl_offset_hz=5000.0, ul_offset_hz=-400.0, delay_s=1e-4)
    plan = static_plan(cfg, duration_s=20.0)
    assert plan.sample_rate_sps == SRSRAN_RATES_SPS[25]
    assert plan.dl.doppler_hz.tolist() == [5000.0] and plan.ul.doppler_hz.tolist() == [-400.0]
    assert plan.dl.centre_hz is None and plan.dl.delay_s.tolist() == [1e-4] and plan.dl.gain_db.tolist() == [0.0]
    assert static_plan(SrsranConfig(channel="static"), 20.0).dl.delay_s is None
    with pytest.raises(SkycallError, match="below 2 samples"):
        static_plan(SrsranConfig(delay_s=1e-7), 20.0)


def test_channel_off_and_direct_have_no_plan(flow):
    for channel in ("off", "direct"):
        assert bridge_plan(dataclasses.replace(flow, srsran=SrsranConfig(channel=channel))) is None


def test_the_differential_delay_is_to_the_serving_beam_centre(flow):
    """The network absorbs the delay of the *serving* beam's centre: the UE gets the geometric difference."""
    from groundstation.geodesy import SPEED_OF_LIGHT_M_S, enu_basis
    from groundstation.scenario import build_scenario

    flow = with_beam(flow, handset_offset_km=33.0, handset_bearing_deg=0.0)
    plan = pass_plan(flow)
    sc = build_scenario(flow)
    traj = sc.trajectory
    centre = sc.beam_centre.ecef_m if not traj.handovers else None
    assert centre is not None  # one serving beam over these 8 s
    # independent: the satellite rebuilt from the handset's look angles and range, then both distances
    az, el = np.radians(traj.azimuth_deg), np.radians(traj.elevation_deg)
    los = np.stack([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)], axis=-1)
    h = sc.handset
    sat = h.ecef_m + traj.range_m[:, None] * (los @ enu_basis(h.lat_deg, h.lon_deg))
    diff_ref = (np.linalg.norm(sat - sc.handset.ecef_m, axis=-1) - np.linalg.norm(sat - centre, axis=-1)) \
        / SPEED_OF_LIGHT_M_S
    assert plan.info["differential_delay_s"] == pytest.approx([diff_ref.min(), diff_ref.max()], abs=1e-9)
    assert plan.info["handovers"] == []


def test_a_run_outside_the_pass_is_refused():
    flow = leo_flow()
    with pytest.raises(SkycallError, match="not served"):
        pass_plan(dataclasses.replace(flow, pass_=dataclasses.replace(flow.pass_, call_offset_s=-600.0)))


def test_the_enb_receives_the_uplink_shifted_by_the_ue_locked_to_its_downlink(flow):
    plan = static_plan(SrsranConfig(channel="static", dl_offset_hz=1000.0, ul_offset_hz=-300.0), 10.0)
    assert plan.ul_at_enb_hz(12345) == pytest.approx(-300.0 + 1000.0 * UL_FREQ_HZ / DL_FREQ_HZ)
    assert plan.info["ul"]["offset_at_enb_with_ue_lock_hz"] == [pytest.approx(766.0, abs=1.0)] * 2
    edge = pass_plan(flow)  # 20 km off centre: the eNodeB sees twice the uplink residual (one from each way)
    n = edge.ul.index
    np.testing.assert_allclose(edge.ul_at_enb_hz(n), 2 * edge.ul.residual_hz, rtol=1e-9)
