"""Speech quality: PESQ (ITU-T P.862 / P.862.2), STOI, delay alignment and the codec-alone ceiling.

Scores are plain floats. A degraded signal that is silent or holds no speech PESQ can find gives
``nan`` and a :class:`SpeechQualityWarning` (a dead call is a result, not a crash); malformed inputs
(wrong rate, not 1-D, too short, NaN) raise :class:`SpeechMetricError`.
"""

import warnings

import numpy as np
import pesq as pesq_lib
import pystoi
from scipy.signal import correlate

from skycall.errors import SkycallError
from skycall.vocoder.base import Vocoder, decode_stream, encode_stream

PESQ_MIN_S = 0.25
_ENVELOPE_S = 0.004
_REFINE_S = 0.001
_WAVEFORM_MATCH = 0.3


class SpeechMetricError(SkycallError):
    """Inputs a speech-quality metric cannot score."""


class SpeechQualityWarning(UserWarning):
    """A score could not be computed from the given signals and is reported as NaN."""


def _signal(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1 or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise SpeechMetricError(f"{what} must be a 1-D real signal, got {x.dtype} shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise SpeechMetricError(f"{what} contains NaN or infinity")
    return x.astype(np.float64)


def _pesq(ref: np.ndarray, deg: np.ndarray, fs: int, mode: str) -> float:
    ref, deg = _signal(ref, "ref"), _signal(deg, "deg")
    shortest_s = min(ref.size, deg.size) / fs
    if shortest_s < PESQ_MIN_S:
        raise SpeechMetricError(f"PESQ needs at least {PESQ_MIN_S} s of signal, got {shortest_s:.3f} s")
    for x, what in ((ref, "reference"), (deg, "degraded")):
        if not np.any(x):
            warnings.warn(f"PESQ: the {what} signal is silent; score is NaN", SpeechQualityWarning, stacklevel=3)
            return float("nan")
    try:
        return float(pesq_lib.pesq(fs, ref, deg, mode))
    except pesq_lib.NoUtterancesError:
        warnings.warn("PESQ found no utterance in the signals; score is NaN", SpeechQualityWarning, stacklevel=3)
        return float("nan")
    except pesq_lib.PesqError as exc:
        raise SpeechMetricError(f"PESQ failed: {exc}") from exc


def pesq_nb(ref: np.ndarray, deg: np.ndarray, fs: int = 8000) -> float:
    """Narrow-band PESQ MOS-LQO (ITU-T P.862 + P.862.1 mapping, about 1.0..4.5); ``fs`` 8000 or 16000 Hz."""
    if fs not in (8000, 16000):
        raise SpeechMetricError(f"narrow-band PESQ needs fs 8000 or 16000 Hz, got {fs}: resample first")
    return _pesq(ref, deg, fs, "nb")


def pesq_wb(ref: np.ndarray, deg: np.ndarray, fs: int = 16000) -> float:
    """Wide-band PESQ MOS-LQO (ITU-T P.862.2, about 1.0..4.6); only defined at ``fs`` = 16000 Hz."""
    if fs != 16000:
        raise SpeechMetricError(f"wide-band PESQ is defined at 16000 Hz only, got {fs}: use pesq_nb")
    return _pesq(ref, deg, fs, "wb")


def stoi(ref: np.ndarray, deg: np.ndarray, fs: int) -> float:
    """Short-time objective intelligibility (Taal et al. 2011), 0..1; signals must be aligned, equal length."""
    ref, deg = _signal(ref, "ref"), _signal(deg, "deg")
    if ref.size != deg.size:
        raise SpeechMetricError(
            f"STOI needs equal-length aligned signals, got {ref.size} and {deg.size} samples: use align()"
        )
    if fs <= 0:
        raise SpeechMetricError(f"fs must be positive, got {fs}")
    return float(pystoi.stoi(ref, deg, fs, extended=False))


def _lag_search(a: np.ndarray, b: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Cross-correlation ``c[lag] = sum_n b[n] a[n + lag]`` for lag = -max_lag..max_lag (FFT)."""
    c = correlate(a, b, mode="full", method="fft")
    zero = b.size - 1
    lo, hi = max(zero - max_lag, 0), min(zero + max_lag, c.size - 1)
    return np.arange(lo - zero, hi - zero + 1), c[lo : hi + 1]


def _envelope(x: np.ndarray, n: int) -> np.ndarray:
    e = np.sqrt(np.convolve(x * x, np.full(n, 1.0 / n), mode="full"))
    return e - e.mean()


def _overlap(ref: np.ndarray, deg: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    r, d = (ref, deg[lag:]) if lag >= 0 else (ref[-lag:], deg)
    n = min(r.size, d.size)
    return r[:n], d[:n]


def align(ref: np.ndarray, deg: np.ndarray, fs: int, max_lag_s: float = 1.0) -> tuple[int, np.ndarray, np.ndarray]:
    """Estimate the delay of ``deg`` behind ``ref`` and return both trimmed to their common part.

    Coarse: argmax over ``|lag| <= max_lag_s * fs`` of the cross-correlation of 4 ms RMS envelopes
    (robust for parametric codecs such as Codec2, which do not keep the waveform). Fine: within
    +-1 ms of it, the waveform correlation ``rho(lag) = <ref[n], deg[n+lag]> / (|ref| |deg|)`` is
    maximised, and used when ``rho >= 0.3`` (waveform-matching paths: Opus, a pure delay).

    Returns
    -------
    lag_samples : int
        Delay of ``deg`` relative to ``ref`` (positive: ``deg`` is late) = latency in samples.
    ref_aligned, deg_aligned : np.ndarray
        float64, equal length, ``deg_aligned[n]`` corresponds to ``ref_aligned[n]``.
    """
    ref, deg = _signal(ref, "ref"), _signal(deg, "deg")
    max_lag = round(max_lag_s * fs)
    n_env = max(round(_ENVELOPE_S * fs), 1)
    if min(ref.size, deg.size) <= n_env or max_lag < 0:
        raise SpeechMetricError(f"align needs signals longer than {_ENVELOPE_S} s and max_lag_s >= 0")
    lags, c = _lag_search(_envelope(deg, n_env), _envelope(ref, n_env), max_lag)
    lag = int(lags[np.argmax(c)])
    n_refine = round(_REFINE_S * fs)
    best_rho = -1.0
    for candidate in range(lag - n_refine, lag + n_refine + 1):
        r, d = _overlap(ref, deg, candidate)
        norm = np.sqrt(np.dot(r, r) * np.dot(d, d))
        rho = np.dot(r, d) / norm if norm > 0 else 0.0
        if rho > best_rho:
            best_rho, best_lag = rho, candidate
    if best_rho >= _WAVEFORM_MATCH:
        lag = best_lag
    ref_aligned, deg_aligned = _overlap(ref, deg, lag)
    return lag, ref_aligned, deg_aligned


def codec_ceiling(ref: np.ndarray, vocoder: Vocoder) -> float:
    """PESQ-NB of ``ref`` (at ``vocoder.sample_rate_hz``) through the codec alone, after alignment.

    The vocoder is reset first; this is the best score a call through the radio link can reach.
    """
    vocoder.reset()
    deg = decode_stream(vocoder, encode_stream(vocoder, ref))
    _, ref_aligned, deg_aligned = align(ref, deg, vocoder.sample_rate_hz)
    return pesq_nb(ref_aligned, deg_aligned, vocoder.sample_rate_hz)
