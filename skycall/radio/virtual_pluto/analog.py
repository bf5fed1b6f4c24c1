"""Analog front end of a free-running twin: what the air carries from its DAC, what its ADC makes of it.

Transmit, evaluated at the listener's sample times t_k (the DAC runs on its own crystal)::

    s(t_k) = G_tx · [ IQ_tx( x(m(t_k)) ) + L ]            zero while the TX LO is powered down
    IQ(x)  = μ·x + ν·conj(x),  μ = (1 + g·e^{−jφ})/2,  ν = (1 − g·e^{+jφ})/2

with x the DAC output interpolated at the fractional DAC index m(t) (Kaiser-windowed sinc, 16
taps), g = 10^(iq_gain_db/20) and φ = iq_phase_deg (image rejection |μ|²/|ν|² ≈ 26 dB for
0.5 dB / 3°), L the LO leakage 10^(lo_leakage_dbfs/20) (a carrier at the TX LO, before the
attenuator) and G_tx = 10^(tx hardwaregain/20).

Receive, ADC sample n at t_n = t(n) − latency::

    r[n] = Q{ IQ_rx( G_rx · s(t_n) · e^{j·2π·θ(t_n)} + D ) + w[n] },   G_rx = 10^((g_rx − cable_db)/20)

θ the carrier phase in cycles, ∫(f_tx,true − f_rx,true) dt accumulated block to block, D the DC offset
(fixed phase drawn from the seed), w white noise at noise_floor_dbfs (seeded per block), Q the
12-bit quantiser with clipping at ±2048.
"""

import math

import numpy as np
from numba import njit

from skycall.config.virtual_pluto import UNTRACKED_DC_DB, UNTRACKED_IQ_FACTOR, VirtualPlutoConfig

KAISER_BETA = 8.0
PHASES = 1024  # fractional positions tabulated; linear interpolation between neighbours


def _sinc_table() -> np.ndarray:
    """Taps for x[i−7 … i+8] at μ = p/PHASES, p = 0 … PHASES: Kaiser(β = 8)-windowed sinc, float32 (P+1, 16)."""
    mu = np.arange(PHASES + 1)[:, None] / PHASES
    d = mu - np.arange(-7, 9)[None, :]
    r = np.clip(d / 8.0, -1.0, 1.0)
    return (np.sinc(d) * np.i0(KAISER_BETA * np.sqrt(1.0 - r * r)) / np.i0(KAISER_BETA)).astype(np.float32)


_TABLE = _sinc_table()


@njit(cache=True, nogil=True)
def _interp_kernel(x, base, pos, table, out):
    """out[k] = Σ_j x[i+j−base]·h_j(μ), i = ⌊pos[k]⌋, μ = pos[k] − i, j = −7 … 8 (zeros outside x);
    h_j(μ) linearly interpolated between the two nearest tabulated phases."""
    n_x = x.size
    n_ph = table.shape[0] - 1
    for k in range(pos.size):
        i = int(np.floor(pos[k]))
        f = (pos[k] - i) * n_ph
        p = min(int(f), n_ph - 1)
        a = np.float32(f - p)
        acc_re = np.float32(0.0)
        acc_im = np.float32(0.0)
        for j in range(16):
            idx = i + j - 7 - base
            if 0 <= idx < n_x:
                c = table[p, j] + a * (table[p + 1, j] - table[p, j])
                acc_re += c * x[idx].real
                acc_im += c * x[idx].imag
        out[k] = complex(acc_re, acc_im)


def interpolate(x: np.ndarray, base: int, positions: np.ndarray) -> np.ndarray:
    """``x`` (complex64, sample ``base`` first) evaluated at fractional ``positions`` (float64)."""
    out = np.empty(len(positions), np.complex64)
    _interp_kernel(np.ascontiguousarray(x, np.complex64), int(base), np.ascontiguousarray(positions, np.float64),
                   _TABLE, out)
    return out


def iq_coefficients(gain_db: float, phase_deg: float, worse: float = 1.0) -> tuple[complex, complex]:
    """``(μ, ν)`` of the I/Q imbalance (``worse`` scales the errors: an untracked receiver)."""
    g = 10.0 ** (worse * gain_db / 20.0)
    phi = math.radians(worse * phase_deg)
    return (1 + g * complex(math.cos(phi), -math.sin(phi))) / 2, (1 - g * complex(math.cos(phi), math.sin(phi))) / 2


def apply_iq(x: np.ndarray, mu: complex, nu: complex) -> np.ndarray:
    if nu == 0:
        return x
    return (np.complex64(mu) * x + np.complex64(nu) * np.conj(x)).astype(np.complex64)


def db_amp(db: float) -> float:
    """Amplitude of a level in dB (≤ −200 dB: exactly zero)."""
    return 0.0 if db <= -200.0 else 10.0 ** (db / 20.0)


