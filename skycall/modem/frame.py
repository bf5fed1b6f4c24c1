"""Frame contents <-> coded QPSK symbols (header, payload, CRC-16, K=7 code, interleaver, scrambler).

Bit pipeline (transmit): bytes = header(4) | payload(payload_bytes) | CRC-16(2), MSB first, + 6 zero
tail bits -> conv_encode -> interleave -> XOR scrambler -> Gray QPSK. Receive is the exact inverse on
soft values (> 0 favours bit 0): descramble flips signs, deinterleave, Viterbi, CRC check.
"""

from dataclasses import dataclass

import numpy as np

from skycall.errors import SkycallError
from skycall.modem.fec import ViterbiDecoder, conv_encode, crc16
from skycall.modem.waveform import TAIL_BITS, WaveformConfig, qpsk_map

__all__ = ["Frame", "FrameCodec", "FrameError"]


class FrameError(SkycallError, ValueError):
    """A frame field is out of range; the message names the field and its allowed range."""


@dataclass(frozen=True)
class Frame:
    """One 40 ms frame: ``type`` (4 bits), ``seq`` (12 bits), ``call_id`` (16 bits), ``payload`` bytes."""

    type: int
    seq: int
    call_id: int
    payload: bytes = b""

    def __post_init__(self):
        for name, value, bits in (("type", self.type, 4), ("seq", self.seq, 12), ("call_id", self.call_id, 16)):
            if not 0 <= int(value) < (1 << bits):
                raise FrameError(f"Frame.{name} must be in 0..{(1 << bits) - 1}, got {value}")


class FrameCodec:
    """Encode :class:`Frame` objects to coded symbols and decode soft values back (one waveform)."""

    def __init__(self, waveform: WaveformConfig):
        self.waveform = waveform
        self._decoder = ViterbiDecoder(waveform.info_bits + TAIL_BITS)
        self._flip = (1.0 - 2.0 * waveform.scrambler.astype(np.float32)).astype(np.float32)

    def info_bytes(self, frame: Frame) -> bytes:
        """header | payload (zero-padded to payload_bytes) | CRC-16, as transmitted before coding."""
        n = self.waveform.payload_bytes
        payload = bytes(frame.payload)
        if len(payload) > n:
            raise FrameError(f"Frame.payload has {len(payload)} bytes; this waveform carries at most {n}")
        body = (
            ((int(frame.type) << 28) | (int(frame.seq) << 16) | int(frame.call_id)).to_bytes(4, "big")
            + payload
            + bytes(n - len(payload))
        )
        return body + crc16(body).to_bytes(2, "big")

    def coded_bits(self, frame: Frame) -> np.ndarray:
        """Encoder output before interleaving, uint8 (coded_bits,)."""
        return conv_encode(np.concatenate([self.info_bits(frame), np.zeros(TAIL_BITS, dtype=np.uint8)]))

    def symbols(self, frame: Frame) -> np.ndarray:
        """All symbols of the frame: unique word then coded block, complex64 (symbols_per_frame,)."""
        wf = self.waveform
        tx_bits = self.coded_bits(frame)[wf.interleaver] ^ wf.scrambler
        return np.concatenate([wf.uw, qpsk_map(tx_bits)])

    def soft_coded(self, data_symbols: np.ndarray) -> np.ndarray:
        """Soft values of the coded bits in encoder order (> 0 favours 0), float32 (coded_bits,)."""
        z = np.asarray(data_symbols, dtype=np.complex64)
        soft = np.empty(2 * z.size, dtype=np.float32)
        soft[0::2] = z.real
        soft[1::2] = z.imag
        out = np.empty_like(soft)
        out[self.waveform.interleaver] = soft * self._flip
        return out

    def info_bits(self, frame: Frame) -> np.ndarray:
        """The frame's information bits (header | payload | CRC), uint8 0/1 (info_bits,)."""
        return np.unpackbits(np.frombuffer(self.info_bytes(frame), dtype=np.uint8))

    def decode_bits(self, soft_coded: np.ndarray) -> np.ndarray:
        """Viterbi-decoded information bits (tail dropped), uint8 0/1 (info_bits,)."""
        return self._decoder.decode(soft_coded)[: self.waveform.info_bits]

    def decode(self, soft_coded: np.ndarray) -> tuple[int, int, int, bytes | None, bool]:
        """Viterbi-decode coded soft values -> (type, seq, call_id, payload or None, crc_ok)."""
        bits = self.decode_bits(soft_coded)
        data = np.packbits(bits).tobytes()
        body, crc = data[:-2], int.from_bytes(data[-2:], "big")
        ok = crc16(body) == crc
        header = int.from_bytes(body[:4], "big")
        return header >> 28, (header >> 16) & 0xFFF, header & 0xFFFF, (body[4:] if ok else None), ok
