"""Decision-directed QPSK carrier loop with phase, frequency and frequency-rate integrators (1 update/symbol).

For each input symbol z: r = z·e^{-jθ}; decision d = (sgn Re r + j sgn Im r)/√2, or the known symbol
where one is given (data-aided on the unique words); v = r·d*;
phase error e_p = Im(v)/A ≈ sin(θ_err), with A the running mean amplitude ((|Re r| + |Im r|)/√2).
Loop (per symbol, T = 1/symbol_rate):

    α ← α + c3·e_p                     (frequency rate, rad/symbol²)
    ω ← ω + α + c2·e_p                 (frequency, rad/symbol)
    θ ← θ + ω + c1·e_p                 (phase, rad)

The α integrator makes the steady-state phase and frequency error zero for a linear Doppler ramp
(a second-order loop, c3 = 0, keeps sin φ = 2π·R/ω_n² of phase error on a ramp of R Hz/s). ω is held
inside [ω_lo, ω_hi] (a correction range: the loop cannot follow a carrier beyond it). The receiver starts the
loop on a frequency line measured from several UWs and hands ω and α to its upstream chirp NCO every
block (see :mod:`skycall.modem.rx`), so the loop only ever sees small residuals. e^{jθ} is kept as a
phasor, advanced with a third-order Taylor rotation and renormalised every few symbols (no trigonometry
per symbol).
"""

import math

import numpy as np
from numba import njit

_PRE, _PIM, _OMEGA, _ALPHA, _AMP, _INV_AMP, _COUNT, _W_LO, _W_HI = range(9)
STATE_SIZE = 9
_RENORM = 16
#: "no limit" for ω (rad/symbol): finite, because the kernel is compiled with fastmath (no infinities)
_NO_LIMIT = 1e9


@njit(cache=True, nogil=True, fastmath=True)
def carrier_track_kernel(coeffs, x, ref, state, out):
    """coeffs: float64 [c1, c2, c3, amp_alpha]; x, ref, out: complex64 (N,); state: float64 (STATE_SIZE,)
    updated. ref[n] ≠ 0 is a known symbol (data-aided: it replaces the decision), 0 means decide.

    Latency-trimmed: the phase error uses 1/A from the previous symbol (A is updated in parallel and
    1/A follows it by one Newton step), and the phasor is renormalised every ``_RENORM`` symbols (the
    third-order rotation keeps |p| within 1e-7 per symbol for |Δφ| < 0.1 rad).
    """
    c1 = coeffs[0]
    c2 = coeffs[1]
    c3 = coeffs[2]
    a_amp = coeffs[3]
    pre = state[_PRE]
    pim = state[_PIM]
    omega = state[_OMEGA]
    alpha = state[_ALPHA]
    amp = state[_AMP]
    inv_amp = state[_INV_AMP]
    count = np.int64(state[_COUNT])
    w_lo = state[_W_LO]
    w_hi = state[_W_HI]
    k = 0.7071067811865476
    for n in range(x.size):
        zre = np.float64(x[n].real)
        zim = np.float64(x[n].imag)
        rre = zre * pre + zim * pim
        rim = zim * pre - zre * pim
        out[n] = complex(rre, rim)
        dre = ref[n].real
        dim = ref[n].imag
        if dre == 0.0 and dim == 0.0:
            dre = math.copysign(k, rre)
            dim = math.copysign(k, rim)
        vim = rim * dre - rre * dim
        e_p = vim * inv_amp
        amp += a_amp * ((abs(rre) + abs(rim)) * k - amp)
        inv_amp = inv_amp * (2.0 - amp * inv_amp)
        alpha += c3 * e_p
        omega += alpha + c2 * e_p
        omega = min(max(omega, w_lo), w_hi)
        dphi = omega + c1 * e_p
        d2 = dphi * dphi
        cre = 1.0 - 0.5 * d2
        cim = dphi - dphi * d2 * (1.0 / 6.0)
        t = pre * cre - pim * cim
        pim = pre * cim + pim * cre
        pre = t
        count += 1
        if count % _RENORM == 0:
            g = 1.5 - 0.5 * (pre * pre + pim * pim)
            pre *= g
            pim *= g
    state[_PRE] = pre
    state[_PIM] = pim
    state[_OMEGA] = omega
    state[_ALPHA] = alpha
    state[_AMP] = amp
    state[_INV_AMP] = inv_amp
    state[_COUNT] = count


def loop_coefficients(pll_bandwidth_hz: float, rate_corner_ratio: float | None, symbol_rate_sps: float) -> np.ndarray:
    """Kernel coefficients [c1, c2, c3, amp_alpha] for PLL noise bandwidth B_L (Hz).

    Second-order core (ζ = 1/√2): w = ω_n·T with ω_n = B_L/0.53, c1 = √2·w, c2 = w²; the rate
    integrator is a slow third pole at ω_n/rate_corner_ratio: c3 = c2·w/rate_corner_ratio (None: c3 = 0,
    a second-order loop). Keeping the rate pole well below ω_n keeps the loop as robust as a
    second-order loop at low SNR while still giving zero steady-state phase error for a frequency ramp.
    """
    w = pll_bandwidth_hz / 0.53 / symbol_rate_sps
    c3 = 0.0 if rate_corner_ratio is None else w**3 / rate_corner_ratio
    return np.array([np.sqrt(2.0) * w, w * w, c3, 1.0 / 64.0], dtype=np.float64)


