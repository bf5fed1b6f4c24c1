"""Opus narrowband CBR vocoder (RFC 6716) in 40 ms frames, with the decoder's own loss concealment.

Payload size is ``bitrate_bps * frame_s / 8`` bytes (40 bytes at 8 kbit/s). In CBR mode libopus
emits exactly that many bytes (padding internally, RFC 6716 §3.2.5), so every payload is a valid
Opus packet of exactly ``payload_bytes`` bytes and needs no length prefix; the size is checked.
"""

import ctypes
import ctypes.util

import numpy as np

from skycall.errors import MissingDependency
from skycall.vocoder.base import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE_HZ, VocoderError, frame_to_float

_INSTALL_HINT = "install it with `apt-get install libopus0` and `pip install opuslib==3.0.1`"

try:
    import opuslib
except Exception as exc:  # opuslib raises a bare Exception when libopus is missing
    raise MissingDependency(f"the Opus vocoder needs libopus and opuslib ({exc}); {_INSTALL_HINT}") from exc


def _load_libopus() -> ctypes.CDLL:
    """A private libopus handle (own prototypes, so opuslib's are left untouched)."""
    lib = ctypes.CDLL(ctypes.util.find_library("opus"))
    f32p = ctypes.POINTER(ctypes.c_float)
    u8p = ctypes.POINTER(ctypes.c_ubyte)
    lib.opus_encode_float.argtypes = (ctypes.c_void_p, f32p, ctypes.c_int, u8p, ctypes.c_int32)
    lib.opus_encode_float.restype = ctypes.c_int32
    lib.opus_decode_float.argtypes = (ctypes.c_void_p, u8p, ctypes.c_int32, f32p, ctypes.c_int, ctypes.c_int)
    lib.opus_decode_float.restype = ctypes.c_int
    return lib


_LIB = _load_libopus()


class OpusVocoder:
    """Opus, narrowband (4 kHz audio bandwidth), CBR, VOIP application, mono, 8000 Hz, 40 ms frames.

    Parameters
    ----------
    bitrate_bps : int
        Constant bit rate; ``payload_bytes = bitrate_bps * 0.04 / 8`` must be an integer.
    complexity : int
        Encoder complexity 0..10.
    """

    name = "opus"
    sample_rate_hz = SAMPLE_RATE_HZ
    frame_s = FRAME_S
    frame_samples = FRAME_SAMPLES

    def __init__(self, bitrate_bps: int = 8000, complexity: int = 10):
        bps_per_payload_byte = round(8 / FRAME_S)  # 200: payload_bytes = bitrate_bps / 200
        if not 6000 <= bitrate_bps <= 64000 or bitrate_bps % bps_per_payload_byte:
            raise VocoderError(
                f"Opus bitrate_bps={bitrate_bps} must be 6000..64000 and a multiple of 200 bit/s "
                "(a whole number of bytes per 40 ms frame)"
            )
        if not 0 <= complexity <= 10:
            raise VocoderError(f"Opus complexity={complexity} must be 0..10")
        self.bitrate_bps = int(bitrate_bps)
        self.complexity = int(complexity)
        self.payload_bytes = self.bitrate_bps // bps_per_payload_byte
        self._encoder = opuslib.Encoder(SAMPLE_RATE_HZ, 1, opuslib.APPLICATION_VOIP)
        self._decoder = opuslib.Decoder(SAMPLE_RATE_HZ, 1)
        self._configure_encoder()
        self._pcm_in = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        self._pcm_out = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        self._packet = (ctypes.c_ubyte * self.payload_bytes)()
        self.undecodable_frames = 0

    def _configure_encoder(self) -> None:
        enc = self._encoder
        enc.bitrate = self.bitrate_bps
        enc.vbr = 0
        enc.max_bandwidth = opuslib.BANDWIDTH_NARROWBAND
        enc.bandwidth = opuslib.BANDWIDTH_NARROWBAND
        enc.signal = opuslib.SIGNAL_VOICE
        enc.complexity = self.complexity

    @property
    def lookahead_samples(self) -> int:
        """Encoder lookahead = algorithmic delay of encode+decode, in samples (52 = 6.5 ms at 8 kHz)."""
        return int(self._encoder.lookahead)

    def encode(self, pcm: np.ndarray) -> bytes:
        """Encode 320 samples (int16 or float) into exactly ``payload_bytes`` bytes."""
        self._pcm_in[:] = frame_to_float(pcm, FRAME_SAMPLES)
        n = _LIB.opus_encode_float(
            self._encoder.encoder_state,
            self._pcm_in.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
            FRAME_SAMPLES,
            self._packet,
            self.payload_bytes,
        )
        if n != self.payload_bytes:
            got = opuslib.OpusError(n) if n < 0 else f"{n} bytes"
            raise VocoderError(f"Opus CBR encoder returned {got} instead of {self.payload_bytes} bytes")
        return bytes(self._packet)

    def decode(self, payload: bytes) -> np.ndarray:
        """Decode one ``payload_bytes`` Opus packet into 320 float32 samples.

        A packet that does not decode to exactly 40 ms (corrupted beyond what the framer's CRC
        caught) is concealed instead and counted in ``undecodable_frames``.
        """
        if len(payload) != self.payload_bytes:
            raise VocoderError(f"an Opus payload must be {self.payload_bytes} bytes, got {len(payload)}")
        buf = (ctypes.c_ubyte * len(payload)).from_buffer_copy(payload)
        if self._decode(buf, len(payload)) != FRAME_SAMPLES:
            self.undecodable_frames += 1
            return self.conceal()
        return self._pcm_out.copy()

    def conceal(self) -> np.ndarray:
        """Opus packet-loss concealment: decode a lost packet (NULL data) for one 40 ms frame."""
        n = self._decode(None, 0)
        if n != FRAME_SAMPLES:
            raise VocoderError(f"Opus concealment returned {opuslib.OpusError(n) if n < 0 else n} samples")
        return self._pcm_out.copy()

    def _decode(self, buf, n_bytes: int) -> int:
        """Run opus_decode_float into ``_pcm_out``; return the sample count or a negative error code."""
        return _LIB.opus_decode_float(
            self._decoder.decoder_state,
            buf,
            n_bytes,
            self._pcm_out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
            FRAME_SAMPLES,
            0,
        )

    def reset(self) -> None:
        """Reset encoder and decoder state and the ``undecodable_frames`` count (settings are kept)."""
        self._encoder.reset_state()
        self._decoder.reset_state()
        self.undecodable_frames = 0
