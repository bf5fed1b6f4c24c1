"""Over-the-air message types and their payloads, carried in the modem's frame header.

Every 40 ms radio frame carries ``type`` (4 bits), ``seq`` (12 bits), ``call_id`` (16 bits) and a
fixed-size payload. Signalling frames put a small struct at the start of the payload; voice
frames carry one vocoder frame and use ``seq`` as the voice frame number (mod 4096) so the
playout buffer can order, de-duplicate and detect losses.
"""

import struct
from dataclasses import dataclass
from enum import IntEnum

SEQ_MOD = 4096


class MsgType(IntEnum):
    IDLE = 0  # downlink filler (the downlink carrier never stops)
    BEACON = 1  # system information
    ACCESS = 2  # handset registers in the serving beam
    ACCESS_ACK = 3
    SETUP = 4  # call request (either direction)
    CONNECT = 5  # call answered
    RELEASE = 6  # hang up, with a cause
    RELEASE_ACK = 7
    VOICE = 8  # one vocoder frame
    TIMING_ADVANCE = 9  # uplink timing correction for the handset (like a MAC timing-advance command)


class Cause(IntEnum):
    """Release causes (numbers after Q.850 where one fits)."""

    NORMAL = 16
    NO_ANSWER = 19
    ACCESS_FAILURE = 38  # the uplink never got through
    RADIO_LINK_FAILURE = 41  # supervision timer expired during the call
    PEER_RELEASED = 31


@dataclass(frozen=True)
class SystemInfo:
    """Beacon contents: which satellite and beam, the frame number, the network time and the common
    timing advance ``common_ta_ns`` (where the uplink receive window sits behind the downlink frame
    clock, as a 3GPP NTN SIB19 broadcasts it: only a satellite-aware phone uses it)."""

    sat_id: int
    beam_id: int
    frame_number: int
    utc_ms: int
    common_ta_ns: int = 0

    _FMT = struct.Struct("<HHIQi")

    def pack(self) -> bytes:
        return self._FMT.pack(self.sat_id, self.beam_id, self.frame_number & 0xFFFFFFFF, self.utc_ms,
                              self.common_ta_ns)

    @classmethod
    def unpack(cls, payload: bytes) -> "SystemInfo":
        return cls(*cls._FMT.unpack_from(payload))


_CAUSE = struct.Struct("<B")


def pack_cause(cause: Cause) -> bytes:
    return _CAUSE.pack(int(cause))


def unpack_cause(payload: bytes) -> Cause:
    value = _CAUSE.unpack_from(payload)[0]
    return Cause(value) if value in Cause._value2member_map_ else Cause.NORMAL


_TA = struct.Struct("<i")


def pack_ta(ta_s: float) -> bytes:
    """A timing-advance change (seconds, + = transmit earlier) in whole nanoseconds."""
    return _TA.pack(int(round(ta_s * 1e9)))


def unpack_ta(payload: bytes | None) -> float:
    """The timing-advance change of an ACCESS_ACK / TIMING_ADVANCE payload (0 when it carries none)."""
    return _TA.unpack_from(payload)[0] * 1e-9 if payload and len(payload) >= _TA.size else 0.0
