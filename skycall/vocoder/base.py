"""The vocoder interface: fixed-size payloads, one per 40 ms radio frame, with loss concealment.

Every vocoder works at ``sample_rate_hz`` = 8000 Hz on frames of ``frame_s`` = 0.04 s
(``frame_samples`` = 320), the length of one radio frame, and produces exactly ``payload_bytes``
bytes per frame so the framer can carry it in a fixed slot. PCM in is int16 (full scale 32768) or
float (full scale 1.0); PCM out is float32 with full scale 1.0.
"""

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

import numpy as np

from skycall.errors import SkycallError

SAMPLE_RATE_HZ = 8000
FRAME_S = 0.04
FRAME_SAMPLES = round(SAMPLE_RATE_HZ * FRAME_S)

VOCODER_NAMES = ("opus", "codec2")
DEFAULT_VOCODER = "opus"


class VocoderError(SkycallError):
    """A vocoder was given a frame or payload it cannot handle."""


@runtime_checkable
class Vocoder(Protocol):
    """One speech codec carrying ``frame_s`` of audio in exactly ``payload_bytes`` bytes."""

    name: str
    sample_rate_hz: int
    frame_s: float
    frame_samples: int
    payload_bytes: int

    def encode(self, pcm: np.ndarray) -> bytes:
        """Encode one frame (``frame_samples`` int16 or float samples) into ``payload_bytes`` bytes."""
        ...

    def decode(self, payload: bytes) -> np.ndarray:
        """Decode one payload into ``frame_samples`` float32 samples."""
        ...

    def conceal(self) -> np.ndarray:
        """Return ``frame_samples`` float32 samples that stand in for an erased frame."""
        ...

    def reset(self) -> None:
        """Return encoder and decoder to their freshly created state."""
        ...


def get_vocoder(name: str = DEFAULT_VOCODER) -> Vocoder:
    """Create a vocoder by name.

    ``"opus"``: Opus 8 kbit/s narrowband CBR, VOIP application, 40 ms frames, 40-byte payloads.
    ``"codec2"``: Codec2 3200 bit/s, two 20 ms frames per 40 ms payload, 16-byte payloads.

    Raises
    ------
    VocoderError
        ``name`` is not one of :data:`VOCODER_NAMES`.
    skycall.errors.MissingDependency
        The codec library is not installed (the message names the package).
    """
    if name == "opus":
        from skycall.vocoder.opus import OpusVocoder

        return OpusVocoder()
    if name == "codec2":
        from skycall.vocoder.codec2 import Codec2Vocoder

        return Codec2Vocoder()
    raise VocoderError(f"unknown vocoder {name!r}: choose one of {', '.join(VOCODER_NAMES)}")


def frame_to_float(pcm: np.ndarray, frame_samples: int) -> np.ndarray:
    """Validate one PCM frame and return it as float32 with full scale 1.0 (int16 is divided by 32768)."""
    pcm = np.asarray(pcm)
    if pcm.shape != (frame_samples,):
        raise VocoderError(f"a vocoder frame must be {frame_samples} mono samples, got shape {pcm.shape}")
    if pcm.dtype == np.int16:
        return pcm.astype(np.float32) / np.float32(32768.0)
    if not np.issubdtype(pcm.dtype, np.floating):
        raise VocoderError(f"PCM must be int16 or float, got dtype {pcm.dtype}")
    if not np.all(np.isfinite(pcm)):
        raise VocoderError("PCM frame contains NaN or infinity")
    return pcm.astype(np.float32, copy=False)


def encode_stream(vocoder: Vocoder, pcm: np.ndarray) -> list[bytes]:
    """Encode a whole 1-D signal frame by frame; the last partial frame is zero-padded.

    Returns ``ceil(len(pcm) / frame_samples)`` payloads of ``payload_bytes`` bytes each.
    """
    pcm = np.asarray(pcm)
    if pcm.ndim != 1:
        raise VocoderError(f"encode_stream takes a 1-D mono signal, got shape {pcm.shape}")
    n = vocoder.frame_samples
    n_frames = -(-pcm.size // n)
    padded = np.zeros(n_frames * n, dtype=pcm.dtype)
    padded[: pcm.size] = pcm
    return [vocoder.encode(frame) for frame in padded.reshape(n_frames, n)]


def decode_stream(vocoder: Vocoder, payloads: Iterable[bytes | None], conceal: bool = True) -> np.ndarray:
    """Decode a payload sequence into one float32 signal; ``None`` marks an erased frame.

    An erased frame is replaced by ``vocoder.conceal()`` when ``conceal`` is true, or by
    ``frame_samples`` zeros otherwise (the no-concealment baseline).
    """
    frames = []
    silence = np.zeros(vocoder.frame_samples, dtype=np.float32)
    for payload in payloads:
        if payload is not None:
            frames.append(vocoder.decode(payload))
        elif conceal:
            frames.append(vocoder.conceal())
        else:
            frames.append(silence)
    if not frames:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(frames)
