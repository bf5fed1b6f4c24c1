"""Co-channel beams at the handset's input: emulated signals and the predicted C/(N+I).

Every beam of the serving beam's colour carries its own carrier of the same power (all beams
loaded) with independent data. Beam ``i`` reaches the handset through the serving beam's path
(same satellite: range, delay, Doppler and fading), weaker by ``G_i / G_0`` and shifted by its own
beam-centre pre-compensation: at the handset its frequency is ``f_D,h − f_D,c_i``
(:meth:`groundstation.trajectory.Interferers.offsets_hz`). It is emulated as::

    i_i[n] = a(n) · 10^(ΔG_i(n)/20) · R_{f_i(n)}{ Σ_k s_i[k] · p[n − k·sps − τ_i] }

``p`` the transmitter's RRC pulse (√sps-scaled: unit power per sample), ``s_i[k]`` QPSK symbols from
a counter hash (splitmix64) of (seed, beam, k) — a pure function of the absolute symbol index, so any chunking
and any copy give the same bits — ``τ_i`` a seeded timing offset, ``R_f`` a
:class:`~skycall.dsp.rotator.TrajectoryRotator` and ``a(n)`` the serving carrier's amplitude
(:mod:`groundstation.pass_channel`). Their unique words are not emulated: a real system gives each
beam its own synchronisation sequence; ours share one, and a neighbour's would let the phone camp on it.
The strongest beams are emulated so; the many weak rest (far tiers, a uniform array's side lobes)
are summed, as the central limit theorem has it, as Gaussian noise of the power their matched-filter
share ``Σ κ_i ΔG_i`` would pass (white at the sample rate: the receiver's filter keeps its in-band part).

What the handset's matched filter passes of interferer ``i`` is its power times the spectral
overlap of the two raised-cosine spectra, ``κ(Δf) = T ∫ R(f) R(f − Δf) df`` (``R(0) = 1``;
``κ(0) = 1 − β/4``: the average over the interferer's symbol timing), so the predicted SINR at the
matched filter's output is::

    SINR = Es / (N0 / g + Σ_i κ(f_i − f_0) · Es · G_i / G_0)

with ``g`` the channel's power gain (fading and shadowing act on every beam alike: they do not
change C/I, only C/N). ``c_over_i_db`` elsewhere is the plain power ratio ``G_0 / Σ G_i``.
"""

from functools import lru_cache

import numpy as np
from numba import njit