class TxFrontEnd:
    """Transmit impairments of one twin (see the module docstring)."""

    def __init__(self, cfg: VirtualPlutoConfig):
        self.mu, self.nu = iq_coefficients(cfg.iq_gain_db, cfg.iq_phase_deg)
        self.leakage = np.complex64(db_amp(cfg.lo_leakage_dbfs))

    def apply(self, dac: np.ndarray, gain_db: float) -> np.ndarray:
        out = np.empty(len(dac), np.complex64)
        _tx_kernel(np.ascontiguousarray(dac, np.complex64), self.mu, self.nu, complex(self.leakage),
                   10.0 ** (gain_db / 20.0), out)
        return out


class RxFrontEnd:
    """Receive chain of one twin: carrier phase, gain, DC, I/Q imbalance, noise, ADC (module docstring)."""

    def __init__(self, cfg: VirtualPlutoConfig):
        self.cfg = cfg
        phase = np.random.default_rng([cfg.seed, 1]).uniform(0, 2 * np.pi)
        self.dc = np.complex64(db_amp(cfg.dc_offset_dbfs) * np.exp(1j * phase))
        self.noise_std = db_amp(cfg.noise_floor_dbfs) / math.sqrt(2.0)
        self._cycles = 0.0  # carrier phase θ at self._t (cycles, in [0, 1))
        self._t: float | None = None
        self._freq_hz = 0.0

    def restart(self) -> None:
        self._t = None

    def process(self, s: np.ndarray, t0: float, dt: float, offset_hz: float, gain_db: float, tracking: dict,
                block_key: tuple) -> np.ndarray:
        """ADC integers (int16, (n, 2)) of the air signal ``s`` sampled at ``t0 + k·dt``.

        ``offset_hz`` = f_tx,true − f_rx,true; ``tracking``: the AD9361's tracking switches;
        ``block_key`` seeds this block's noise.
        """
        n = len(s)
        if self._t is not None:  # θ(t0) = θ(t_prev) + mean offset · elapsed (trapezoid across the gap)
            self._cycles = (self._cycles + 0.5 * (self._freq_hz + offset_hz) * (t0 - self._t)) % 1.0
        self._t, self._freq_hz = t0, offset_hz
        untracked = (not tracking["bb_dc_offset_tracking_en"]) + (not tracking["rf_dc_offset_tracking_en"])
        dc = complex(self.dc) * 10.0 ** (UNTRACKED_DC_DB * untracked / 20.0)
        worse = 1.0 if tracking["quadrature_tracking_en"] else UNTRACKED_IQ_FACTOR
        mu, nu = iq_coefficients(self.cfg.iq_gain_db, self.cfg.iq_phase_deg, worse)
        if self.noise_std > 0:
            w = np.random.default_rng([self.cfg.seed, *block_key]).standard_normal(2 * n, dtype=np.float32)
        else:
            w = np.zeros(2 * n, np.float32)
        out = np.empty((n, 2), np.int16)
        _adc_kernel(np.ascontiguousarray(s, np.complex64), 10.0 ** ((gain_db - self.cfg.cable_db) / 20.0),
                    self._cycles, offset_hz * dt, dc, mu, nu, w, self.noise_std, out)
        return out


@njit(cache=True, nogil=True)
def _tx_kernel(x, mu, nu, leakage, gain, out):
    """out[k] = gain·(μ·x[k] + ν·conj(x[k]) + leakage)."""
    for k in range(x.size):
        v = complex(x[k].real, x[k].imag)
        out[k] = gain * (mu * v + nu * v.conjugate() + leakage)


@njit(cache=True, nogil=True)
def _adc_kernel(s, gain, cycles0, step, dc, mu, nu, noise, noise_std, out):
    """out[k] = Q{ μ·v + ν·conj(v) + σ·w[k] },  v = gain·s[k]·e^{j2π(cycles0 + k·step)} + dc,
    Q: ×2048, round, clip to [−2048, 2047]. The carrier phasor is advanced by multiplication
    (exact start, float64: the error after 10⁵ samples is ~1e-11 rad)."""
    p = complex(math.cos(2 * math.pi * cycles0), math.sin(2 * math.pi * cycles0))
    w = complex(math.cos(2 * math.pi * step), math.sin(2 * math.pi * step))
    for k in range(s.size):
        v = gain * complex(s[k].real, s[k].imag) * p + dc
        p *= w
        r = mu * v + nu * v.conjugate()
        i_val = round((r.real + noise_std * noise[2 * k]) * 2048.0)
        q_val = round((r.imag + noise_std * noise[2 * k + 1]) * 2048.0)
        out[k, 0] = min(max(i_val, -2048), 2047)
        out[k, 1] = min(max(q_val, -2048), 2047)


def warm() -> None:
    """Compile (or load from numba's cache) both kernels before the first buffer is due."""
    interpolate(np.zeros(32, np.complex64), 0, np.array([8.5]))
    _tx_kernel(np.zeros(1, np.complex64), 1 + 0j, 0j, 0j, 1.0, np.empty(1, np.complex64))
    _adc_kernel(np.zeros(1, np.complex64), 1.0, 0.0, 0.0, 0j, 1 + 0j, 0j, np.zeros(2, np.float32), 0.0,
                np.empty((1, 2), np.int16))
