"""The REQ/REP forwarding loop against a fake srsRAN transmitter (REP) and receiver (REQ).

Bit-exact passthrough, chunk invariance through the channel (any message sizes give the same samples),
restart of the transmitter with a request in flight and of the receiver, malformed messages.
"""

import threading
import time

import numpy as np
import pytest
from zmq_peers import ANY, FakeReceiver, FakeTransmitter

from skycall.bridge.channel import LinkChannel
from skycall.bridge.forward import Forwarder
from skycall.bridge.plan import pass_plan
from skycall.rng import make_rng


def _messages(rng, sizes):
    x = (rng.standard_normal(sum(sizes)) + 1j * rng.standard_normal(sum(sizes))).astype(np.complex64)
    edges = np.concatenate([[0], np.cumsum(sizes)])
    return x, [x[a:b].tobytes() for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _sizes(rng, total, max_len):
    sizes = []
    while sum(sizes) < total:
        sizes.append(int(rng.integers(1, max_len)))
    return sizes


def _forwarder(ctx, upstream, channel=None):
    stop = threading.Event()
    fwd = Forwarder(ctx, "dl", ANY, upstream, channel, stop)
    thread = threading.Thread(target=fwd.run, daemon=True)
    thread.start()
    return fwd, stop, thread


def _finish(stop, thread):
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


def test_passthrough_is_bit_exact_for_any_message_sizes(ctx, rng):
    sizes = [1920] * 5 + _sizes(rng, 30_000, 7000) + [1]
    x, msgs = _messages(rng, sizes)
    tx = FakeTransmitter(ctx, ANY, msgs)
    fwd, stop, thread = _forwarder(ctx, tx.endpoint)
    got = FakeReceiver(ctx, fwd.endpoint).get(len(msgs))
    _finish(stop, thread)
    assert got == msgs
    assert fwd.samples == x.size and fwd.messages == len(msgs) and fwd.malformed == 0
    assert fwd.counters()["mean_power"] == pytest.approx(float(np.mean(np.abs(x) ** 2)), rel=1e-5)


def _through_bridge(ctx, flow, x, sizes):
    plan = pass_plan(flow)
    channel = LinkChannel(plan.dl, plan.sample_rate_sps, False, make_rng(9))
    edges = np.concatenate([[0], np.cumsum(sizes)])
    msgs = [x[a:b].tobytes() for a, b in zip(edges[:-1], edges[1:], strict=True)]
    tx = FakeTransmitter(ctx, ANY, msgs)
    fwd, stop, thread = _forwarder(ctx, tx.endpoint, channel.process)
    got = FakeReceiver(ctx, fwd.endpoint).get(len(msgs))
    _finish(stop, thread)
    assert [len(m) for m in got] == [len(m) for m in msgs]  # the reply has the request's sample count
    return np.frombuffer(b"".join(got), dtype=np.complex64)


def test_any_message_sizes_give_the_same_output_samples(ctx, rng, flow):
    n = 40_000
    x = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    subframes = _through_bridge(ctx, flow, x, [1920] * (n // 1920) + [n % 1920])
    ragged = _through_bridge(ctx, flow, x, _sizes(rng, n, 5000)[:-1] + [0])
    one = _through_bridge(ctx, flow, x, [n])
    assert subframes.size == n
    np.testing.assert_array_equal(subframes, one)
    np.testing.assert_array_equal(ragged[:n], one[: ragged.size])
    assert not np.array_equal(one, x)  # the channel did something


def _subframes_and_channel(rng, flow, n_messages):
    """Messages of one subframe, the channel's one-shot output for them, and a fresh twin of that channel."""
    x, msgs = _messages(rng, [1920] * n_messages)
    plan = pass_plan(flow)
    reference = LinkChannel(plan.dl, plan.sample_rate_sps, False, make_rng(9)).process(x)
    return msgs, reference, LinkChannel(plan.dl, plan.sample_rate_sps, False, make_rng(9))


def test_transmitter_restart_with_a_request_in_flight_loses_no_sample(ctx, rng, flow):
    msgs, reference, channel = _subframes_and_channel(rng, flow, 12)
    first = FakeTransmitter(ctx, ANY, msgs, die_after=5)  # takes the 6th request, then crashes
    fwd, stop, thread = _forwarder(ctx, first.endpoint, channel.process)
    rx = FakeReceiver(ctx, fwd.endpoint)
    got = rx.get(5)
    rx.sock.send(b"\xff")  # the 6th request reaches the dying transmitter
    first.thread.join(5)
    second = FakeTransmitter(ctx, first.endpoint, msgs[5:])  # back on the same port
    assert rx.sock.poll(10_000), "the bridge did not resend the request to the restarted transmitter"
    got.append(rx.sock.recv())
    got += rx.get(len(msgs) - 6)
    _finish(stop, thread)
    second.thread.join(5)
    assert fwd.resent >= 1
    np.testing.assert_array_equal(np.frombuffer(b"".join(got), dtype=np.complex64), reference)


def test_receiver_restart_continues_the_stream_where_it_is(ctx, rng, flow):
    msgs, reference, channel = _subframes_and_channel(rng, flow, 10)
    tx = FakeTransmitter(ctx, ANY, msgs)
    fwd, stop, thread = _forwarder(ctx, tx.endpoint, channel.process)
    first = FakeReceiver(ctx, fwd.endpoint)
    got = first.get(3)
    first.sock.send(b"\xff")  # the 4th message is forwarded, then its receiver dies before reading it
    deadline = time.monotonic() + 10
    while fwd.messages < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.sock.close(linger=0)
    got += FakeReceiver(ctx, fwd.endpoint).get(6)
    _finish(stop, thread)
    out = np.frombuffer(b"".join(got), dtype=np.complex64)
    np.testing.assert_array_equal(out[: 3 * 1920], reference[: 3 * 1920])
    np.testing.assert_array_equal(out[3 * 1920 :], reference[4 * 1920 :])  # the dead receiver's message is gone


def test_malformed_message_is_forwarded_unchanged_and_does_not_advance_the_stream(ctx, rng, caplog):
    x, msgs = _messages(rng, [100, 200])
    tx = FakeTransmitter(ctx, ANY, [msgs[0], b"\x01" * 7, msgs[1]])
    fwd, stop, thread = _forwarder(ctx, tx.endpoint)
    got = FakeReceiver(ctx, fwd.endpoint).get(3)
    _finish(stop, thread)
    assert got == [msgs[0], b"\x01" * 7, msgs[1]]
    assert fwd.malformed == 1 and fwd.samples == 300 and fwd.messages == 2
    assert "not whole complex64 samples" in caplog.text


def test_sample_limit_ends_the_direction(ctx, rng):
    x, msgs = _messages(rng, [1000] * 5)
    tx = FakeTransmitter(ctx, ANY, msgs)
    stop = threading.Event()
    fwd = Forwarder(ctx, "dl", ANY, tx.endpoint, None, stop, limit_samples=2500)
    thread = threading.Thread(target=fwd.run, daemon=True)
    thread.start()
    FakeReceiver(ctx, fwd.endpoint).get(3)
    assert fwd.done.wait(5)
    thread.join(5)
    assert not thread.is_alive() and fwd.samples == 3000


def test_a_non_loopback_listen_address_is_refused(ctx):
    from skycall.transport.security import InsecureBind

    with pytest.raises(InsecureBind, match="reachable from other hosts"):
        Forwarder(ctx, "dl", "tcp://0.0.0.0:0", "tcp://127.0.0.1:1", None, threading.Event())
