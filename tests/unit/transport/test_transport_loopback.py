"""LoopbackRadio on in-process Nodes: lock-step exchange, absent sender -> air noise, radio factory."""

import textwrap
import threading

import numpy as np
import pytest
import zmq

from skycall.channel.air import AirModel
from skycall.errors import SkycallError
from skycall.radio.factory import open_radio
from skycall.radio.loopback import LoopbackRadio
from skycall.radio.sigmf_backend import SigMFRecorder, SigMFReplayRadio
from skycall.runner.directory import Directory
from skycall.runner.node import Node, process_rng

FS = 240e3


@pytest.fixture
def directory():
    ctx = zmq.Context()
    ready, stop, eps = threading.Event(), threading.Event(), {}

    def serve():  # the directory's sockets live in this thread only
        d = Directory(ctx)
        eps.update(directory=d.endpoint, announce=d.announce_endpoint)
        ready.set()
        while not stop.is_set():
            d.poll(0.02)
        d.close()

    thread = threading.Thread(target=serve)
    thread.start()
    assert ready.wait(10)
    yield ctx, eps
    stop.set()
    thread.join()
    ctx.destroy(linger=0)


def _flow(tmp_path, radio_args=""):
    path = tmp_path / "flow.toml"
    path.write_text(
        textwrap.dedent(f"""\
        name = "loopback_unit"
        seed = 3
        duration_s = 1.0
        [air]
        noise_floor_dbfs = -40.0
        [[process]]
        name = "gs"
        role = "groundstation"
        [[process]]
        name = "hs"
        role = "handset"
        radio_args = "{radio_args}"
        [[link]]
        src = "gs.tx"
        dst = "hs.rx"
        [[link]]
        src = "hs.tx"
        dst = "gs.rx"
        """)
    )
    return path


def _radios(tmp_path, ctx, eps, read_timeout_s=10.0):
    nodes = {n: Node(n, _flow(tmp_path), tmp_path / "out", ctx=ctx, **eps) for n in ("gs", "hs")}
    radios = {n: LoopbackRadio(node, read_timeout_s=read_timeout_s) for n, node in nodes.items()}
    threads = [threading.Thread(target=r.start) for r in radios.values()]  # each waits for the other
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return nodes, radios


def _tone(n, f):
    return (0.5 * np.exp(2j * np.pi * f * np.arange(n) / FS)).astype(np.complex64)


def test_lock_step_exchange_matches_the_air_model(tmp_path, directory):
    ctx, eps = directory
    nodes, radios = _radios(tmp_path, ctx, eps)
    x_gs, x_hs = _tone(12_000, 1000.0), _tone(12_000, -2000.0)
    got = {"gs": [], "hs": []}
    for k in range(0, 12_000, 3000):  # both write chunk k, then both read chunk k: no deadlock
        radios["gs"].write(x_gs[k : k + 3000])
        radios["hs"].write(x_hs[k : k + 3000])
        for name in ("gs", "hs"):
            first, y = radios[name].read(3000)
            assert first == k and y.size == 3000
            got[name].append(y)
    for name, sent, rx_freq in (("hs", x_gs, 1545e6), ("gs", x_hs, 1646.5e6)):
        idx = nodes[name].index
        ref = AirModel(FS, rx_freq, -40.0, 0.0, 0.0, process_rng(3, idx, 1))
        assert np.array_equal(np.concatenate(got[name]), ref.process(sent, 0))
    for radio in radios.values():
        radio.close()
    for node in nodes.values():
        node.close()


def test_an_absent_sender_gives_air_noise_after_the_timeout_and_is_counted(tmp_path, directory):
    ctx, eps = directory
    nodes, radios = _radios(tmp_path, ctx, eps, read_timeout_s=0.2)
    radios["gs"].write(_tone(1000, 500.0))
    _, y = radios["hs"].read(1000)
    radios["gs"]._tx.close(send_end=False)  # the sender vanishes without a goodbye (killed)
    first, y = radios["hs"].read(2000)
    assert first == 1000 and y.size == 2000 and radios["hs"].missing_samples == 2000
    ref = AirModel(FS, 1545e6, -40.0, 0.0, 0.0, process_rng(3, nodes["hs"].index, 1))
    assert np.array_equal(y, ref.noise.generate(2000, 1000))  # exactly the air's noise for the missing span
    for node in nodes.values():
        node.close()


def test_factory_picks_the_backend_from_the_profile(tmp_path, directory):
    ctx, eps = directory
    node = Node("gs", _flow(tmp_path), tmp_path / "out", ctx=ctx, **eps)
    assert isinstance(open_radio(node.flow, "gs", node), LoopbackRadio)
    with pytest.raises(SkycallError, match="needs its Node"):
        open_radio(node.flow, "gs", None)
    rec = SigMFRecorder(tmp_path / "rec", FS, 1545e6)
    rec.write(np.ones(10, np.complex64), 0)
    meta = rec.close()
    flow = Node("hs", _flow(tmp_path, radio_args=f"sigmf:{meta}"), tmp_path / "out", ctx=ctx, **eps).flow
    radio = open_radio(flow, "hs")
    assert isinstance(radio, SigMFReplayRadio)
    radio.start()
    assert radio.read(100)[1].size == 10
    node.close()
