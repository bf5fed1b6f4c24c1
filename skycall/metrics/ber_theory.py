"""Closed-form bit-error rates: uncoded Gray QPSK and the soft-decision Viterbi union bound.

Uncoded Gray QPSK on AWGN (each bit rides one BPSK quadrature):

    P_b = Q(√(2·Eb/N0)),   Q(x) = ½·erfc(x/√2)

Rate-R convolutional code with soft-decision ML decoding (BPSK/QPSK per dimension), union bound

    P_b ≤ Σ_{d ≥ d_free} c_d · Q(√(2·d·R·Eb/N0))

where c_d is the total number of information-bit errors over all error events of output weight d (the
distance spectrum). :func:`distance_spectrum` enumerates it over the code trellis; for the K=7 (171, 133)
code it gives d_free = 10 and c_d = 36, 0, 211, 0, 1404, 0, 11633, ... (published values).
"""

import numpy as np
from scipy.special import erfc

from skycall.errors import SkycallError
from skycall.modem.fec import G0, G1, K


def q_function(x) -> np.ndarray:
    """Gaussian tail Q(x) = P(N(0,1) > x) = ½·erfc(x/√2) (array in, float64 array out)."""
    return 0.5 * erfc(np.asarray(x, dtype=np.float64) / np.sqrt(2.0))


def qpsk_ber(ebn0_db) -> np.ndarray:
    """Uncoded Gray-QPSK bit-error rate Q(√(2·Eb/N0)) at ``ebn0_db`` (dB)."""
    return q_function(np.sqrt(2.0 * 10 ** (np.asarray(ebn0_db, dtype=np.float64) / 10)))


def qpsk_ebn0_db(ber: float) -> float:
    """Eb/N0 (dB) at which uncoded QPSK reaches ``ber`` (inverse of :func:`qpsk_ber`, bisection)."""
    if not 0.0 < ber < 0.5:
        raise SkycallError(f"ber must be in (0, 0.5), got {ber}")
    lo, hi = -10.0, 20.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if qpsk_ber(mid) > ber else (lo, mid)
    return 0.5 * (lo + hi)


def _parity(x: int) -> int:
    return bin(x).count("1") & 1


def distance_spectrum(
    d_max: int = 20, generators: tuple[int, ...] = (G0, G1), constraint_length: int = K
) -> dict[int, tuple[int, int]]:
    """Distance spectrum {d: (a_d, c_d)} of a feed-forward convolutional code for weights d ≤ d_max.

    a_d: number of error events (paths leaving state 0 and first returning to it) of output Hamming
    weight d; c_d: their total input weight. Register convention as :mod:`skycall.modem.fec`: with
    state s (the previous K-1 inputs) and input u, r = (u << K-1) | s, outputs parity(r & g) for each
    generator g, next state r >> 1. Dynamic programming over (state, accumulated weight ≤ d_max)
    carrying path counts and input-weight sums; terminates because a non-catastrophic code has no
    zero-weight cycle outside state 0.
    """
    m = constraint_length - 1
    n_states = 1 << m
    out_w = np.zeros((n_states, 2), dtype=np.int64)
    nxt = np.zeros((n_states, 2), dtype=np.int64)
    for s in range(n_states):
        for u in range(2):
            r = (u << m) | s
            out_w[s, u] = sum(_parity(r & g) for g in generators)
            nxt[s, u] = r >> 1
    a = np.zeros(d_max + 1, dtype=object)
    c = np.zeros(d_max + 1, dtype=object)
    count = np.zeros((n_states, d_max + 1), dtype=object)  # Python ints: exact for any d_max
    info = np.zeros((n_states, d_max + 1), dtype=object)
    w0 = out_w[0, 1]
    if w0 <= d_max:
        count[nxt[0, 1], w0] += 1
        info[nxt[0, 1], w0] += 1
    for _ in range(n_states * (d_max + 1) + 1):
        if not count.any():
            break
        new_count = np.zeros_like(count)
        new_info = np.zeros_like(info)
        for s in range(1, n_states):
            for w in np.nonzero(count[s])[0]:
                for u in range(2):
                    w2 = w + out_w[s, u]
                    if w2 > d_max:
                        continue
                    ns = nxt[s, u]
                    if ns == 0:
                        a[w2] += count[s, w]
                        c[w2] += info[s, w] + u * count[s, w]
                    else:
                        new_count[ns, w2] += count[s, w]
                        new_info[ns, w2] += info[s, w] + u * count[s, w]
        count, info = new_count, new_info
    else:
        raise SkycallError("distance_spectrum: the code has a zero-weight cycle (catastrophic code)")
    return {d: (int(a[d]), int(c[d])) for d in range(d_max + 1) if a[d]}


def viterbi_union_bound(ebn0_db, rate: float = 0.5, d_max: int = 20) -> np.ndarray:
    """Soft-decision Viterbi bit-error union bound Σ_d c_d·Q(√(2·d·R·Eb/N0)) of the K=7 (171, 133)
    code (terms d ≤ d_max; tight below ~1e-3, loose at low Eb/N0)."""
    ebn0 = 10 ** (np.asarray(ebn0_db, dtype=np.float64) / 10)
    total = np.zeros_like(ebn0)
    for d, (_, c_d) in distance_spectrum(d_max).items():
        total = total + c_d * q_function(np.sqrt(2.0 * d * rate * ebn0))
    return total


def ebn0_at_ber(ebn0_db: np.ndarray, ber: np.ndarray, target: float) -> float | None:
    """Eb/N0 (dB) where a measured, decreasing BER curve crosses ``target`` (linear interpolation of
    log10 BER between the two bracketing points); None when the curve does not cross it."""
    x = np.asarray(ebn0_db, dtype=np.float64)
    y = np.asarray(ber, dtype=np.float64)
    for i in range(x.size - 1):
        if y[i] >= target > y[i + 1]:
            if y[i + 1] <= 0:
                return float(x[i + 1])
            f = (np.log10(y[i]) - np.log10(target)) / (np.log10(y[i]) - np.log10(y[i + 1]))
            return float(x[i] + f * (x[i + 1] - x[i]))
    return None
