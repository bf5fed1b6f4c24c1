"""IQ stream message format (version 1): one header frame + one complex64 payload frame.

Every message of a skycall IQ stream is a two-frame ZeroMQ multipart message::

    frame 0: header, 36 bytes, little-endian, struct "<4sBBHIQdd"
        magic            4 s   b"SKIQ"
        version          u8    1
        flags            u8    bit 0 END (last message of the stream), bit 1 RESTART (first after a start)
        stream_id        u16   which stream (free for the sender; the runner uses 0)
        n_samples        u32   payload length in complex samples
        first_index      u64   absolute sample index of the payload's first sample
        sample_rate_sps  f64   sample rate, finite, 0 < fs <= 1e10
        centre_freq_hz   f64   centre frequency, finite, 0 <= fc <= 1e12
    frame 1: payload, n_samples × complex64 (interleaved float32 I, Q; little-endian)

``pack(header, samples)`` returns ``[header_bytes, payload_view]`` without copying the samples;
``unpack(frames)`` returns ``(StreamHeader, samples)`` where ``samples`` is a read-only
``np.frombuffer`` view of the payload frame (no copy), or raises :class:`MalformedMessage`
whose ``kind`` is one of :data:`MALFORMED_KINDS`. The byte table lives in ``docs/stream_protocol.md``.
"""

import struct
from typing import NamedTuple

import numpy as np

from skycall.errors import SkycallError

MAGIC = b"SKIQ"
VERSION = 1
HEADER = struct.Struct("<4sBBHIQdd")
HEADER_SIZE = HEADER.size  # 36 bytes
FLAG_END = 0x01
FLAG_RESTART = 0x02
MAX_SAMPLE_RATE_SPS = 1e10
MAX_CENTRE_FREQ_HZ = 1e12
#: every ``MalformedMessage.kind``: wrong frame count, bad magic, unsupported version,
#: truncated/oversized header, payload length wrong, invalid sample rate, invalid centre frequency
MALFORMED_KINDS = ("frames", "magic", "version", "header", "payload", "rate", "freq")


class MalformedMessage(SkycallError):
    """A received message is not a valid stream message; ``kind`` names the check that failed."""

    def __init__(self, kind: str, detail: str):
        self.kind, self.detail = kind, detail
        super().__init__(f"malformed stream message ({kind}): {detail}")


class StreamHeader(NamedTuple):
    """Header of one stream message (see the module docstring for the wire layout).

    A NamedTuple: built once per received message, so construction must cost well under 1 µs.
    """

    first_index: int
    sample_rate_sps: float
    centre_freq_hz: float
    stream_id: int = 0
    flags: int = 0
    n_samples: int = 0
    version: int = VERSION


def pack(header: StreamHeader, samples: np.ndarray) -> list:
    """Return ``[header_bytes, payload]`` for ``send_multipart``; the payload is not copied.

    ``samples`` must be 1-D complex64; ``header.n_samples`` is replaced by ``len(samples)``.
    """
    if samples.dtype != np.complex64 or samples.ndim != 1:
        raise ValueError(f"stream payload must be 1-D complex64, got {samples.dtype} {samples.shape}")
    head = HEADER.pack(
        MAGIC,
        VERSION,
        header.flags & 0xFF,
        header.stream_id & 0xFFFF,
        samples.size,
        header.first_index,
        header.sample_rate_sps,
        header.centre_freq_hz,
    )
    return [head, np.ascontiguousarray(samples)]


def unpack_header(head) -> StreamHeader:
    """Parse and check a header frame (any buffer); raise :class:`MalformedMessage`."""
    if len(head) != HEADER_SIZE:
        if len(head) >= 4 and bytes(head[:4]) != MAGIC:
            raise MalformedMessage("magic", f"expected {MAGIC!r}, got {bytes(head[:4])!r}")
        raise MalformedMessage("header", f"header is {len(head)} bytes, expected {HEADER_SIZE}")
    magic, version, flags, stream_id, n_samples, first_index, rate, freq = HEADER.unpack(head)
    if magic != MAGIC:
        raise MalformedMessage("magic", f"expected {MAGIC!r}, got {magic!r}")
    if version != VERSION:
        raise MalformedMessage("version", f"version {version} is not supported (this build speaks {VERSION})")
    if not 0.0 < rate <= MAX_SAMPLE_RATE_SPS:  # also false for NaN
        raise MalformedMessage("rate", f"sample rate {rate!r} S/s is not in (0, {MAX_SAMPLE_RATE_SPS:g}]")
    if not 0.0 <= freq <= MAX_CENTRE_FREQ_HZ:
        raise MalformedMessage("freq", f"centre frequency {freq!r} Hz is not in [0, {MAX_CENTRE_FREQ_HZ:g}]")
    return StreamHeader(first_index, rate, freq, stream_id, flags, n_samples, version)


def check_payload(header: StreamHeader, n_bytes: int) -> None:
    """Raise :class:`MalformedMessage` (kind ``payload``) unless the payload is ``8·n_samples`` bytes."""
    if n_bytes != 8 * header.n_samples:
        raise MalformedMessage(
            "payload", f"payload is {n_bytes} bytes, header announces {header.n_samples} complex64 samples"
        )


def unpack(frames) -> tuple[StreamHeader, np.ndarray]:
    """Parse a two-frame message into ``(header, samples)``; raise :class:`MalformedMessage`.

    Frames may be ``bytes``, ``zmq.Frame`` or any buffer; the payload is not copied.
    """
    if len(frames) != 2:
        raise MalformedMessage("frames", f"expected 2 frames (header, payload), got {len(frames)}")
    header = unpack_header(memoryview(getattr(frames[0], "buffer", frames[0])).cast("B"))
    payload = memoryview(getattr(frames[1], "buffer", frames[1]))
    check_payload(header, payload.nbytes)
    return header, np.frombuffer(payload, dtype=np.complex64)


__all__ = [
    "MAGIC",
    "VERSION",
    "HEADER_SIZE",
    "FLAG_END",
    "FLAG_RESTART",
    "MALFORMED_KINDS",
    "MalformedMessage",
    "StreamHeader",
    "pack",
    "unpack",
    "unpack_header",
    "check_payload",
]
