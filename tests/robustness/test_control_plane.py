"""Issue 20 #1: no control message can kill a process — deep JSON, multi-frame requests, oversized
requests, fuzzed frames — and a running process's control socket survives all of them."""

import json
import re
import socket
import threading
import time

import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust_helpers import PEER, peer_entries, wait_ports, write_flowgraph

from skycall.config.flowgraph import PROCESS_NAME_PATTERN
from skycall.runner.directory import Directory
from skycall.transport.control import ControlClient, ControlServer, connect_run
from skycall.transport.security import is_local
from skycall.transport.wire import MAX_CONTROL_BYTES


@pytest.fixture
def served(ctx):
    """A ControlServer polled by its own thread, as a process's slot loop polls it; the thread's
    death (any exception) is recorded."""
    server = ControlServer(ctx, {"echo": lambda **args: {"args": args}})
    stop, died = threading.Event(), []

    def serve():
        try:
            while not stop.is_set():
                server.poll(0.02)
        except BaseException as err:  # noqa: BLE001 - the test's point
            died.append(err)

    thread = threading.Thread(target=serve)
    thread.start()
    yield server, died
    stop.set()
    thread.join(10)
    server.close()


def _alive(ctx, server, died) -> bool:
    client = ControlClient(ctx, server.endpoint, timeout_s=5)
    try:
        return not died and client.call("status")["ok"]
    finally:
        client.close()


def _request(ctx, endpoint, frames, timeout_ms=5000):
    sock = ctx.socket(zmq.REQ)
    sock.linger = 0
    sock.connect(endpoint)
    sock.send_multipart(frames)
    reply = json.loads(sock.recv()) if sock.poll(timeout_ms) else None
    sock.close()
    return reply


def test_a_200000_deep_json_array_gets_an_error_reply(ctx, served):
    server, died = served
    assert _request(ctx, server.endpoint, [b"[" * 200_000 + b"]" * 200_000], timeout_ms=1000) is None  # 400 kB
    for depth in (30_000, 9):  # within the size limit: parsed, refused with a reason
        reply = _request(ctx, server.endpoint, [b"[" * depth + b"]" * depth])
        assert reply["ok"] is False and ("deep" in reply["error"] or "object" in reply["error"])
    reply = _request(ctx, server.endpoint, [json.dumps({"cmd": "echo", "x": [[[[[[[[[[1]]]]]]]]]]}).encode()])
    assert reply["ok"] is False and "deeper" in reply["error"]
    assert _alive(ctx, server, died)


def test_a_two_frame_request_is_answered_and_the_socket_stays_usable(ctx, served):
    server, died = served
    reply = _request(ctx, server.endpoint, [b'{"cmd": "status"}', b"second frame"])
    assert reply == {"ok": False, "error": "a request is one frame, got 2"}
    assert _alive(ctx, server, died)


def test_an_oversized_request_is_refused_unbuffered_and_others_are_served(ctx, served):
    server, died = served
    assert server.socket.getsockopt(zmq.MAXMSGSIZE) == MAX_CONTROL_BYTES
    big = b'{"cmd": "echo", "pad": "' + b"x" * (2 << 20) + b'"}'
    assert _request(ctx, server.endpoint, [big], timeout_ms=1000) is None  # dropped by libzmq, no reply
    assert _alive(ctx, server, died)


def test_raw_garbage_on_the_socket_cannot_block_the_server(ctx):
    """Bytes that are not ZMTP 3 are read as legacy ZMTP 1.0 messages without an envelope: the REP socket
    announces a message, then drops it — a blocking receive after the poll stalled the slot loop until
    the next valid request."""
    server = ControlServer(ctx, {})
    host, port = server.endpoint.removeprefix("tcp://").rsplit(":", 1)
    rng = np.random.default_rng(20)
    with socket.create_connection((host, int(port))) as s:
        s.sendall(rng.integers(0, 255, 4096, dtype=np.uint8).tobytes())
        time.sleep(0.3)
        poller = threading.Thread(target=server.poll, args=(0.5,))
        poller.start()
        poller.join(5)
        stalled = poller.is_alive()
    if stalled:  # let the stuck receive return before closing
        _request(ctx, server.endpoint, [b'{"cmd": "status"}'])
        poller.join(5)
    server.close()
    assert not stalled


