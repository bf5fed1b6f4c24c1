"""LOS/NLOS shadowing states against Markov-chain theory and the TR 38.811 statistics they draw from."""

import numpy as np
import pytest

from skycall.channel import tr38811
from skycall.channel.fading import FlatFading
from skycall.channel.shadowing import TRANSITION_M, ShadowingStates
from skycall.rng import make_rng

FS = 100.0  # the states change over metres: a coarse rate suffices for their statistics


def _states(elevation=(30.0, 30.0), env="urban", speed=10.0, corr=50.0, seconds=20_000.0, seed=1):
    index = np.linspace(0, FS * seconds, len(elevation)).astype(np.int64)
    return ShadowingStates(FS, index, np.array(elevation), env, speed, corr, make_rng(seed))


def test_occupancy_and_sojourns_follow_the_markov_chain():
    """τ = d/v = 5 s; P(LOS, 30°, urban) = 0.493: good sojourns τ/(1−P), bad τ/P, time share P."""
    sh = _states()
    p, tau = 0.493, 50.0 / 10.0
    vis = sh.visibility(int(FS * 20_000), 0)
    assert np.mean(vis) == pytest.approx(p, abs=0.03)
    durations, good = np.diff(sh.change_s), sh.states[:-1]
    assert durations.size > 1500
    assert np.mean(durations[good]) == pytest.approx(tau / (1 - p), rel=0.1)
    assert np.mean(durations[~good]) == pytest.approx(tau / p, rel=0.1)
    # exponential sojourns: standard deviation = mean
    assert np.std(durations[good]) == pytest.approx(np.mean(durations[good]), rel=0.15)


def test_state_levels_are_tr38811_shadow_fading_and_clutter_loss():
    sh = _states(env="dense-urban", seed=2)
    bad, good = sh.levels_db[~sh.states], sh.levels_db[sh.states]
    cl = tr38811.clutter_loss_db("dense-urban", 30.0)
    assert cl == pytest.approx(29.0)
    assert np.mean(bad) == pytest.approx(cl, abs=4 * 12.4 / np.sqrt(bad.size))
    assert np.std(bad) == pytest.approx(12.4, rel=0.1)  # σ_SF NLOS at 30°
    assert np.mean(good) == pytest.approx(0.0, abs=4 * 2.9 / np.sqrt(good.size))
    assert np.std(good) == pytest.approx(2.9, rel=0.1)  # σ_SF LOS at 30°


def test_los_probability_follows_elevation():
    """Along a rising pass (10° → 90°) the good state's share follows P(LOS) of each stretch."""
    sh = _states(elevation=(10.0, 90.0), env="dense-urban", seconds=200_000.0, seed=3)
    n = int(FS * 200_000)
    vis = sh.visibility(n, 0)
    for lo, hi in ((0.0, 0.2), (0.8, 1.0)):
        part = vis[int(lo * n) : int(hi * n)]
        el = 10.0 + 80.0 * (lo + hi) / 2
        assert np.mean(part) == pytest.approx(tr38811.los_probability("dense-urban", el), abs=0.06)


def test_static_handset_keeps_its_state_drawn_with_the_los_probability():
    goods = []
    for seed in range(400):
        sh = _states(speed=0.0, seconds=100.0, seed=seed)
        assert sh.change_s.size == 1 and np.all(sh.visibility(1000, 0) == sh.states[0])
        goods.append(sh.states[0])
    assert np.mean(goods) == pytest.approx(0.493, abs=0.075)  # 3 σ of 400 draws


def test_transitions_ramp_over_a_fresnel_zone():
    sh = _states(speed=5.0, seconds=2_000.0, seed=4)
    c = sh.change_s[1]
    i0 = int(round(c * FS))
    ramp = int(round(TRANSITION_M / 5.0 * FS))
    vis = sh.visibility(ramp + 3, i0 - 1)
    assert vis[0] == float(sh.states[0]) and vis[-1] == float(sh.states[1])
    assert np.all(np.abs(np.diff(vis)) <= 1.0 / ramp + 1e-12)


def test_bad_state_is_rayleigh_at_the_clutter_loss():
    """With fading: in the bad state the direct path is gone (Rayleigh) and the mean power is −loss."""
    fs = 2000.0
    index = np.array([0, int(fs * 4000)])
    sh = ShadowingStates(fs, index, np.array([40.0, 40.0]), "suburban", 20.0, 200.0, make_rng(5))
    fading = FlatFading(fs, 20.0, index, np.array([20.0, 20.0]), np.array([0.0, 0.0]), make_rng(6), sh)
    h = fading.gains(index[-1], 0)
    vis = sh.visibility(index[-1], 0)
    loss = sh.loss_db(index[-1], 0)
    bad = vis == 0.0
    norm = np.abs(h[bad]) ** 2 * 10 ** (loss[bad] / 10)
    assert np.mean(norm) == pytest.approx(1.0, rel=0.1)
    assert np.mean(norm**2) == pytest.approx(2.0, rel=0.15)  # E|g|⁴ = 2 for Rayleigh
    good = vis == 1.0
    norm_good = np.abs(h[good]) ** 2 * 10 ** (loss[good] / 10)
    assert np.var(norm_good) < 0.1  # K = 20 dB: nearly constant


def test_states_without_small_scale_fading_are_a_pure_direct_path_in_los():
    fs = 1000.0
    index = np.array([0, int(fs * 2000)])
    sh = ShadowingStates(fs, index, np.array([40.0, 40.0]), "urban", 10.0, 50.0, make_rng(7))
    h = FlatFading(fs, 5.0, index, np.array([np.inf, np.inf]), np.array([0.0, 0.0]), make_rng(8), sh).gains(
        index[-1], 0)
    vis, loss = sh.visibility(index[-1], 0), sh.loss_db(index[-1], 0)
    good, bad = vis == 1.0, vis == 0.0
    np.testing.assert_allclose(np.abs(h[good]) ** 2, 10 ** (-loss[good] / 10), rtol=1e-5)
    assert np.mean(np.abs(h[bad]) ** 2 * 10 ** (loss[bad] / 10)) == pytest.approx(1.0, rel=0.15)  # Rayleigh
