"""Root-raised-cosine (RRC) pulse design.

The continuous RRC impulse response with roll-off ``β`` and symbol period ``T`` is

    h(t) = [sin(π t/T (1-β)) + 4β t/T cos(π t/T (1+β))] / [π t/T (1 - (4β t/T)²)]

with the limits h(0) = 1 + β(4/π - 1) and
h(±T/(4β)) = β/√2 [(1 + 2/π) sin(π/(4β)) + (1 - 2/π) cos(π/(4β))].
Two RRC filters in cascade give a raised-cosine (Nyquist) pulse: zero ISI at t = kT.
"""

import numpy as np

from skycall.dsp._checks import DspArgumentError, positive_int


def rrc_taps(rolloff: float, sps: int, span_symbols: int) -> np.ndarray:
    """Sampled RRC pulse, centred, normalised to unit energy.

    Parameters
    ----------
    rolloff : float
        Excess bandwidth β, 0 < β ≤ 1.
    sps : int
        Samples per symbol (≥ 1).
    span_symbols : int
        Filter span in symbols (≥ 1); the pulse covers t ∈ [-span/2, span/2]·T.

    Returns
    -------
    np.ndarray
        float32, shape (span_symbols·sps + 1,), Σ h² = 1. Tap n sits at t = (n - span·sps/2)/sps · T.
    """
    rolloff = float(rolloff)
    if not 0.0 < rolloff <= 1.0:
        raise DspArgumentError(f"rolloff must satisfy 0 < rolloff <= 1, got {rolloff!r}")
    sps = positive_int("sps", sps)
    span_symbols = positive_int("span_symbols", span_symbols)
    n_taps = span_symbols * sps + 1
    t = (np.arange(n_taps, dtype=np.float64) - (n_taps - 1) / 2.0) / sps  # in symbol periods
    beta = rolloff
    h = np.empty_like(t)
    at_zero = np.abs(t) < 1e-12
    at_pole = np.abs(np.abs(4.0 * beta * t) - 1.0) < 1e-12
    regular = ~(at_zero | at_pole)
    tr = t[regular]
    h[regular] = (np.sin(np.pi * tr * (1 - beta)) + 4 * beta * tr * np.cos(np.pi * tr * (1 + beta))) / (
        np.pi * tr * (1 - (4 * beta * tr) ** 2)
    )
    h[at_zero] = 1.0 + beta * (4.0 / np.pi - 1.0)
    h[at_pole] = (beta / np.sqrt(2.0)) * (
        (1 + 2 / np.pi) * np.sin(np.pi / (4 * beta)) + (1 - 2 / np.pi) * np.cos(np.pi / (4 * beta))
    )
    h /= np.sqrt(np.sum(h * h))
    return h.astype(np.float32)
