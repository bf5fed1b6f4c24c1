"""Vocoders (Opus, Codec2) carried in 40 ms radio frames, speech material and the playout buffer."""

from skycall.vocoder.base import (
    DEFAULT_VOCODER,
    VOCODER_NAMES,
    Vocoder,
    VocoderError,
    decode_stream,
    encode_stream,
    get_vocoder,
)

__all__ = [
    "DEFAULT_VOCODER",
    "VOCODER_NAMES",
    "Vocoder",
    "VocoderError",
    "decode_stream",
    "encode_stream",
    "get_vocoder",
]
