"""Stream message format: round trip, every malformed kind, and fuzzing (never a crash)."""

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skycall.transport.protocol import (
    HEADER_SIZE,
    MAGIC,
    MALFORMED_KINDS,
    MalformedMessage,
    StreamHeader,
    pack,
    unpack,
)


def _frames(samples, **kw):
    header = StreamHeader(kw.pop("first_index", 7), kw.pop("rate", 240e3), kw.pop("freq", 1545e6), **kw)
    head, payload = pack(header, samples)
    return [head, bytes(memoryview(payload).cast("B"))]


def test_header_layout_matches_the_documented_byte_table():
    """Independent decode with the byte offsets of docs/stream_protocol.md."""
    x = np.arange(3, dtype=np.float32).astype(np.complex64)
    head, _ = pack(StreamHeader(2**40 + 5, 960e3, 1646.5e6, stream_id=513, flags=2), x)
    assert len(head) == HEADER_SIZE == 36
    assert head[0:4] == b"SKIQ" and head[4] == 1 and head[5] == 2
    assert int.from_bytes(head[6:8], "little") == 513
    assert int.from_bytes(head[8:12], "little") == 3
    assert int.from_bytes(head[12:20], "little") == 2**40 + 5
    assert struct.unpack("<d", head[20:28])[0] == 960e3
    assert struct.unpack("<d", head[28:36])[0] == 1646.5e6


def test_round_trip_is_bit_exact_and_zero_copy(rng):
    x = (rng.standard_normal(100) + 1j * rng.standard_normal(100)).astype(np.complex64)
    frames = _frames(x, first_index=123, stream_id=4)
    header, y = unpack(frames)
    assert header.first_index == 123 and header.stream_id == 4 and header.n_samples == 100
    assert header.sample_rate_sps == 240e3 and header.centre_freq_hz == 1545e6
    assert np.array_equal(x.view(np.uint64), y.view(np.uint64))
    assert not y.flags.owndata  # a view of the received frame
    assert pack(StreamHeader(0, 1.0, 0.0), x)[1] is x or np.shares_memory(
        pack(StreamHeader(0, 1.0, 0.0), x)[1], x
    )


@pytest.mark.parametrize(
    ("kind", "mutate"),
    [
        ("frames", lambda f: f[:1]),
        ("frames", lambda f: f + [b""]),
        ("magic", lambda f: [b"XXXX" + f[0][4:], f[1]]),
        ("version", lambda f: [f[0][:4] + b"\x09" + f[0][5:], f[1]]),
        ("header", lambda f: [f[0][:20], f[1]]),
        ("header", lambda f: [f[0][:2], f[1]]),
        ("payload", lambda f: [f[0], f[1][:-3]]),
        ("payload", lambda f: [f[0], f[1][:-8]]),
        ("rate", lambda f: [f[0][:20] + struct.pack("<d", float("nan")) + f[0][28:], f[1]]),
        ("rate", lambda f: [f[0][:20] + struct.pack("<d", -1.0) + f[0][28:], f[1]]),
        ("rate", lambda f: [f[0][:20] + struct.pack("<d", 1e300) + f[0][28:], f[1]]),
        ("freq", lambda f: [f[0][:28] + struct.pack("<d", float("inf")), f[1]]),
    ],
)
def test_each_malformed_kind_is_named(kind, mutate):
    frames = _frames(np.ones(4, np.complex64))
    with pytest.raises(MalformedMessage) as err:
        unpack(mutate(frames))
    assert err.value.kind == kind and kind in MALFORMED_KINDS
    assert kind in str(err.value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), min_size=0, max_size=4))
def test_fuzzed_frames_either_parse_or_raise_malformed(frames):
    try:
        header, samples = unpack(frames)
    except MalformedMessage as err:
        assert err.kind in MALFORMED_KINDS
    else:
        assert samples.size == header.n_samples


@settings(max_examples=300, deadline=None)
@given(st.integers(0, HEADER_SIZE - 1), st.integers(0, 255), st.integers(0, 3))
def test_fuzzed_single_byte_corruption_of_a_valid_header(pos, value, trim):
    head, payload = _frames(np.ones(2, np.complex64))
    head = head[:pos] + bytes([value]) + head[pos + 1 :]
    try:
        header, samples = unpack([head, payload[: len(payload) - trim]])
    except MalformedMessage as err:
        assert err.kind in MALFORMED_KINDS
    else:
        assert head[:4] == MAGIC and samples.size == header.n_samples == 2
