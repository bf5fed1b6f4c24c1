"""Gardner symbol-timing recovery with cubic (Lagrange/Farrow) interpolation.

Input: matched-filter output at ``sps`` samples/symbol (sps ≥ 2). Half-symbol strobes are placed at
positions p_k (absolute, fractional input index); every second strobe is a symbol strobe. After each
symbol strobe the Gardner error

    e = Re{(y[k] - y[k-1])·conj(y[k-½])} / P

(P: running symbol power) drives a proportional-integral loop that moves the next strobes:
Δp = sps/2 · (1 + ν) - kp·e, ν ← ν - ki·e (ν: fractional clock-rate offset, so a sample-clock offset
gives no steady-state timing error). Interpolation: 4-point cubic Lagrange around floor(p).
"""

import numpy as np
from numba import njit

# state layout (float64)
_NEXT_POS, _RATE, _POWER, _IS_SYM, _PREV_RE, _PREV_IM, _MID_RE, _MID_IM, _COUNT = range(9)
_HIST = 9  # 3 previous input samples follow (re, im) -> 6 values
STATE_SIZE = _HIST + 6


@njit(cache=True, nogil=True)
def _gardner_kernel(coeffs, x, state, hist, out, out_pos):
    """coeffs: float64 [sps, kp, ki, power_alpha]; x: complex64 (N,); state: float64 (STATE_SIZE,);
    hist: complex64 (3,) last inputs; out: complex64 symbols; out_pos: float64 strobe positions.
    Returns the number of symbols written."""
    sps = coeffs[0]
    kp = coeffs[1]
    ki = coeffs[2]
    alpha = coeffs[3]
    next_pos = state[_NEXT_POS]
    rate = state[_RATE]
    power = state[_POWER]
    is_sym = state[_IS_SYM] > 0.5
    prev = complex(state[_PREV_RE], state[_PREV_IM])
    mid = complex(state[_MID_RE], state[_MID_IM])
    count = state[_COUNT]  # absolute index of x[0]
    h0 = hist[0]
    h1 = hist[1]
    h2 = hist[2]
    n_out = 0
    for n in range(x.size):
        x3 = x[n]
        pos_n = count + n  # absolute index of x3; window holds indices pos_n-3 .. pos_n
        # interpolate every strobe whose 4-point window [floor(p)-1, floor(p)+2] is available
        while np.floor(next_pos) + 2.0 <= pos_n:
            base = np.floor(next_pos)
            mu = next_pos - base
            if base + 2.0 < pos_n:  # stale strobe (only before the first samples arrive): skip ahead
                next_pos = pos_n - 2.0 + mu
            # window: indices pos_n-3 .. pos_n = base-1 .. base+2
            sm1 = h0
            s0 = h1
            s1 = h2
            s2 = x3
            c_m1 = -mu * (mu - 1.0) * (mu - 2.0) / 6.0
            c_0 = (mu + 1.0) * (mu - 1.0) * (mu - 2.0) / 2.0
            c_1 = -(mu + 1.0) * mu * (mu - 2.0) / 2.0
            c_2 = (mu + 1.0) * mu * (mu - 1.0) / 6.0
            y = c_m1 * sm1 + c_0 * s0 + c_1 * s1 + c_2 * s2
            if is_sym:
                power += alpha * ((y.real * y.real + y.imag * y.imag) - power)
                e = ((y.real - prev.real) * mid.real + (y.imag - prev.imag) * mid.imag) / (power + 1e-30)
                rate -= ki * e
                out[n_out] = y
                out_pos[n_out] = next_pos
                n_out += 1
                prev = y
                next_pos += 0.5 * sps * (1.0 + rate) - kp * e
            else:
                mid = y
                next_pos += 0.5 * sps * (1.0 + rate)
            is_sym = not is_sym
        h0 = h1
        h1 = h2
        h2 = x3
    state[_NEXT_POS] = next_pos
    state[_RATE] = rate
    state[_POWER] = power
    state[_IS_SYM] = 1.0 if is_sym else 0.0
    state[_PREV_RE] = prev.real
    state[_PREV_IM] = prev.imag
    state[_MID_RE] = mid.real
    state[_MID_IM] = mid.imag
    state[_COUNT] = count + x.size
    hist[0] = h0
    hist[1] = h1
    hist[2] = h2
    return n_out


class GardnerTiming:
    """Streaming Gardner timing recovery: ``process(x)`` -> (symbols complex64, positions float64).

    Parameters
    ----------
    sps : int
        Input samples per symbol (≥ 2).
    bandwidth : float
        Loop noise bandwidth as a fraction of the symbol rate (B_L·T), e.g. 0.005.
    first_symbol_pos : float
        Absolute input index (fractional) of the first symbol strobe; index 0 = first input sample.
    power : float
        Initial symbol power estimate P (matched-filter output units).
    """

    def __init__(self, sps: int, bandwidth: float, first_symbol_pos: float = 0.0, power: float = 1.0):
        self.sps = int(sps)
        zeta = 1.0 / np.sqrt(2.0)
        theta = bandwidth / (zeta + 0.25 / zeta)
        d = 1.0 + 2.0 * zeta * theta + theta * theta
        k_ted = 2.0  # Gardner S-curve slope (per symbol of timing error) for RRC·RRC, β≈0.35, power-normalised
        kp_sym = 4.0 * zeta * theta / d / k_ted
        ki_sym = 4.0 * theta * theta / d / k_ted
        self._coeffs = np.array([self.sps, kp_sym * self.sps, ki_sym, 1.0 / 128.0], dtype=np.float64)
        self._init = (float(first_symbol_pos), float(power))
        self._state = np.zeros(STATE_SIZE, dtype=np.float64)
        self._hist = np.zeros(3, dtype=np.complex64)
        self.reset()

    def reset(self) -> None:
        self._state[:] = 0.0
        self._hist[:] = 0.0
        first, power = self._init
        self._state[_NEXT_POS] = first - 0.5 * self.sps  # a mid strobe precedes the first symbol
        self._state[_POWER] = power
        self._state[_IS_SYM] = 0.0

    def set_power(self, power: float) -> None:
        """Replace the running symbol-power estimate P (e.g. with the power of the first input block)."""
        self._state[_POWER] = max(float(power), 1e-20)

    @property
    def clock_offset(self) -> float:
        """Estimated fractional symbol-clock offset ν (strobe spacing = sps·(1 + ν))."""
        return float(self._state[_RATE])

    def process(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.ascontiguousarray(x, dtype=np.complex64)
        n_max = x.size // max(1, self.sps // 2) + 4
        out = np.empty(n_max, dtype=np.complex64)
        pos = np.empty(n_max, dtype=np.float64)
        n = _gardner_kernel(self._coeffs, x, self._state, self._hist, out, pos)
        return out[:n], pos[:n]

    def copy(self) -> "GardnerTiming":
        other = GardnerTiming.__new__(GardnerTiming)
        other.sps, other._coeffs, other._init = self.sps, self._coeffs, self._init
        other._state, other._hist = self._state.copy(), self._hist.copy()
        return other
