"""Scores of one direction of a call: PESQ against the codec-alone ceiling, STOI, frame errors,
residual frequency error and mouth-to-ear latency, all from stream-time signals and logs."""

import warnings

import numpy as np

from skycall.metrics.speech import SpeechQualityWarning, align, codec_ceiling, pesq_nb, stoi
from skycall.vocoder.base import Vocoder

FS_HZ = 8000


def _active_span(mouth: np.ndarray) -> tuple[int, int]:
    """First and one-past-last non-silent sample of the talker's signal."""
    nz = np.flatnonzero(np.abs(mouth) > 1e-6)
    if nz.size == 0:
        return 0, 0
    return int(nz[0]), int(nz[-1]) + 1


def score_speech(mouth: np.ndarray, ear: np.ndarray, vocoder: Vocoder) -> dict:
    """PESQ-NB, codec ceiling, STOI and latency of ``ear`` against ``mouth`` (both stream-time, 8 kHz).

    The latency is the cross-correlation lag of the ear behind the mouth, i.e. the true
    mouth-to-ear delay (framing, transmission, propagation, processing, playout).
    """
    start, stop = _active_span(mouth)
    nan = float("nan")
    out = {"pesq_nb": nan, "codec_ceiling_pesq_nb": nan, "stoi": nan, "mouth_to_ear_ms": nan}
    if stop - start < FS_HZ // 2 or not np.any(np.abs(ear[start:]) > 1e-6):
        return out
    ref = mouth[start:stop]
    deg = ear[start : min(len(ear), stop + FS_HZ)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpeechQualityWarning)
        lag, ref_a, deg_a = align(ref, deg, FS_HZ, max_lag_s=0.8)
        out["mouth_to_ear_ms"] = 1000.0 * lag / FS_HZ
        out["pesq_nb"] = pesq_nb(ref_a, deg_a, FS_HZ)
        out["stoi"] = stoi(ref_a, deg_a, FS_HZ)
        out["codec_ceiling_pesq_nb"] = codec_ceiling(ref, vocoder)
    return out


def rms(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x * x))) if x.size else float("nan")
