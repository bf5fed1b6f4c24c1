"""Control (REQ/REP JSON), telemetry (XPUB -> collector -> jsonl) and the CURVE bind guard."""

import json
import threading

import numpy as np
import pytest
import zmq

from skycall.transport.control import ControlClient, ControlError, ControlServer, ControlTimeout
from skycall.transport.security import CurveKeys, InsecureBind, check_bind, is_local
from skycall.transport.stream import StreamIn, StreamOut
from skycall.transport.telemetry import Telemetry, TelemetryCollector


@pytest.fixture
def ctx():
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


def _serve(server, stop):
    while not stop.is_set():
        server.poll(0.02)


def test_control_commands_errors_and_bad_json(ctx):
    calls = []

    def place(number):
        calls.append(number)
        return {"call_id": 7}

    def broken():
        raise RuntimeError("boom")

    server = ControlServer(ctx, {"call": place, "crash": broken})
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(server, stop))
    thread.start()
    try:
        client = ControlClient(ctx, server.endpoint, timeout_s=10)
        assert client.call("call", number="+49")["call_id"] == 7 and calls == ["+49"]
        assert "call" in client.call("status")["commands"]
        with pytest.raises(ControlError, match="unknown command 'dial'"):
            client.call("dial")
        with pytest.raises(ControlError, match="crash failed: RuntimeError: boom"):
            client.call("crash")
        with pytest.raises(ControlError, match="call failed: TypeError"):  # wrong arguments
            client.call("call", digits="1")
        raw = ctx.socket(zmq.REQ)
        raw.connect(server.endpoint)
        for junk in (b"{not json", b"[1, 2]", b'{"cmd": 3}'):
            raw.send(junk)
            assert raw.poll(10_000)
            reply = json.loads(raw.recv())
            assert reply["ok"] is False and reply["error"]
        assert client.call("status")["ok"]  # the server survived all of it
        raw.close()
        client.close()
    finally:
        stop.set()
        thread.join()
        server.close()


def test_control_client_reports_a_server_that_does_not_answer(ctx):
    client = ControlClient(ctx, "tcp://127.0.0.1:1", timeout_s=0.2)
    with pytest.raises(ControlTimeout, match="nobody answered 'status'"):
        client.call("status")
    with pytest.raises(ControlTimeout):  # the client is still usable after a timeout
        client.call("status")


def test_telemetry_reaches_the_collector_file_without_losing_early_events(ctx, tmp_path):
    path = tmp_path / "telemetry.jsonl"
    collector = TelemetryCollector(ctx, path)
    stop = threading.Event()

    def collect():  # a ZMQ socket handles new peers only while its owner calls into it
        while not stop.is_set() and len(collector.events) < 50:
            collector.drain(timeout_s=0.02)

    thread = threading.Thread(target=collect)
    thread.start()
    tel = Telemetry(ctx, "hs")
    try:
        assert tel.connect_collector(collector.endpoint, timeout_s=10)
        for i in range(50):
            tel.emit("sync", i * 100, cfo_hz=np.float32(1.5), ok=True)
        thread.join(30)
    finally:
        stop.set()
        thread.join()
    collector.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["index"] for e in lines] == [i * 100 for i in range(50)]
    assert lines[0]["t"] == "sync" and lines[0]["proc"] == "hs" and lines[0]["cfo_hz"] == 1.5
    tel.close()


@pytest.mark.parametrize(
    ("endpoint", "local"),
    [
        ("tcp://127.0.0.1:0", True),
        ("tcp://127.9.9.9:5555", True),
        ("tcp://[::1]:5555", True),
        ("tcp://localhost:5555", True),
        ("ipc:///tmp/x", True),
        ("tcp://0.0.0.0:5555", False),
        ("tcp://*:5555", False),
        ("tcp://192.168.2.10:5555", False),
        ("tcp://eth0:5555", False),
    ],
)
def test_which_endpoints_are_local(endpoint, local):
    assert is_local(endpoint) is local
    if not local:
        with pytest.raises(InsecureBind, match="CURVE"):
            check_bind(endpoint, None)


def test_a_curve_secured_stream_on_a_public_interface(ctx):
    server = CurveKeys.generate()
    client = CurveKeys.generate()
    out = StreamOut(ctx, sample_rate_sps=1e3, centre_freq_hz=0.0, endpoint="tcp://0.0.0.0:0", curve=server)
    port = out.endpoint.rsplit(":", 1)[1]
    keys = CurveKeys(client.public, client.secret, server_public=server.public)
    inp = StreamIn(ctx, f"tcp://127.0.0.1:{port}", curve=keys)
    x = np.arange(10, dtype=np.complex64)
    assert out.send(x)
    _, y = inp.read(10, timeout_s=10)
    assert np.array_equal(y, x)
    with pytest.raises(InsecureBind):
        StreamOut(ctx, sample_rate_sps=1e3, centre_freq_hz=0.0, endpoint="tcp://0.0.0.0:0")
