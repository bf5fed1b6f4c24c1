"""Issue 20 #3, #18 and the stream half of #7: a stream header's length is never trusted, repeated
messages are never delivered twice, NaN/Inf samples never leave the stream — and (what held) every
malformed header kind is counted and dropped."""

import struct
import tracemalloc

import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skycall.transport.protocol import FLAG_RESTART, MALFORMED_KINDS, MAX_MESSAGE_BYTES, StreamHeader, pack
from skycall.transport.stream import StreamIn, StreamOut

FS = 240e3


@pytest.fixture
def raw_pair(ctx):
    """A bare PUSH (the attacker's) and a StreamIn reading it."""
    push = ctx.socket(zmq.PUSH)
    port = push.bind_to_random_port("tcp://127.0.0.1")
    inp = StreamIn(ctx, f"tcp://127.0.0.1:{port}", sample_rate_sps=FS)
    yield push, inp
    push.close()
    inp.close()


def _msg(first, x, flags=0):
    return pack(StreamHeader(first, FS, 1e9, flags=flags), np.asarray(x, np.complex64))


def test_a_header_announcing_32_gib_with_8_bytes_allocates_nothing(raw_pair):
    push, inp = raw_pair
    push.send(_msg(0, np.arange(4)))
    assert inp.read(4, timeout_s=5)[1].size == 4  # warm-up: the sample copy's kernel is loaded
    lie = bytearray(_msg(4, [1 + 1j]))
    lie[8:12] = (2**32 - 1).to_bytes(4, "little")
    push.send(bytes(lie))
    push.send(_msg(4, np.arange(4, 8)))
    tracemalloc.start()
    try:
        first, y = inp.read(4, timeout_s=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert first == 4 and np.array_equal(y, np.arange(4, 8))
    assert inp.counters.malformed == {"payload": 1}
    assert peak < 1 << 20  # not 32 GiB, not even 1 MiB
    assert inp._sock.getsockopt(zmq.MAXMSGSIZE) == MAX_MESSAGE_BYTES  # larger frames refused unbuffered


def test_repeated_messages_are_delivered_once_and_gap_samples_never_go_negative(raw_pair):
    push, inp = raw_pair
    a, b = np.arange(100), np.arange(100, 200)
    for first, x in ((0, a), (0, a), (100, b), (50, np.arange(50, 150)), (100, b), (150, np.arange(150, 250))):
        push.send(_msg(first, x))
    first, y = inp.read(250, timeout_s=5)
    assert first == 0 and np.array_equal(y, np.arange(250))  # each sample once, in order
    c = inp.counters
    assert (c.duplicates, c.duplicate_samples) == (4, 100 + 100 + 100 + 50)
    assert c.gaps == 0 and c.gap_samples == 0
    push.send(_msg(1000, np.arange(10)))  # forward jump: a gap of 750 samples
    push.send(_msg(0, np.arange(10), FLAG_RESTART))  # a restarted sender: back to 0, delivered
    assert inp.read(10, timeout_s=5)[0] == 1000
    first, y = inp.read(10, timeout_s=5)
    assert first == 0 and np.array_equal(y, np.arange(10))
    assert c.gaps == 2 and c.gap_samples == 750  # the restart's backward jump adds no "missing" samples


def test_nan_and_inf_samples_are_replaced_by_zero_and_counted(ctx):
    out = StreamOut(ctx, sample_rate_sps=FS, centre_freq_hz=1e9, hwm=100)
    inp = StreamIn(ctx, out.endpoint, sample_rate_sps=FS)
    x = (np.arange(64) * (1 - 1j)).astype(np.complex64)
    x[[3, 10, 11]] = [np.nan, complex(np.inf, 0), complex(0, -np.inf)]
    out.send(x)
    _, y = inp.read(64, timeout_s=5)
    want = x.copy()
    want[[3, 10, 11]] = 0
    assert np.all(np.isfinite(y)) and np.array_equal(y, want)
    assert inp.counters.nonfinite_samples == 3
    out.close()
    inp.close()


def _corrupt(kind: str, msg: bytes) -> list[bytes]:
    """One message of each malformed kind, built from a valid one."""
    return {
        "frames": [msg, msg],
        "magic": [b"QQQQ" + msg[4:]],
        "version": [msg[:4] + b"\x01" + msg[5:]],
        "header": [msg[:30]],
        "payload": [msg[:-4]],
        "rate": [msg[:20] + struct.pack("<d", float("inf")) + msg[28:]],
        "freq": [msg[:28] + struct.pack("<d", -5.0) + msg[36:]],
    }[kind]


def test_every_malformed_kind_is_counted_and_dropped(raw_pair):
    push, inp = raw_pair
    msg = _msg(0, np.arange(8))
    for kind in MALFORMED_KINDS:
        push.send_multipart(_corrupt(kind, msg))
    push.send(msg)
    first, y = inp.read(8, timeout_s=5)
    assert first == 0 and np.array_equal(y, np.arange(8))
    assert inp.counters.malformed == {kind: 1 for kind in MALFORMED_KINDS}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 60), st.booleans()), min_size=1, max_size=12))
def test_fuzzed_index_sequences_never_repeat_a_sample(ctx, plan):
    """Whatever order, overlap and repetition the sender's indices have, the reader's output indices
    strictly increase except at a RESTART, and the samples are the ones sent at those indices."""
    push = ctx.socket(zmq.PUSH)
    port = push.bind_to_random_port("tcp://127.0.0.1")
    inp = StreamIn(ctx, f"tcp://127.0.0.1:{port}", sample_rate_sps=FS)
    for first, n, restart in plan:
        push.send(_msg(first, np.arange(first, first + n), FLAG_RESTART if restart else 0))
    push.send(_msg(10**6, np.arange(7), FLAG_RESTART))  # end marker: one whole read
    seen = []
    while True:
        first, y = inp.read(7, timeout_s=5)
        assert y.size
        if first == 10**6:
            break
        assert np.array_equal(y.real, np.arange(first, first + y.size))  # sample value == its index
        seen.append((first, y.size))
    assert inp.counters.gap_samples >= 0 and inp.counters.duplicate_samples >= 0
    push.close()
    inp.close()
