"""Stream message format (version 2, one frame): round trip, every malformed kind, fuzzing (never a crash)."""

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skycall.transport.protocol import (
    HEADER_SIZE,
    MAGIC,
    MALFORMED_KINDS,
    MAX_SAMPLES,
    MalformedMessage,
    StreamHeader,
    pack,
    pack_into,
    unpack,
)


def _frame(samples, **kw):
    header = StreamHeader(kw.pop("first_index", 7), kw.pop("rate", 240e3), kw.pop("freq", 1545e6), **kw)
    return pack(header, samples)


def test_message_layout_matches_the_documented_byte_table():
    """Independent decode with the byte offsets of docs/stream_protocol.md: header, then the samples."""
    x = np.arange(3, dtype=np.float32).astype(np.complex64) * (1 - 2j)
    msg = pack(StreamHeader(2**40 + 5, 960e3, 1646.5e6, stream_id=513, flags=2), x)
    assert HEADER_SIZE == 36 and len(msg) == 36 + 8 * 3
    assert msg[0:4] == b"SKIQ" and msg[4] == 2 and msg[5] == 2
    assert int.from_bytes(msg[6:8], "little") == 513
    assert int.from_bytes(msg[8:12], "little") == 3
    assert int.from_bytes(msg[12:20], "little") == 2**40 + 5
    assert struct.unpack("<d", msg[20:28])[0] == 960e3
    assert struct.unpack("<d", msg[28:36])[0] == 1646.5e6
    assert struct.unpack("<6f", msg[36:]) == (0.0, -0.0, 1.0, -2.0, 2.0, -4.0)  # interleaved I, Q


def test_round_trip_is_bit_exact_and_zero_copy(rng):
    x = (rng.standard_normal(100) + 1j * rng.standard_normal(100)).astype(np.complex64)
    msg = _frame(x, first_index=123, stream_id=4)
    header, y = unpack(msg)
    assert header.first_index == 123 and header.stream_id == 4 and header.n_samples == 100
    assert header.sample_rate_sps == 240e3 and header.centre_freq_hz == 1545e6
    assert np.array_equal(x.view(np.uint64), y.view(np.uint64))
    assert np.shares_memory(y, np.frombuffer(msg, np.uint8))  # a view of the received frame
    buf = bytearray(HEADER_SIZE + 8 * 200)  # pack_into a larger reusable buffer: the same bytes
    assert bytes(pack_into(buf, StreamHeader(123, 240e3, 1545e6, stream_id=4), x)) == msg
    header, y = unpack(_frame(np.zeros(0, np.complex64)))
    assert header.n_samples == 0 and y.size == 0


def test_a_header_announcing_more_than_the_frame_holds_is_refused_without_allocating():
    msg = bytearray(_frame(np.ones(1, np.complex64)))
    msg[8:12] = (2**32 - 1).to_bytes(4, "little")  # 32 GiB announced, 8 bytes sent
    with pytest.raises(MalformedMessage) as err:
        unpack(bytes(msg))
    assert err.value.kind == "payload"
    with pytest.raises(ValueError, match="at most"):
        pack(StreamHeader(0, 1.0, 0.0), np.zeros(MAX_SAMPLES + 1, np.complex64))


def _with(msg: bytes, offset: int, raw: bytes) -> bytes:
    return msg[:offset] + raw + msg[offset + len(raw) :]


@pytest.mark.parametrize(
    ("kind", "mutate"),
    [
        ("magic", lambda m: b"XXXX" + m[4:]),
        ("magic", lambda m: b"XXXX" + m[4:20]),
        ("version", lambda m: _with(m, 4, b"\x01")),  # a version-1 header is refused, not misread
        ("version", lambda m: _with(m, 4, b"\x09")),
        ("header", lambda m: m[:20]),
        ("header", lambda m: m[:2]),
        ("payload", lambda m: m[:-3]),
        ("payload", lambda m: m[:-8]),
        ("payload", lambda m: m + bytes(8)),
        ("rate", lambda m: _with(m, 20, struct.pack("<d", float("nan")))),
        ("rate", lambda m: _with(m, 20, struct.pack("<d", -1.0))),
        ("rate", lambda m: _with(m, 20, struct.pack("<d", 1e300))),
        ("freq", lambda m: _with(m, 28, struct.pack("<d", float("inf")))),
    ],
)
def test_each_malformed_kind_is_named(kind, mutate):
    msg = _frame(np.ones(4, np.complex64))
    with pytest.raises(MalformedMessage) as err:
        unpack(mutate(msg))
    assert err.value.kind == kind and kind in MALFORMED_KINDS
    assert kind in str(err.value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_fuzzed_frames_either_parse_or_raise_malformed(frame):
    try:
        header, samples = unpack(frame)
    except MalformedMessage as err:
        assert err.kind in MALFORMED_KINDS
    else:
        assert samples.size == header.n_samples and len(frame) == HEADER_SIZE + 8 * header.n_samples


@settings(max_examples=300, deadline=None)
@given(st.integers(0, HEADER_SIZE - 1), st.integers(0, 255), st.integers(0, 3))
def test_fuzzed_single_byte_corruption_of_a_valid_header(pos, value, trim):
    msg = _frame(np.ones(2, np.complex64))
    msg = msg[:pos] + bytes([value]) + msg[pos + 1 : len(msg) - trim]
    try:
        header, samples = unpack(msg)
    except MalformedMessage as err:
        assert err.kind in MALFORMED_KINDS
    else:
        assert msg[:4] == MAGIC and samples.size == header.n_samples == 2
