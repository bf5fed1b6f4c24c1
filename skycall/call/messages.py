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


class Cause(IntEnum):
    """Release causes (numbers after Q.850 where one fits)."""

    NORMAL = 16
    NO_ANSWER = 19
    ACCESS_FAILURE = 38  # the uplink never got through
    RADIO_LINK_FAILURE = 41  # supervision timer expired during the call
    PEER_RELEASED = 31


@dataclass(frozen=True)
class SystemInfo:
    """Beacon contents: which satellite and beam, the frame number and the network time."""

    sat_id: int
    beam_id: int
    frame_number: int
    utc_ms: int

    _FMT = struct.Struct("<HHIQ")

    def pack(self) -> bytes:
        return self._FMT.pack(self.sat_id, self.beam_id, self.frame_number & 0xFFFFFFFF, self.utc_ms)

    @classmethod
    def unpack(cls, payload: bytes) -> "SystemInfo":
        return cls(*cls._FMT.unpack_from(payload))


_CAUSE = struct.Struct("<B")


def pack_cause(cause: Cause) -> bytes:
    return _CAUSE.pack(int(cause))


def unpack_cause(payload: bytes) -> Cause:
    value = _CAUSE.unpack_from(payload)[0]
    return Cause(value) if value in Cause._value2member_map_ else Cause.NORMAL
