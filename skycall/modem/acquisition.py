"""Coarse acquisition: unique-word search over time and a bank of frequency hypotheses.

One FFT of the search window X (length W at the channel rate fs) feeds every hypothesis f_h: the bins
around f_h, weighted by the RRC spectrum, are inverse-transformed at 2 samples/symbol, which is a
matched filter of the signal mixed down by f_h. On each branch y the differential products
d[j] = y[j]·y*[j-2] (one symbol apart) remove any residual offset |f - f_h| < R/2 up to a constant
phase, and are correlated with the UW's differential sequence du[m] = u[m]·u*[m-1]:

    c[τ] = Σ_{m=1}^{U-1} d[τ+2m]·du*[m],   ρ[τ] = |c[τ]|² / Σ_m |d[τ+2m]|²   (noise only: ρ ~ Exp(1)).

A candidate (ρ > detect_threshold) is refined: residual frequency f_res = R·arg(c)/2π, then a coherent
UW correlation over a fine frequency grid gives ρ_coh = |Σ y·u*·e^{-j2πf m/R}|²/Σ|y|² (noise ~ Exp(1));
it is accepted when ρ_coh > confirm_threshold. Timing is refined by a parabola through |corr| at
τ-1, τ, τ+1 (half-symbol steps).
"""

from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft

from skycall.dsp.rrc import rrc_taps
from skycall.modem.profiles import ReceiverProfile
from skycall.modem.waveform import WaveformConfig

_EDGE = 16  # samples (at 2 sps) at each end of the window spoiled by circular filtering


def rrc_spectrum(freq_hz: np.ndarray, symbol_rate_sps: float, rolloff: float) -> np.ndarray:
    """|H(f)| of the root-raised-cosine filter (peak 1): sqrt of the raised-cosine spectrum."""
    f = np.abs(freq_hz) / symbol_rate_sps
    f1, f2 = (1 - rolloff) / 2, (1 + rolloff) / 2
    h = np.zeros_like(f)
    h[f <= f1] = 1.0
    mid = (f > f1) & (f <= f2)
    h[mid] = np.sqrt(0.5 * (1 + np.cos(np.pi / rolloff * (f[mid] - f1))))
    return h


@dataclass(frozen=True)
class Detection:
    """An accepted UW: ``index`` (fractional, channel-rate index of the UW's first symbol centre),
    ``freq_hz`` (carrier offset estimate), ``rho`` and ``rho_coh`` (detection statistics)."""

    index: float
    freq_hz: float
    rho: float
    rho_coh: float