_frames = st.lists(
    st.one_of(
        st.binary(max_size=200),
        st.builds(lambda obj: json.dumps(obj).encode(), st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
            max_leaves=20,
        )),
        st.builds(lambda cmd, extra: json.dumps({"cmd": cmd, **extra}).encode(),
                  st.sampled_from(["status", "echo", "register", "", "x" * 300]),
                  st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=3)),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=_frames)
def test_fuzzed_control_requests_are_always_answered(ctx, served, frames):
    server, died = served
    reply = _request(ctx, server.endpoint, frames)
    assert reply is not None and isinstance(reply["ok"], bool)
    assert reply["ok"] or reply["error"]
    assert not died


@pytest.fixture
def directory(ctx):
    """A keyed Directory polled by its own thread."""
    d = Directory(ctx, key="k" * 64)
    stop = threading.Event()
    thread = threading.Thread(target=lambda: [d.poll(0.02) for _ in iter(stop.is_set, True)])
    thread.start()
    yield d
    stop.set()
    thread.join(10)
    d.close()


_value = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.floats()
_register = st.fixed_dictionaries(
    {"cmd": st.sampled_from(["register", "lookup"]), "key": st.sampled_from(["k" * 64, "x", None])},
    optional={
        "proc": st.sampled_from(["gs", "hs", "", "../x", "a" * 40]) | _value,
        "endpoints": st.dictionaries(st.sampled_from(["tx", "rx", "Tx", "tx.raw", "../p"]),
                                     st.sampled_from(["ipc:///tmp/s", "tcp://127.0.0.1:5", "tcp://0.0.0.0:5",
                                                      "bogus://x", ""]) | _value, max_size=3) | _value,
        "pid": _value,
        "restart": _value,
    },
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_register)
def test_fuzzed_directory_requests_only_ever_store_valid_local_registrations(ctx, directory, request):
    reply = _request(ctx, directory.endpoint, [json.dumps(request).encode()])
    assert isinstance(reply["ok"], bool)
    if reply["ok"] and request["cmd"] == "register":
        assert request["key"] == "k" * 64
    for name, entry in directory.entries.items():
        assert re.fullmatch(PROCESS_NAME_PATTERN, name)
        assert entry["endpoints"] and all(is_local(ep) and ep.split("://")[0] in ("ipc", "tcp")
                                          for ep in entry["endpoints"].values())  # fmt: skip


def test_a_running_process_survives_hostile_control_messages(tmp_path, runs):
    flow = write_flowgraph(tmp_path, duration_s=60.0, realtime=True)
    out = tmp_path / "out"
    run = runs(flow, "--out", out, *peer_entries("gs", "hs", module=PEER))
    run.wait_running()
    ctx = zmq.Context()
    try:
        key = (out / "run.key").read_text().strip()
        endpoint = wait_ports(out)["hs"]["control"]
        attacks = [[b"[" * 30_000 + b"]" * 30_000], [json.dumps({"cmd": "status", "key": key}).encode(), b"x"],
                   [b"\xff" * 100], [b"x" * (1 << 20)]]
        for frames in attacks:
            _request(ctx, endpoint, frames, timeout_ms=1000)
        clients = connect_run(out, ctx, timeout_s=5)
        assert clients["hs"].call("status")["ok"] and clients["gs"].call("status")["ok"]
        for client in clients.values():
            client.close()
    finally:
        ctx.destroy(linger=0)
    run.proc.send_signal(2)
    code, stdout, stderr = run.finish()
    assert code == 130 and "hs: exit 0" in stdout and "gs: exit 0" in stdout, stdout + stderr
