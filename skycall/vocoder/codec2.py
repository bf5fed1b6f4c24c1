"""Codec2 3200 bit/s vocoder: two 20 ms Codec2 frames (8 bytes each) per 40 ms, 16-byte payloads.

Loss concealment is repeat-and-fade: the last received 20 ms parameter set is decoded again
(Codec2 is a parametric sinusoidal coder, so a repeated frame continues the voice smoothly) with a
gain that falls linearly within each concealed 40 ms frame from ``fade**(k-1)`` to ``fade**k``
for the ``k``-th consecutive erasure; after the gain drops below 1e-3 the output is silence.
"""

import numpy as np

from skycall.errors import MissingDependency
from skycall.vocoder.base import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE_HZ, VocoderError, frame_to_float

try:
    import pycodec2
except ImportError as exc:
    raise MissingDependency(
        f"the Codec2 vocoder needs pycodec2 ({exc}); install it with `pip install pycodec2==4.1.1`"
    ) from exc

_MODE_BPS = 3200
_SILENT_GAIN = 1e-3


class Codec2Vocoder:
    """Codec2 3200, 8000 Hz, 40 ms frames made of two 20 ms Codec2 frames.

    Parameters
    ----------
    fade : float
        Gain factor per concealed 40 ms frame, in (0, 1): 0.5 is -6 dB per frame.
    """

    name = "codec2"
    sample_rate_hz = SAMPLE_RATE_HZ
    frame_s = FRAME_S
    frame_samples = FRAME_SAMPLES

    def __init__(self, fade: float = 0.5):
        if not 0.0 < fade < 1.0:
            raise VocoderError(f"Codec2 fade={fade} must be in (0, 1)")
        self.fade = float(fade)
        self.reset()
        self._sub_samples = self._enc.samples_per_frame()
        self._sub_bytes = self._enc.bytes_per_frame()
        if 2 * self._sub_samples != FRAME_SAMPLES:
            raise VocoderError(f"Codec2 {_MODE_BPS} frame is {self._sub_samples} samples, expected 160")
        self.payload_bytes = 2 * self._sub_bytes
        self._pcm16 = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        self._ramp = np.arange(1, FRAME_SAMPLES + 1, dtype=np.float32) / np.float32(FRAME_SAMPLES)

    def encode(self, pcm: np.ndarray) -> bytes:
        """Encode 320 samples (int16 or float) into 16 bytes (two Codec2 3200 frames)."""
        x = frame_to_float(pcm, FRAME_SAMPLES)
        self._pcm16[:] = np.clip(np.rint(x * np.float32(32768.0)), -32768, 32767)
        n = self._sub_samples
        # pycodec2 encodes only the first frame of its input, so call it once per 20 ms frame.
        return self._enc.encode(self._pcm16[:n]) + self._enc.encode(self._pcm16[n:])

    def decode(self, payload: bytes) -> np.ndarray:
        """Decode 16 bytes into 320 float32 samples."""
        if len(payload) != self.payload_bytes:
            raise VocoderError(f"a Codec2 payload must be {self.payload_bytes} bytes, got {len(payload)}")
        b = self._sub_bytes
        self._last_bits = payload[b:]
        self._erasures = 0
        return self._decode_pair(payload[:b], payload[b:])

    def conceal(self) -> np.ndarray:
        """Repeat the last received 20 ms frame twice, faded; silence if nothing was received yet."""
        self._erasures += 1
        gain_end = self.fade**self._erasures
        gain_start = gain_end / self.fade
        if self._last_bits is None or gain_start < _SILENT_GAIN:
            return np.zeros(FRAME_SAMPLES, dtype=np.float32)
        out = self._decode_pair(self._last_bits, self._last_bits)
        out *= gain_start + (gain_end - gain_start) * self._ramp
        return out

    def _decode_pair(self, first: bytes, second: bytes) -> np.ndarray:
        pcm = np.concatenate((self._dec.decode(first), self._dec.decode(second)))
        return pcm.astype(np.float32) / np.float32(32768.0)

    def reset(self) -> None:
        """Fresh encoder and decoder state; forget the concealment history."""
        self._enc = pycodec2.Codec2(_MODE_BPS)
        self._dec = pycodec2.Codec2(_MODE_BPS)
        self._last_bits: bytes | None = None
        self._erasures = 0