class Acquirer:
    """Stateless UW search over windows of ``window_len`` channel-rate samples.

    ``search(window, window_start)`` tests every UW whose last symbol lies in the newest ``block_len``
    samples of the window (minus the spoiled edge), so consecutive windows hopping by ``block_len``
    test each position exactly once.
    """

    def __init__(self, waveform: WaveformConfig, profile: ReceiverProfile, fs_hz: float, block_len: int):
        self.waveform, self.profile, self.fs_hz = waveform, profile, float(fs_hz)
        rs = waveform.symbol_rate_sps
        self.decim = int(round(self.fs_hz / (2 * rs)))
        if abs(self.decim * 2 * rs - self.fs_hz) > 1e-6 or block_len % self.decim:
            raise ValueError("channel rate and block length must be multiples of 2·symbol_rate")
        u = waveform.uw.astype(np.complex128)
        self.n_uw = u.size
        self.block24 = block_len // self.decim
        n24 = self.block24 + 2 * (self.n_uw - 1) + 2 * _EDGE
        while n24 % 2 or sfft.next_fast_len(n24) != n24:  # even and 2·3·5·7-smooth: fast FFTs
            n24 = sfft.next_fast_len(n24 + n24 % 2)
        self.n24 = n24
        self.window_len = self.n24 * self.decim
        self.block_len = block_len
        df = self.fs_hz / self.window_len
        n_hyp = int(np.ceil(profile.acq_range_hz / profile.acq_step_hz))
        self.hyp_bins = np.round(np.arange(-n_hyp, n_hyp + 1) * profile.acq_step_hz / df).astype(np.int64)
        self.df = df
        k_rel = sfft.fftfreq(self.n24, 1.0 / self.n24).astype(np.int64)
        self._k_rel = k_rel
        self._sel = (self.hyp_bins[:, None] + k_rel[None, :]) % self.window_len
        self._h = rrc_spectrum(k_rel * df, rs, waveform.rolloff)[None, :].astype(np.float32)
        tmpl = np.zeros(self.n24, dtype=np.complex128)
        tmpl[2 : 2 * self.n_uw : 2] = u[1:] * np.conj(u[:-1])
        self._tmpl_f = np.conj(sfft.fft(tmpl)).astype(np.complex64)
        self._u = u
        self.sps = int(round(self.fs_hz / rs))
        self._mf = rrc_taps(waveform.rolloff, self.sps, 8).astype(np.float64)
        end_lo = self.n24 - self.block24 - _EDGE
        self.tau_range = (end_lo - 2 * (self.n_uw - 1), self.n24 - _EDGE - 2 * (self.n_uw - 1))

    def branches(self, spec: np.ndarray, shift: int = 0) -> np.ndarray:
        """Matched-filter outputs at 2 sps for every hypothesis (moved by ``shift`` bins), complex64 (n_hyp, n24),
        from the window's spectrum ``spec``."""
        sel = self._sel if shift == 0 else (self._sel + shift) % self.window_len
        return sfft.ifft(spec[sel] * self._h, axis=1)

    def _energy(self, d: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """e[:, τ] = Σ_{m=1}^{U-1} |d[:, τ+2m]|² for lo ≤ τ < hi (running sums over each half-symbol parity)."""
        p = np.abs(d) ** 2
        e = np.empty((d.shape[0], hi - lo))
        for r in (0, 1):
            cs = np.zeros((d.shape[0], (self.n24 - r + 1) // 2 + 1))
            np.cumsum(p[:, r::2], axis=1, out=cs[:, 1:])
            j0 = (lo - r + 1) // 2  # first τ = r + 2·j at or after lo
            j = np.arange(j0, (hi - r + 1) // 2)
            e[:, r + 2 * j - lo] = cs[:, j + self.n_uw] - cs[:, j + 1]
        return e

    def search(self, window: np.ndarray, window_start: int, centre_hz: float = 0.0) -> Detection | None:
        """Search ``window`` (complex, length window_len, first sample at channel index window_start) with
        the hypotheses shifted to ``centre_hz``. A profile with ``pull_in_hz`` accepts a detection only
        within ±pull_in_hz of the centre (and within ±afc_range_hz of 0 when it has one)."""
        shift = int(np.round(centre_hz / self.df))
        spec = sfft.fft(np.asarray(window, dtype=np.complex64))
        y = self.branches(spec, shift)
        d = np.zeros_like(y)
        d[:, 2:] = y[:, 2:] * np.conj(y[:, :-2])
        c = sfft.ifft(sfft.fft(d, axis=1) * self._tmpl_f, axis=1)
        lo, hi = self.tau_range
        rho = np.abs(c[:, lo:hi]) ** 2 / np.maximum(self._energy(d, lo, hi), 1e-30)
        h, t = np.unravel_index(np.argmax(rho), rho.shape)
        if rho[h, t] <= self.profile.detect_threshold:
            return None
        tau = lo + t
        f_res = np.angle(c[h, tau]) / (2 * np.pi) * self.waveform.symbol_rate_sps
        det = self._confirm(y[h], int(self.hyp_bins[h]) + shift, tau, f_res, window_start, float(rho[h, t]),
                            self.profile.confirm_threshold)
        if det is None or not self.reachable(det.freq_hz, centre_hz):
            return None
        return None if self.profile.pull_in_hz is not None and self._alias(spec, det, tau) else det

    def _alias(self, spec: np.ndarray, det: Detection, tau: int) -> bool:
        """Whether the UW correlates better one symbol rate above or below ``det``: one symbol apart the
        differential and coherent UW statistics cannot tell f from f ± R, so a carrier far outside a
        narrow search would otherwise be taken for one inside it."""
        rs = self.waveform.symbol_rate_sps
        for f in (det.freq_hz - rs, det.freq_hz + rs):
            b = int(np.round(f / self.df))
            y = sfft.ifft(spec[(b + self._k_rel) % self.window_len] * self._h[0])
            alt = self._confirm(y, b, tau, f - b * self.df, 0, float("nan"), 0.0)
            if alt is not None and alt.rho_coh > det.rho_coh:
                return True
        return False

    def reachable(self, freq_hz: float, centre_hz: float) -> bool:
        """Whether the profile's search and correction range reach ``freq_hz`` from ``centre_hz``."""
        p = self.profile
        return (p.pull_in_hz is None or abs(freq_hz - centre_hz) <= p.pull_in_hz) and (
            p.afc_range_hz is None or abs(freq_hz) <= p.afc_range_hz)

    def measure(self, window: np.ndarray, window_start: int, index: float, freq_hz: float) -> Detection | None:
        """Coherent measurement of a UW predicted at channel index ``index`` (±1 half symbol) and
        frequency ``freq_hz`` (±R/64), e.g. the next frames' UWs after a detection. The UW must lie in
        the window at least ``edge_len`` samples from its start. Returns None when ρ_coh is not above
        ``track_threshold`` (a known position and frequency need a lower threshold than a search)."""
        spec = sfft.fft(np.asarray(window, dtype=np.complex64))
        b = int(np.round(freq_hz / self.df))
        y = sfft.ifft(spec[(b + self._k_rel) % self.window_len] * self._h[0])
        tau = int(np.round((index - window_start) / self.decim))
        if tau - 1 < _EDGE or tau + 2 * self.n_uw + 1 > self.n24 - _EDGE:
            raise ValueError(f"UW at index {index} is not inside the window starting at {window_start}")
        return self._confirm(y, b, tau, freq_hz - b * self.df, window_start, float("nan"), self.profile.track_threshold)

    @property
    def edge_len(self) -> int:
        """Samples at the start of a window spoiled by circular filtering."""
        return _EDGE * self.decim

    def _confirm(
        self, y: np.ndarray, bin_: int, tau: int, f_res: float, window_start: int, rho: float, threshold: float
    ) -> Detection | None:
        """Fine frequency and timing of the UW at half-symbol index ``tau`` of branch ``y`` (mixed down by
        ``bin_``·df); None when the coherent statistic is not above ``threshold``."""
        f_fine, corr = self._coherent(y, tau, f_res)
        seg = y[tau : tau + 2 * self.n_uw : 2]
        rho_coh = abs(corr[1]) ** 2 / max(float(np.sum(np.abs(seg) ** 2)), 1e-30)
        if rho_coh <= threshold:
            return None
        a, b, cc = np.abs(corr)
        den = a - 2 * b + cc
        frac = 0.5 * (a - cc) / den if den < 0 else 0.0
        index = window_start + (tau + float(np.clip(frac, -0.5, 0.5))) * self.decim
        freq = bin_ * self.df + f_fine
        return Detection(index=index, freq_hz=float(freq), rho=rho, rho_coh=float(rho_coh))

    def refine(
        self, x: np.ndarray, x_start: int, dets: list[Detection], rate_hz_s: float, fit_rate: bool
    ) -> tuple[float, float, float]:
        """Phase-coherent refinement of the carrier line through several UWs of consecutive frames.

        The coarse line f(n) = f̄ + r·(n - n̄)/fs (f̄, n̄: mean frequency and mid-UW index of ``dets``, r =
        ``rate_hz_s``) is removed with its exact phase Φ(n) = f̄·(n-n̄)/fs + r·(n-n̄)²/(2fs²); each UW's
        coherent correlation c_k = Σ_m MF(x·e^{-j2πΦ})[n_k + m·sps]·u_m* leaves the residual phases
        ψ_k = ψ̄ + 2π·δf·t_k + π·δr·t_k² (t_k = (n_k - n̄)/fs). Unwrapped across the frames (valid while
        |δf| < 1/(2·frame)) they are fitted by a polynomial of degree 2 (``fit_rate``) or 1: one frame
        of phase gives a frequency error 1/(2π·frame) times the phase noise, ~100× finer than a single
        UW's frequency estimate. Returns (f̄ + δf, r + δr, n̄): frequency (Hz) at channel index n̄ and rate.
        ``x`` (channel-rate samples, first at index ``x_start``) must hold every UW with filter margins.
        """
        idx = np.array([d.index for d in dets])
        mid = idx + (self.n_uw - 1) * self.sps / 2  # mid-UW indices: where the UW correlations measure
        n_ref = float(np.mean(mid))
        f_ref = float(np.mean([d.freq_hz for d in dets]))
        half = self._mf.size // 2
        m = np.arange(self.n_uw) * self.sps
        psi = np.empty(idx.size)
        for k, n_k in enumerate(idx):
            n = np.round(n_k).astype(np.int64) + m
            win = np.arange(-half, half + 1)
            tau = (n[:, None] + win[None, :] - n_ref) / self.fs_hz
            mixed = x[n[:, None] + win[None, :] - x_start] * np.exp(
                -2j * np.pi * (f_ref * tau + 0.5 * rate_hz_s * tau * tau)
            )
            y = mixed @ self._mf[::-1]
            psi[k] = np.angle(np.sum(y * np.conj(self._u)))
        psi = np.unwrap(psi)
        t = (mid - n_ref) / self.fs_hz
        if fit_rate and idx.size >= 3:
            c2, c1, _ = np.polyfit(t, psi, 2)
            return f_ref + c1 / (2 * np.pi), rate_hz_s + c2 / np.pi, n_ref
        c1 = np.polyfit(t, psi, 1)[0] if idx.size >= 2 else 0.0
        return f_ref + c1 / (2 * np.pi), rate_hz_s, n_ref

    def _coherent(self, y: np.ndarray, tau: int, f_res: float) -> tuple[float, np.ndarray]:
        """Fine frequency (Hz, within ±R/64 of f_res) maximising the coherent UW correlation at τ, and the
        correlations at τ-1, τ, τ+1 at that frequency."""
        rs = self.waveform.symbol_rate_sps
        m = np.arange(self.n_uw)
        seg = y[tau : tau + 2 * self.n_uw : 2] * np.conj(self._u) * np.exp(-2j * np.pi * f_res / rs * m)
        n_fft = 16 * self.n_uw
        spec = sfft.fft(seg, n_fft)
        span = n_fft // 64
        idx = np.r_[np.arange(0, span + 1), np.arange(n_fft - span, n_fft)]
        k = idx[np.argmax(np.abs(spec[idx]))]
        p = np.abs(spec[[(k - 1) % n_fft, k, (k + 1) % n_fft]])
        den = p[0] - 2 * p[1] + p[2]
        kf = (k if k < n_fft // 2 else k - n_fft) + (0.5 * (p[0] - p[2]) / den if den < 0 else 0.0)
        f_fine = f_res + kf * rs / n_fft
        rot = np.conj(self._u) * np.exp(-2j * np.pi * f_fine / rs * m)
        corr = np.array([np.sum(y[tau + s : tau + s + 2 * self.n_uw : 2] * rot) for s in (-1, 0, 1)])
        return f_fine, corr
