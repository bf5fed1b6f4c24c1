import numpy as np
import pytest

from groundstation.array import PlanarArray
from groundstation.beams import BeamEmulator, EarthFixedBeams
from groundstation.geodesy import tangent_offset_to_geodetic
from groundstation.orbit import CircularOrbit
from groundstation.passes import Observer, look
from groundstation.trajectory import ChannelTrajectory
from skycall.errors import ConfigError, SkycallError

SERVICE = Observer(40.0, -3.0)
HANDSET = Observer(*tangent_offset_to_geodetic(40.0, -3.0, 20e3, 25e3), 100.0)
TC = 1.76e9


@pytest.fixture(scope="module")
def setup():
    orbit = CircularOrbit.through_zenith(SERVICE.ecef_m, 600e3, 53.0, TC)
    beams = BeamEmulator(PlanarArray(), EarthFixedBeams.hexagonal(SERVICE, 58e3, rings=2), reuse=3)
    return orbit, beams


def test_trajectory_runs_at_true_time_and_matches_look(setup):
    orbit, beams = setup
    traj = ChannelTrajectory.compute(orbit, HANDSET, beams, TC - 10.0, 20.0, step_s=0.01)
    assert traj.t_s.size == 2001 and traj.t_s[-1] == pytest.approx(20.0)
    geo = look(orbit, HANDSET, TC - 10.0 + traj.t_s[::100])
    np.testing.assert_allclose(traj.dl.doppler_hz[::100], geo.doppler_hz(1545.0e6), atol=1e-6)
    np.testing.assert_allclose(traj.ul.doppler_hz[::100], geo.doppler_hz(1646.5e6), atol=1e-6)
    np.testing.assert_allclose(traj.dl.delay_s[::100], geo.delay_s, rtol=1e-12)
    np.testing.assert_allclose(
        traj.dl.doppler_rate_hz_s[100:-100:100], geo.doppler_rate_hz_s(1545.0e6)[1:-1], atol=0.05
    )
    np.testing.assert_allclose(traj.dl.residual_doppler_hz, traj.dl.doppler_hz + traj.dl.precomp_hz)
    assert np.all(traj.beam_id >= 0)
    assert np.max(np.abs(traj.dl.residual_doppler_hz)) < 0.05 * np.max(np.abs(traj.dl.doppler_hz)) + 3e3
    assert [(h.from_beam, h.to_beam) for h in traj.handovers] == [
        (traj.beam_id[np.searchsorted(traj.t_s, h.t_s) - 1], traj.beam_id[np.searchsorted(traj.t_s, h.t_s)])
        for h in traj.handovers
    ]


def test_state_depends_on_time_not_on_window(setup):
    orbit, beams = setup
    whole = ChannelTrajectory.compute(orbit, HANDSET, beams, TC - 10.0, 20.0, step_s=0.05)
    tail = ChannelTrajectory.compute(orbit, HANDSET, beams, TC, 10.0, step_s=0.05)
    n = tail.t_s.size
    for name in ("doppler_hz", "residual_doppler_hz", "delay_s", "esn0_db"):
        np.testing.assert_allclose(getattr(tail.dl, name), getattr(whole.dl, name)[-n:], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(tail.beam_id, whole.beam_id[-n:])


def test_sample_tables(setup):
    orbit, beams = setup
    traj = ChannelTrajectory.compute(orbit, HANDSET, beams, TC - 10.0, 20.0, step_s=0.01)
    fs = 48_000.0
    start_s = 2.345  # off the 10 ms grid
    tab = traj.to_sample_tables(fs, start_s=start_s, link="ul")
    assert tab.index.dtype == np.int64 and tab.index[0] == 0 and np.all(np.diff(tab.index) > 0)
    assert tab.freq_hz.dtype == np.float64 and tab.delay_s.dtype == np.float64
    # the table's first point is the channel at exactly start_s (a trajectory started there agrees)
    direct = ChannelTrajectory.compute(orbit, HANDSET, beams, TC - 10.0 + start_s, 1.0, step_s=0.01)
    assert tab.freq_hz[0] == pytest.approx(direct.ul.residual_doppler_hz[0], abs=0.05)
    assert tab.delay_s[0] == pytest.approx(direct.ul.delay_s[0], abs=1e-10)
    # each later point sits on the trajectory grid at round((t - start) fs)
    t_next = traj.t_s[traj.t_s > start_s][0]
    assert tab.index[1] == round((t_next - start_s) * fs)
    assert tab.freq_hz[1] == traj.ul.residual_doppler_hz[traj.t_s > start_s][0]
    assert np.max(tab.gain_db) == 0.0 and tab.esn0_ref_db == pytest.approx(
        np.nanmax(traj.ul.esn0_db[traj.t_s >= start_s])
    )
    physical = traj.to_sample_tables(fs, start_s=start_s, compensated=False)
    assert physical.freq_hz[1] == traj.dl.doppler_hz[traj.t_s > start_s][0]


def test_bad_windows(setup):
    orbit, beams = setup
    traj = ChannelTrajectory.compute(orbit, HANDSET, beams, TC - 1000.0, 60.0, step_s=1.0)  # before AOS
    with pytest.raises(SkycallError, match="not served"):
        traj.to_sample_tables(48e3)
    with pytest.raises(ConfigError, match="step_s"):
        ChannelTrajectory.compute(orbit, HANDSET, beams, TC, 10.0, step_s=0.0)
    with pytest.raises(ConfigError, match="start_s"):
        traj.to_sample_tables(48e3, start_s=100.0)
