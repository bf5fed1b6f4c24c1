"""Server-side decimation: what the browser gets instead of raw IQ (a few kB per frame, ~15 frames/s).

Spectrum of a chunk ``x`` (complex baseband at ``fs``): Welch average over periodic-Hann segments of
``FFT_BINS`` samples with 50 % overlap, scaled as a *power spectrum*, ``P_k = mean_m |Σ w x_m e^…|² /
(Σ w)²``, so a tone ``A·e^{j2πf₀n/fs}`` on a bin centre reads ``A²`` (0 dBFS for ``|A| = 1``) and white
noise of power ``σ²`` reads ``σ²·Σw²/(Σw)²`` per bin (``σ²·1.5/FFT_BINS`` for Hann). Bins are
ordered from ``−fs/2`` upwards and sent as one byte each, ``code = round((dB − DB_MIN)/DB_STEP)``.

Readouts per chunk: ``level_dbfs = 10·log10(mean |x|²)``, ``peak_dbfs = 20·log10(max |x|)`` and the
signal's centre frequency, the power-weighted mean frequency of the bins standing more than
``CENTRE_THRESHOLD_DB`` above the median bin (the noise floor), weights ``P_k − median``.

Constellation: the points (unit mean power) as interleaved int8 pairs, ``code = round(v · CONST_SCALE)``.
Every array goes out base64-encoded inside the JSON frame.
"""

import base64

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

FFT_BINS = 512
DB_MIN, DB_MAX = -160.0, 10.0
DB_STEP = (DB_MAX - DB_MIN) / 255
CENTRE_THRESHOLD_DB = 6.0
CONST_SCALE = 48.0  # int8 code per unit amplitude: ±2.6 full scale for unit-power QPSK at ±0.71
CONST_MAX_POINTS = 512
_HANN = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FFT_BINS) / FFT_BINS)).astype(np.float32)  # periodic


def b64(codes: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(codes).tobytes()).decode("ascii")


def power_spectrum(x: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(frequency Hz ascending from −fs/2, power per bin) of ``x`` (len ≥ ``FFT_BINS``), see module doc."""
    segments = sliding_window_view(np.asarray(x, np.complex64), FFT_BINS)[:: FFT_BINS // 2]
    spec = scipy.fft.fft(segments * _HANN, axis=1)  # complex64 throughout (numpy's fft is ~8x slower here)
    p = (spec.real**2 + spec.imag**2).mean(axis=0) / _HANN.sum(dtype=np.float64) ** 2
    return np.fft.fftshift(np.fft.fftfreq(FFT_BINS, 1.0 / fs_hz)), np.fft.fftshift(p)


def centre_hz(f_hz: np.ndarray, p: np.ndarray) -> float | None:
    """Power-weighted mean frequency of the bins above the noise floor (None: nothing stands out)."""
    floor = float(np.median(p))
    excess = p - floor
    sig = p > floor * 10 ** (CENTRE_THRESHOLD_DB / 10)
    if not sig.any():
        return None
    return float(np.sum(f_hz[sig] * excess[sig]) / np.sum(excess[sig]))


def db_codes(p: np.ndarray) -> np.ndarray:
    """Power per bin → one byte per bin (see module doc)."""
    db = 10 * np.log10(np.maximum(p, 1e-30))
    return np.clip(np.rint((db - DB_MIN) / DB_STEP), 0, 255).astype(np.uint8)


def spectrum_frame(x: np.ndarray, fs_hz: float) -> dict | None:
    """What a waterfall row, the spectrum trace and the pane's readouts need (None: chunk too short)."""
    x = np.asarray(x, np.complex64)
    if x.size < FFT_BINS:
        return None
    f, p = power_spectrum(x, fs_hz)
    power = float(np.mean(x.real.astype(np.float64) ** 2 + x.imag.astype(np.float64) ** 2))
    peak = float(np.max(np.abs(x)))
    return {
        "psd": b64(db_codes(p)),
        "level_dbfs": 10 * np.log10(power) if power > 0 else None,
        "peak_dbfs": 20 * np.log10(peak) if peak > 0 else None,
        "centre_hz": centre_hz(f, p),
    }


def constellation_frame(points: np.ndarray, max_points: int = CONST_MAX_POINTS) -> dict:
    """The last ``max_points`` constellation points as int8 pairs (see module doc)."""
    z = np.asarray(points, np.complex64)[-max_points:]
    pairs = np.empty(2 * z.size, np.float32)
    pairs[0::2], pairs[1::2] = z.real, z.imag
    return {"iq": b64(np.clip(np.rint(pairs * CONST_SCALE), -127, 127).astype(np.int8)), "n": int(z.size)}


def decode_spectrum(frame: dict) -> np.ndarray:
    """dB per bin back from a frame's ``psd`` (what the page does; tests and replay checks use it)."""
    codes = np.frombuffer(base64.b64decode(frame["psd"]), np.uint8)
    return DB_MIN + codes.astype(np.float64) * DB_STEP


def decode_constellation(frame: dict) -> np.ndarray:
    pairs = np.frombuffer(base64.b64decode(frame["iq"]), np.int8).astype(np.float64) / CONST_SCALE
    return pairs[0::2] + 1j * pairs[1::2]


__all__ = ["FFT_BINS", "DB_MIN", "DB_MAX", "DB_STEP", "CONST_SCALE", "spectrum_frame", "constellation_frame",
           "power_spectrum", "centre_hz", "decode_spectrum", "decode_constellation"]
