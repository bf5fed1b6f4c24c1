"""The bridge process's core: both directions at once, the stream-time limit, the event file."""

import dataclasses
import json
import threading

import numpy as np
import pytest
from zmq_peers import ANY, FakeReceiver, FakeTransmitter

from skycall.bridge.service import Bridge, Endpoints, carriers_line
from skycall.config.flowgraph import SrsranConfig


def _run_bridge(ctx, flow, tmp_path, passthrough=False, n_messages=6):
    x = np.exp(2j * np.pi * 0.01 * np.arange(1920 * n_messages)).astype(np.complex64)
    msgs = [x[k * 1920 : (k + 1) * 1920].tobytes() for k in range(n_messages)]
    enb, ue = FakeTransmitter(ctx, ANY, msgs), FakeTransmitter(ctx, ANY, msgs)
    endpoints = Endpoints(dl_from=enb.endpoint, dl_to=ANY, ul_from=ue.endpoint, ul_to=ANY)
    bridge = Bridge(flow, endpoints, passthrough=passthrough, duration_s=4 * 1920 / 1.92e6,
                    events_path=tmp_path / "bridge.jsonl")
    thread = threading.Thread(target=bridge.run, kwargs={"status_period_s": 0.05}, daemon=True)
    thread.start()
    receivers = {name: FakeReceiver(ctx, getattr(bridge, name).endpoint) for name in ("ul", "dl")}
    got = {"dl": [], "ul": []}
    for _ in range(4):  # the UL first: the 4th DL message ends the run
        for name, receiver in receivers.items():
            got[name] += receiver.get(1)
    thread.join(10)
    assert not thread.is_alive(), "the bridge did not stop at its stream-time limit"
    events = [json.loads(line) for line in (tmp_path / "bridge.jsonl").read_text().splitlines()]
    out = {name: np.frombuffer(b"".join(v), dtype=np.complex64) for name, v in got.items()}
    return bridge, x[: 4 * 1920], out, events


def test_both_directions_get_their_channel_and_the_run_stops_at_its_stream_time(ctx, flow, tmp_path):
    static = dataclasses.replace(flow, srsran=SrsranConfig(channel="static", dl_offset_hz=1000.0, ul_offset_hz=-300.0,
                                                           dl_noise_db=-200.0, ul_noise_db=-200.0))
    bridge, x, out, events = _run_bridge(ctx, static, tmp_path)
    fs = bridge.sample_rate_sps
    for name, offset in (("dl", 1000.0), ("ul", -300.0)):
        ratio = out[name] * np.conj(x)  # the channel's own rotation
        f = np.angle(ratio[1:] * np.conj(ratio[:-1])) * fs / (2 * np.pi)
        np.testing.assert_allclose(f, offset, atol=0.2)  # float32 phase noise of a sample-to-sample estimate
        assert np.mean(f) == pytest.approx(offset, abs=0.01)
    kinds = [e["t"] for e in events]
    assert kinds[0] == "bridge_start" and kinds[-1] == "bridge_stop" and "bridge_status" in kinds
    assert events[0]["plan"]["channel"] == "static" and events[-1]["dl"]["samples"] == 4 * 1920
    assert events[-1]["t_s"] == 4 * 1920 / fs
    assert "n255" in carriers_line(bridge.plan) and "1545.0 MHz" in carriers_line(bridge.plan)


def test_passthrough_forwards_both_directions_bit_exact(ctx, flow, tmp_path):
    bridge, x, out, events = _run_bridge(ctx, flow, tmp_path, passthrough=True)
    assert bridge.plan is None and events[0]["plan"] == {"channel": "off"}
    np.testing.assert_array_equal(out["dl"], x)
    np.testing.assert_array_equal(out["ul"], x)
    assert carriers_line(None).endswith("bit-exact)")