from skycall.channel.noise import KeyedNoise
from skycall.dsp.rotator import TrajectoryRotator
from skycall.dsp.rrc import rrc_taps

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True, inline="always")
def _splitmix64(z):
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True, boundscheck=False)
def _shaped_qpsk(key, pulses, sps, first, out):
    """out (float32 view of complex64) = Σ_k s[k] p[n − k·sps], n = first + m, s[k] = QPSK(splitmix64(key ^ k·φ)).

    ``pulses[q]`` is the interleaved (re, im) pulse of QPSK symbol q (2 bits): each symbol adds its pulse to
    the outputs it overlaps, symbols in ascending k, so every output sums its terms in the same order
    whatever the chunk boundaries (bit-exact chunking); the contiguous adds vectorise.
    """
    n_taps, n_out = pulses.shape[1] // 2, out.size // 2
    out[:] = 0.0
    for k in range(-((n_taps - 1 - first) // sps), (first + n_out - 1) // sps + 1):
        pulse = pulses[np.int64(_splitmix64(key ^ (np.uint64(k) * _GOLDEN)) & np.uint64(3))]
        base = k * sps - first
        t0, t1 = max(0, -base), min(n_taps, n_out - base)
        acc, pp = out[2 * (base + t0) : 2 * (base + t1)], pulse[2 * t0 : 2 * t1]
        for u in range(2 * (t1 - t0)):
            acc[u] += pp[u]


@njit(cache=True, nogil=True, boundscheck=False)
def _accumulate(total, y, index, values, first):
    """total[m] += y[m] · v(first + m), v linear between (index, values) and held outside; segment by segment
    (the value at sample n depends on n only: bit-exact chunking)."""
    n_out, last = total.size, index.size - 1
    k = np.searchsorted(index, first, side="right") - 1
    m = 0
    while m < n_out:
        if k < 0 or k >= last:
            stop, v0, slope, n0 = (index[0] - first if k < 0 else n_out), values[max(k, 0)], 0.0, first
        else:
            stop, v0, n0 = index[k + 1] - first, values[k], index[k]
            slope = (values[k + 1] - values[k]) / (index[k + 1] - index[k])
        stop = min(max(stop, m + 1), n_out)
        for j in range(m, stop):
            total[j] += y[j] * np.float32(v0 + slope * (first + j - n0))
        m = stop
        k += 1


def raised_cosine_spectrum(f_hz, symbol_rate_sps: float, rolloff: float) -> np.ndarray:
    """``R(f)``: 1 for ``|f| ≤ (1−β)/2T``, ``½(1 + cos(πT/β (|f| − (1−β)/2T)))`` up to ``(1+β)/2T``, then 0."""
    t, f = 1.0 / symbol_rate_sps, np.abs(np.asarray(f_hz, dtype=np.float64))
    f1, f2 = (1 - rolloff) / (2 * t), (1 + rolloff) / (2 * t)
    roll = 0.5 * (1 + np.cos(np.pi * t / rolloff * (f - f1)))
    return np.where(f <= f1, 1.0, np.where(f <= f2, roll, 0.0))


@lru_cache(maxsize=8)
def _overlap_table(symbol_rate_sps: float, rolloff: float, n_points: int = 2001) -> tuple[np.ndarray, np.ndarray]:
    """κ on a grid of Δf over [0, (1+β) R_s] (trapezoid quadrature of the two spectra over the band)."""
    edge = (1 + rolloff) * symbol_rate_sps / 2
    f = np.linspace(-edge, edge, n_points)
    r = raised_cosine_spectrum(f, symbol_rate_sps, rolloff)
    d = np.linspace(0.0, 2 * edge, 401)
    shifted = raised_cosine_spectrum(f - d[:, None], symbol_rate_sps, rolloff)
    return d, np.trapezoid(r * shifted, f, axis=-1) / symbol_rate_sps


def rc_overlap(delta_f_hz, symbol_rate_sps: float, rolloff: float) -> np.ndarray:
    """``κ(Δf) = T ∫ R(f) R(f − Δf) df`` (``κ(0) = 1 − β/4``, 0 beyond ``|Δf| = (1+β) R_s``), from a quadrature
    table interpolated linearly (error < 1e-5)."""
    d, kappa = _overlap_table(float(symbol_rate_sps), float(rolloff))
    return np.interp(np.abs(np.asarray(delta_f_hz, dtype=np.float64)), d, kappa, right=0.0)


def predicted_sinr_db(esn0_db, gain_rel_db, offsets_hz, serving_hz, symbol_rate_sps: float, rolloff: float,
                      channel_gain_db=0.0) -> np.ndarray:
    """``SINR = 1 / (N0/(g Es) + Σ_i κ(f_i − f_0) G_i/G_0)`` in dB (module docstring); arrays (T,) and (T, I)."""
    rel = 10.0 ** (np.asarray(gain_rel_db) / 10.0)
    kappa = rc_overlap(np.asarray(offsets_hz) - np.asarray(serving_hz)[..., None], symbol_rate_sps, rolloff)
    inv = 10.0 ** (-(np.asarray(esn0_db) + channel_gain_db) / 10.0) + np.sum(rel * kappa, axis=-1)
    return -10.0 * np.log10(inv)


class CoChannelInterference:
    """Streaming sum of the emulated co-channel carriers at the handset (module docstring).

    Parameters
    ----------
    sample_rate_sps : float
    waveform : WaveformConfig
        Pulse (roll-off, span) and samples per symbol of the serving carrier.
    index : int64 (K,)
        Absolute sample indices of the table points (strictly increasing).
    amplitude : float64 (I, K)
        ``a(n) · 10^(ΔG_i/20)`` of each interferer at the table points (0: not co-channel then).
    freq_hz : float64 (I, K)
        Each interferer's frequency at the handset.
    rng : numpy.random.Generator
        Source of the data keys, timing offsets and the residual's noise.
    residual_power : float64 (K,) or None
        Power per sample of the Gaussian stand-in for the beams not emulated.

    ``generate(n, first_index)`` returns complex64 ``(n,)``; consecutive calls need consecutive indices
    only for speed (any order gives the same samples).
    """

    def __init__(self, sample_rate_sps: float, waveform, index, amplitude, freq_hz, rng: np.random.Generator,
                 residual_power=None):
        self.sps = int(waveform.sps)
        taps = rrc_taps(waveform.rolloff, self.sps, waveform.rrc_span_symbols) * np.sqrt(self.sps)
        self.pulses = np.empty((4, 2 * taps.size), np.float32)  # symbol q = (b1 b0): ((1 − 2 b0) + j(1 − 2 b1))/√2
        for q in range(4):
            self.pulses[q, 0::2] = taps * (1 - 2 * (q & 1)) / np.sqrt(2.0)
            self.pulses[q, 1::2] = taps * (1 - 2 * (q >> 1)) / np.sqrt(2.0)
        self.index = np.asarray(index, dtype=np.int64)
        self.amplitude = np.asarray(amplitude, dtype=np.float64).reshape(-1, self.index.size)
        n_int = self.amplitude.shape[0]
        self.keys = [np.uint64(k) for k in rng.integers(0, 2**63 - 1, size=n_int)]
        self.offsets = [int(o) for o in rng.integers(0, self.sps, size=n_int)]
        freq = np.asarray(freq_hz, dtype=np.float64).reshape(n_int, -1)
        self._rotators = [TrajectoryRotator(sample_rate_sps, self.index, freq[i]) for i in range(n_int)]
        self.residual_std = None if residual_power is None or not np.any(residual_power) else np.sqrt(residual_power)
        self._residual = KeyedNoise(1.0, rng) if self.residual_std is not None else None

    @property
    def n_interferers(self) -> int:
        return len(self._rotators)

    def carrier(self, i: int, n: int, first_index: int) -> np.ndarray:
        """Interferer ``i``'s baseband waveform (before its frequency and amplitude), complex64 (n,)."""
        out = np.empty(n, np.complex64)
        _shaped_qpsk(self.keys[i], self.pulses, self.sps, first_index - self.offsets[i], out.view(np.float32))
        return out

    def generate(self, n: int, first_index: int) -> np.ndarray:
        total = np.zeros(n, np.complex64)
        for i, rot in enumerate(self._rotators):
            _accumulate(total, rot.process(self.carrier(i, n, first_index), first_index), self.index,
                        self.amplitude[i], first_index)
        if self._residual is not None:
            _accumulate(total, self._residual.generate(n, first_index), self.index, self.residual_std, first_index)
        return total

    def reset(self) -> None:
        for rot in self._rotators:
            rot.reset()

    def copy(self) -> "CoChannelInterference":
        other = CoChannelInterference.__new__(CoChannelInterference)
        other.__dict__.update(self.__dict__)
        other._rotators = [rot.copy() for rot in self._rotators]
        other._residual = self._residual.copy() if self._residual is not None else None
        return other