class CarrierTracker:
    """Streaming carrier loop over symbol-rate QPSK samples (1:1, complex64 in and out).

    Parameters
    ----------
    symbol_rate_sps : float
        Symbol rate, used to convert the loop state to Hz and Hz/s.
    pll_bandwidth_hz : float
        One-sided noise bandwidth B_L of the second-order core, Hz.
    rate_corner_ratio : float or None
        ω_n / (corner of the frequency-rate integrator); larger is slower rate learning, more robust;
        None: no rate integrator (second-order loop).
    amplitude : float
        Initial mean-amplitude estimate A of the input symbols.
    """

    def __init__(self, symbol_rate_sps: float, pll_bandwidth_hz: float, rate_corner_ratio: float | None,
                 amplitude=1.0):
        self.symbol_rate_sps = float(symbol_rate_sps)
        self._coeffs = loop_coefficients(pll_bandwidth_hz, rate_corner_ratio, symbol_rate_sps)
        self._amp0 = float(amplitude)
        self._state = np.zeros(STATE_SIZE, dtype=np.float64)
        self.reset()

    def reset(self) -> None:
        """As constructed: no phase, frequency, rate or frequency limits."""
        self._state[:] = 0.0
        self._state[_PRE] = 1.0
        self._state[_AMP] = self._amp0
        self._state[_INV_AMP] = 1.0 / self._amp0
        self._state[_W_LO], self._state[_W_HI] = -_NO_LIMIT, _NO_LIMIT

    def set_limits(self, lo_hz: float, hi_hz: float) -> None:
        """Hold the tracked frequency inside [lo_hz, hi_hz] (relative to what an upstream mixer removes)."""
        if not lo_hz <= hi_hz:
            raise ValueError(f"frequency limits must satisfy lo <= hi, got [{lo_hz}, {hi_hz}] Hz")
        scale = 2 * np.pi / self.symbol_rate_sps
        self._state[_W_LO], self._state[_W_HI] = lo_hz * scale, hi_hz * scale
        self._state[_OMEGA] = min(max(self._state[_OMEGA], self._state[_W_LO]), self._state[_W_HI])

    def start(self, phase_rad: float, amplitude: float) -> None:
        """Restart from phase ``phase_rad`` and mean amplitude ``amplitude`` with zero frequency and rate
        (the frequency limits are kept)."""
        limits = self._state[[_W_LO, _W_HI]].copy()
        self.reset()
        self._state[[_W_LO, _W_HI]] = limits
        self._state[_PRE], self._state[_PIM] = np.cos(phase_rad), np.sin(phase_rad)
        self._state[_AMP] = amplitude
        self._state[_INV_AMP] = 1.0 / amplitude

    @property
    def freq_hz(self) -> float:
        """Tracked residual frequency, Hz."""
        return float(self._state[_OMEGA] * self.symbol_rate_sps / (2 * np.pi))

    @property
    def rate_hz_s(self) -> float:
        """Tracked frequency rate, Hz/s."""
        return float(self._state[_ALPHA] * self.symbol_rate_sps**2 / (2 * np.pi))

    @property
    def amplitude(self) -> float:
        return float(self._state[_AMP])

    def remove(self, freq_hz: float, rate_hz_s: float) -> None:
        """Subtract a frequency and rate that an upstream mixer has just started removing (hand-off); the
        limits move with it (they are absolute: mixer + loop)."""
        self._state[_OMEGA] -= 2 * np.pi * freq_hz / self.symbol_rate_sps
        if self._state[_W_HI] < _NO_LIMIT:
            self._state[[_W_LO, _W_HI]] -= 2 * np.pi * freq_hz / self.symbol_rate_sps
        self._state[_ALPHA] -= 2 * np.pi * rate_hz_s / self.symbol_rate_sps**2

    def process(self, x: np.ndarray, ref: np.ndarray | None = None) -> np.ndarray:
        """Track ``x``; ``ref`` (same length, optional) holds known unit-energy symbols where nonzero
        (e.g. a unique word): there the loop is data-aided instead of decision-directed."""
        x = np.ascontiguousarray(x, dtype=np.complex64)
        ref = np.zeros_like(x) if ref is None else np.ascontiguousarray(ref, dtype=np.complex64)
        if ref.shape != x.shape:
            raise ValueError(f"ref must have the shape of x {x.shape}, got {ref.shape}")
        out = np.empty_like(x)
        carrier_track_kernel(self._coeffs, x, ref, self._state, out)
        return out

    def copy(self) -> "CarrierTracker":
        other = CarrierTracker.__new__(CarrierTracker)
        other.symbol_rate_sps, other._coeffs, other._amp0 = self.symbol_rate_sps, self._coeffs, self._amp0
        other._state = self._state.copy()
        return other
