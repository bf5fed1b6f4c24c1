"""LinkChannel: the offset a receiver is left with, the gain, chunk invariance, copy and reset."""

import dataclasses

import numpy as np
import pytest
from bridge_flows import with_beam

from skycall.bridge.channel import IntegerDelay, LinkChannel, delay_stage
from skycall.bridge.plan import pass_plan
from skycall.config.flowgraph import SrsranConfig
from skycall.dsp.farrow import FarrowDelay
from skycall.rng import make_rng


def _quiet(flow):
    return dataclasses.replace(flow, srsran=SrsranConfig(dl_noise_db=-200.0, ul_noise_db=-200.0))


def _inst_freq_hz(y, fs):
    return np.angle(y[1:] * np.conj(y[:-1])) * fs / (2 * np.pi)


@pytest.mark.parametrize("link", ["dl", "ul"])
@pytest.mark.parametrize("compensate", [True, False])
def test_a_carrier_comes_out_at_the_offset_the_receiver_is_left_with(flow, link, compensate):
    """A constant input (a carrier at 0 Hz) leaves the channel at f_d − f_c (compensation on) or f_d (off), with
    the beam's gain, whatever the delay stage does (a delayed constant stays constant)."""
    plan = pass_plan(with_beam(_quiet(flow), precompensation=compensate))
    fs, lp = plan.sample_rate_sps, getattr(plan, link)
    channel = LinkChannel(lp, fs, link == "ul", make_rng(1))
    n = int(2.0 * fs)
    y = channel.process(np.ones(n, np.complex64))[100:]  # after the interpolator's start-up
    idx = np.arange(100, n - 1)
    f = _inst_freq_hz(y, fs)
    expected = np.interp(idx + 0.5, lp.index, lp.residual_hz)
    assert np.max(np.abs(expected)) > (100.0 if compensate else 20e3)
    np.testing.assert_allclose(f, expected, atol=0.5)  # Hz
    np.testing.assert_allclose(np.abs(y), 10 ** (np.interp(np.arange(100, n), lp.index, lp.gain_db) / 20), rtol=1e-5)


@pytest.mark.parametrize("link", ["dl", "ul"])
def test_any_chunking_gives_the_same_bits_and_a_copy_continues_identically(flow, rng, link):
    plan = pass_plan(flow)
    lp = getattr(plan, link)
    assert lp.centre_hz is not None and lp.delay_s is not None and np.any(lp.doppler_hz)  # every stage runs
    x = (rng.standard_normal(300_000) + 1j * rng.standard_normal(300_000)).astype(np.complex64)
    one = LinkChannel(lp, plan.sample_rate_sps, link == "ul", make_rng(5)).process(x)
    channel = LinkChannel(lp, plan.sample_rate_sps, link == "ul", make_rng(5))
    edges = np.concatenate([[0], np.sort(rng.integers(0, x.size, 60)), [x.size]])
    parts = [channel.process(x[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_array_equal(np.concatenate(parts), one)
    assert channel.sample_index == x.size
    channel.reset()
    channel.process(x[:123_456])
    twin = channel.copy()
    np.testing.assert_array_equal(twin.process(x[123_456:]), one[123_456:])
    np.testing.assert_array_equal(channel.process(x[123_456:]), one[123_456:])


def test_noise_power_is_the_configured_one(flow):
    plan = pass_plan(dataclasses.replace(flow, srsran=SrsranConfig(dl_noise_db=10.0)))
    y = LinkChannel(plan.dl, plan.sample_rate_sps, False, make_rng(1)).process(np.zeros(400_000, np.complex64))
    assert np.mean(np.abs(y) ** 2) == pytest.approx(10.0, rel=0.01)


def test_a_constant_whole_delay_is_a_delay_line_identical_to_the_interpolator(rng):
    x = (rng.standard_normal(50_000) + 1j * rng.standard_normal(50_000)).astype(np.complex64)
    index, delay_s = np.array([0, 40_000]), np.full(2, 3 / 1.92e6)
    line = delay_stage(1.92e6, index, delay_s)
    assert isinstance(line, IntegerDelay) and line.samples == 3
    reference = FarrowDelay(1.92e6, index, delay_s).process(x, 0)
    edges = np.concatenate([[0], np.sort(rng.integers(0, x.size, 30)), [x.size]])
    parts = [line.process(x[a:b], int(a)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_array_equal(np.concatenate(parts), reference)
    np.testing.assert_array_equal(reference[3:], x[:-3])
    assert isinstance(delay_stage(1.92e6, index, [3 / 1.92e6, 3.5 / 1.92e6]), FarrowDelay)


def test_the_beam_centre_takes_the_delay_line(flow):
    centre = pass_plan(with_beam(flow, handset_offset_km=0.0))
    assert isinstance(LinkChannel(centre.dl, centre.sample_rate_sps, False, make_rng(1))._delay, IntegerDelay)
    edge = pass_plan(flow)
    assert isinstance(LinkChannel(edge.dl, edge.sample_rate_sps, False, make_rng(1))._delay, FarrowDelay)
