"""Power spectral density of complex baseband samples."""

import numpy as np
from scipy.signal import welch


def psd_db(x: np.ndarray, fs: float, nfft: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD (Hann, 50 % overlap) of complex ``x`` at ``fs``; returns (freq_hz ascending, dB/Hz)."""
    f, p = welch(x, fs=fs, nperseg=min(nfft, len(x)), return_onesided=False, detrend=False)
    order = np.argsort(f)
    return f[order], 10 * np.log10(np.maximum(p[order], 1e-30))
