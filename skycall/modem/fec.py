"""Rate-1/2, K=7 convolutional code (generators 171, 133 octal), soft-decision Viterbi decoder, CRC-16.

Encoder: with the 7-bit register r = (u_t, u_{t-1}, ..., u_{t-6}) (u_t in bit 6), the two coded bits are
c0 = parity(r & 0o171) and c1 = parity(r & 0o133). The block is terminated with 6 zero tail bits so the
trellis starts and ends in state 0.

Decoder: maximum-likelihood sequence search with the correlation metric Σ s_i·(1 - 2·c_i), where the
soft value s_i > 0 favours bit 0 (any positive scaling of LLRs gives the same decisions).
"""

import binascii

import numpy as np
from numba import njit

K = 7
N_STATES = 1 << (K - 1)
G0, G1 = 0o171, 0o133


def _parity(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    p = np.zeros_like(x)
    while np.any(x):
        p ^= x & 1
        x >>= 1
    return p


def _trellis() -> tuple[np.ndarray, np.ndarray]:
    """Output tables indexed by (next_state, dropped_bit): expected signs (+1 for bit 0) of c0 and c1.

    next_state = r >> 1 with r = (u << 6) | state, so u = next_state >> 5 and
    state = ((next_state & 31) << 1) | dropped_bit.
    """
    ns = np.arange(N_STATES)[:, None]
    b = np.arange(2)[None, :]
    reg = ((ns >> 5) << 6) | ((ns & 31) << 1) | b
    sign0 = 1.0 - 2.0 * _parity(reg & G0)
    sign1 = 1.0 - 2.0 * _parity(reg & G1)
    return sign0.astype(np.float32), sign1.astype(np.float32)


_SIGN0, _SIGN1 = _trellis()


@njit(cache=True, nogil=True)
def _encode_kernel(bits, out):
    """Encode ``bits`` (uint8 0/1, tail included) into ``out`` (uint8, 2·len(bits)) from state 0."""
    state = 0
    for t in range(bits.size):
        reg = (bits[t] << 6) | state
        p0 = reg & G0
        p1 = reg & G1
        c0 = 0
        c1 = 0
        for _ in range(7):
            c0 ^= p0 & 1
            c1 ^= p1 & 1
            p0 >>= 1
            p1 >>= 1
        out[2 * t] = c0
        out[2 * t + 1] = c1
        state = reg >> 1


@njit(cache=True, nogil=True)
def _viterbi_kernel(sign0, sign1, soft, metric, new_metric, decisions, out_bits):
    """Terminated soft Viterbi. soft: float32 (2T,); metric/new_metric: float32 (64,) scratch;
    decisions: uint8 (T, 64) scratch; out_bits: uint8 (T,) decoded inputs (tail included)."""
    n_steps = out_bits.size
    for s in range(64):
        metric[s] = -1e30
    metric[0] = 0.0
    for t in range(n_steps):
        s0 = soft[2 * t]
        s1 = soft[2 * t + 1]
        best = -3e38
        for ns in range(64):
            base = (ns & 31) << 1
            m0 = metric[base] + sign0[ns, 0] * s0 + sign1[ns, 0] * s1
            m1 = metric[base | 1] + sign0[ns, 1] * s0 + sign1[ns, 1] * s1
            if m1 > m0:
                new_metric[ns] = m1
                decisions[t, ns] = 1
            else:
                new_metric[ns] = m0
                decisions[t, ns] = 0
            if new_metric[ns] > best:
                best = new_metric[ns]
        for s in range(64):
            metric[s] = new_metric[s] - best
    state = 0
    for t in range(n_steps - 1, -1, -1):
        out_bits[t] = state >> 5
        state = ((state & 31) << 1) | decisions[t, state]


def conv_encode(bits: np.ndarray) -> np.ndarray:
    """Encode ``bits`` (0/1, tail already appended) -> uint8 coded bits, shape (2·len(bits),)."""
    bits = np.ascontiguousarray(bits, dtype=np.uint8)
    out = np.empty(2 * bits.size, dtype=np.uint8)
    _encode_kernel(bits, out)
    return out


class ViterbiDecoder:
    """Soft-decision Viterbi decoder for terminated blocks of ``n_steps`` trellis steps (tail included).

    ``decode(soft)`` takes float32 (2·n_steps,) soft values (> 0 favours bit 0) and returns uint8
    (n_steps,) decoded bits, tail included. Scratch memory is allocated once.
    """

    def __init__(self, n_steps: int):
        self.n_steps = int(n_steps)
        self._metric = np.empty(N_STATES, dtype=np.float32)
        self._new = np.empty(N_STATES, dtype=np.float32)
        self._decisions = np.empty((self.n_steps, N_STATES), dtype=np.uint8)

    def decode(self, soft: np.ndarray) -> np.ndarray:
        soft = np.ascontiguousarray(soft, dtype=np.float32)
        if soft.shape != (2 * self.n_steps,):
            raise ValueError(f"soft values must have shape ({2 * self.n_steps},), got {soft.shape}")
        out = np.empty(self.n_steps, dtype=np.uint8)
        _viterbi_kernel(_SIGN0, _SIGN1, soft, self._metric, self._new, self._decisions, out)
        return out


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR)."""
    return binascii.crc_hqx(bytes(data), 0xFFFF)
