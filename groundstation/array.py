"""Uniform planar phased array (N × M elements in the body x-y plane, boresight +z = nadir).

Directions are direction cosines ``u = sinθ cosφ``, ``v = sinθ sinφ`` (θ off boresight). Element
(n, m) sits at ``x_n = (n - (N-1)/2) d_x``, ``y_m = (m - (M-1)/2) d_y``; steering toward (u0, v0)
applies ``w_nm = a_n b_m exp(-j k (x_n u0 + y_m v0))`` (``k = 2π/λ``), its phase optionally rounded
to ``2π / 2^bits``, with a separable amplitude taper ``a_n b_m`` (uniform: all 1; Taylor: the
n̄-term Taylor window for a given side-lobe level, peak 1). The array factor is
``AF(u, v) = Σ w_nm exp(j k (x_n u + y_m v))``; for uniform exact steering it separates into
``N sin(N ψx/2) / (N sin(ψx/2))``-type factors, ``ψx = k d_x (u - u0)``.

Gain (lossless, ideal embedded elements, no mutual-coupling ripple):
``G(u, v) = G_e(θ) |AF|² / Σ|w|²`` with element gain ``G_e(θ) = (4π d_x d_y / λ²) cosⁿθ``: the
aperture-cell gain (π for λ/2 spacing) times the cosⁿ scan loss. At boresight with λ/2 spacing
``G = π N M η`` (uniform 16 × 16: 29.05 dBi) with the taper efficiency ``η = (Σ|w|)² / (N M Σ|w|²)``
(Taylor −25 dB, n̄ = 4: η = 0.82, −0.86 dB): tapering trades peak gain and a wider beam for lower
side lobes, i.e. less co-channel interference in the neighbouring cells. The model assumes no
grating lobe is visible (see :meth:`PlanarArray.grating_lobes`); :meth:`PlanarArray.directivity_dbi`
integrates the pattern numerically over the sphere as a check.
"""

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.signal.windows import taylor

from groundstation.geodesy import SPEED_OF_LIGHT_M_S
from skycall.errors import ConfigError

_CHUNK = 2048  # directions per block in the general (quantised) array-factor sum
TAPERS = ("uniform", "taylor")


def taper_weights(n: int, taper: str, sll_db: float, nbar: int) -> np.ndarray:
    """Amplitude weights (n,) of one axis, peak 1: uniform, or Taylor (``sll_db`` side lobes, ``nbar`` terms)."""
    if taper == "uniform" or n == 1:
        return np.ones(n)
    return taylor(n, nbar=nbar, sll=sll_db, norm=True, sym=True)


def uv_from_theta_phi(theta_deg, phi_deg) -> tuple[np.ndarray, np.ndarray]:
    th, ph = np.radians(theta_deg), np.radians(phi_deg)
    return np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph)


def theta_phi_from_uv(u, v) -> tuple[np.ndarray, np.ndarray]:
    s = np.hypot(u, v)
    return np.degrees(np.arcsin(np.clip(s, 0.0, 1.0))), np.degrees(np.arctan2(v, u))


class PlanarArray:
    """Uniform rectangular array with digital (per-element) phase steering.

    Parameters
    ----------
    n_x, n_y : int
        Elements along body x (along-track) and y.
    freq_hz : float
        Carrier frequency the array is used at.
    spacing_m : float or None
        Element pitch (both axes); ``None`` = λ/2 at ``freq_hz``.
    element_exponent : float
        ``n`` of the element power pattern ``cosⁿθ`` (1.2–1.5 in practice; 0 = isotropic over the
        front hemisphere). Every element is backed by a ground plane: nothing radiates for θ > 90°.
    phase_bits : int or None
        Phase-shifter resolution; ``None`` = exact phases.
    taper : str
        ``"uniform"`` or ``"taylor"`` amplitude taper (separable, the same on both axes).
    taylor_sll_db, taylor_nbar : float, int
        Taylor taper side-lobe level (dB below the peak, > 13.3) and number of nearly equal side lobes.
    """

    def __init__(
        self,
        n_x: int = 16,
        n_y: int = 16,
        freq_hz: float = 1545.0e6,
        spacing_m: float | None = None,
        element_exponent: float = 1.3,
        phase_bits: int | None = None,
        taper: str = "uniform",
        taylor_sll_db: float = 25.0,
        taylor_nbar: int = 4,
    ):
        if int(n_x) < 1 or int(n_y) < 1:
            raise ConfigError("<array>", "size", f"{n_x}x{n_y}: need at least 1 element per axis")
        if not 1e6 <= freq_hz <= 100e9:
            raise ConfigError("<array>", "freq_hz", f"{freq_hz} Hz is outside 1 MHz - 100 GHz")
        if not 0.0 <= element_exponent <= 10.0:
            raise ConfigError("<array>", "element_exponent", f"{element_exponent} is outside [0, 10]")
        if phase_bits is not None and not 1 <= int(phase_bits) <= 16:
            raise ConfigError("<array>", "phase_bits", f"{phase_bits} is outside 1-16 (or None for exact)")
        self.n_x, self.n_y = int(n_x), int(n_y)
        self.freq_hz = float(freq_hz)
        self.wavelength_m = SPEED_OF_LIGHT_M_S / self.freq_hz
        self.spacing_m = 0.5 * self.wavelength_m if spacing_m is None else float(spacing_m)
        if not self.spacing_m > 0.0:
            raise ConfigError("<array>", "spacing_m", f"{spacing_m} must be > 0")
        self.element_exponent = float(element_exponent)
        self.phase_bits = None if phase_bits is None else int(phase_bits)
        self.wavenumber_rad_m = 2.0 * np.pi / self.wavelength_m
        self.x_m = (np.arange(self.n_x) - (self.n_x - 1) / 2.0) * self.spacing_m
        self.y_m = (np.arange(self.n_y) - (self.n_y - 1) / 2.0) * self.spacing_m
        if taper not in TAPERS:
            raise ConfigError("<array>", "taper", f"{taper!r} is not one of {TAPERS}")
        if taper == "taylor" and not (13.3 < taylor_sll_db <= 60.0 and 1 <= int(taylor_nbar) <= 20):
            raise ConfigError("<array>", "taylor_sll_db", f"{taylor_sll_db} dB / nbar {taylor_nbar}: need 13.3 < SLL "
                              "<= 60 dB (a uniform array's first side lobe is -13.3 dB) and 1 <= nbar <= 20")
        self.taper, self.taylor_sll_db, self.taylor_nbar = taper, float(taylor_sll_db), int(taylor_nbar)
        self.a_x = taper_weights(self.n_x, taper, self.taylor_sll_db, self.taylor_nbar)
        self.a_y = taper_weights(self.n_y, taper, self.taylor_sll_db, self.taylor_nbar)

    @property
    def n_elements(self) -> int:
        return self.n_x * self.n_y

    @property
    def power_sum(self) -> float:
        """``Σ|w|²``: total radiated power in units of one full-drive element's power."""
        return float(np.sum(self.a_x**2) * np.sum(self.a_y**2))

    @property
    def taper_efficiency(self) -> float:
        """``η = (Σ|w|)² / (N M Σ|w|²)`` (1 for a uniform array)."""
        return float((np.sum(self.a_x) * np.sum(self.a_y)) ** 2 / (self.n_elements * self.power_sum))

    def peak_gain_dbi(self) -> float:
        """Gain of the beam steered to boresight, at boresight: ``10 log10(G_e(0) N M η)``."""
        return float(self.gain_dbi(0.0, 0.0, 0.0, 0.0))

    def at_frequency(self, freq_hz: float) -> "PlanarArray":
        """The same physical array (same pitch, same taper) used at another carrier, e.g. the uplink."""
        return PlanarArray(self.n_x, self.n_y, freq_hz, self.spacing_m, self.element_exponent, self.phase_bits,
                           self.taper, self.taylor_sll_db, self.taylor_nbar)

    def _quantise(self, phase_rad):
        if self.phase_bits is None:
            return phase_rad
        step = 2.0 * np.pi / 2**self.phase_bits
        return np.round(phase_rad / step) * step

    def weights(self, steer_u: float, steer_v: float) -> np.ndarray:
        """Steering weights (taper × phase), shape (n_x, n_y), complex128."""
        k = self.wavenumber_rad_m
        phase = -k * (self.x_m[:, None] * steer_u + self.y_m[None, :] * steer_v)
        return self.a_x[:, None] * self.a_y[None, :] * np.exp(1j * self._quantise(phase))

    def array_factor(self, steer_u, steer_v, u, v) -> np.ndarray:
        """``AF(u, v) / Σ|w|`` (1 at the beam peak) for the array steered to (steer_u, steer_v); arguments broadcast.

        Exact phases: product of the two separable 1-D sums. Quantised phases: full N·M sum.
        """
        su, sv, u, v = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (steer_u, steer_v, u, v)))
        k = self.wavenumber_rad_m
        wx, wy = self.a_x / np.sum(self.a_x), self.a_y / np.sum(self.a_y)
        flat = [a.ravel() for a in (su, sv, u, v)]
        out = np.empty(flat[0].size, dtype=np.complex128)
        if self.phase_bits is None:  # separable; blocks of directions bound the (directions, N) temporaries
            for lo in range(0, out.size, 64 * _CHUNK):
                fu, fv, ou, ov = (a[lo : lo + 64 * _CHUNK, None] for a in flat)
                out[lo : lo + 64 * _CHUNK] = (np.exp(1j * k * (ou - fu) * self.x_m) @ wx) * (
                    np.exp(1j * k * (ov - fv) * self.y_m) @ wy)
            return out.reshape(su.shape)
        x, y = self.x_m[None, :, None], self.y_m[None, None, :]
        w = wx[None, :, None] * wy[None, None, :]
        for lo in range(0, out.size, _CHUNK):
            fu, fv, ou, ov = (a[lo : lo + _CHUNK, None, None] for a in flat)
            phase = self._quantise(-k * (x * fu + y * fv)) + k * (x * ou + y * ov)
            out[lo : lo + _CHUNK] = np.sum(w * np.exp(1j * phase), axis=(1, 2))
        return out.reshape(su.shape)

    def element_gain(self, u, v) -> np.ndarray:
        """Linear element gain ``(4π d²/λ²) cosⁿθ``; 0 outside the visible region (u² + v² > 1)."""
        cos_theta = np.sqrt(np.clip(1.0 - np.asarray(u) ** 2 - np.asarray(v) ** 2, 0.0, None))
        g0 = 4.0 * np.pi * self.spacing_m**2 / self.wavelength_m**2
        pattern = cos_theta**self.element_exponent if self.element_exponent > 0 else np.ones_like(cos_theta)
        return np.where(np.asarray(u) ** 2 + np.asarray(v) ** 2 <= 1.0, g0 * pattern, 0.0)

    def gain_dbi(self, steer_u, steer_v, u, v) -> np.ndarray:
        """Gain toward (u, v) of the beam steered to (steer_u, steer_v), dBi (``-inf`` outside)."""
        n_eff = self.n_elements * self.taper_efficiency
        power = self.element_gain(u, v) * n_eff * np.abs(self.array_factor(steer_u, steer_v, u, v)) ** 2
        with np.errstate(divide="ignore"):
            return 10.0 * np.log10(power)

    def gain_dbi_theta_phi(self, steer_theta_deg, steer_phi_deg, theta_deg, phi_deg) -> np.ndarray:
        """:meth:`gain_dbi` with directions as (θ, φ) degrees."""
        return self.gain_dbi(*uv_from_theta_phi(steer_theta_deg, steer_phi_deg), *uv_from_theta_phi(theta_deg, phi_deg))

    def grating_lobes(self, steer_u: float, steer_v: float) -> list[tuple[float, float]]:
        """Visible grating lobes ``(u0 + p λ/d, v0 + q λ/d)``, (p, q) ≠ (0, 0), with u² + v² ≤ 1."""
        step = self.wavelength_m / self.spacing_m
        reach = int(np.ceil(2.0 / step)) + 1
        lobes = []
        for p in range(-reach, reach + 1):
            for q in range(-reach, reach + 1):
                gu, gv = steer_u + p * step, steer_v + q * step
                if (p, q) != (0, 0) and gu * gu + gv * gv <= 1.0:
                    lobes.append((float(gu), float(gv)))
        return lobes

    def max_grating_free_scan_deg(self) -> float:
        """Largest scan angle with no visible grating lobe: ``sinθ_max = λ/d - 1`` (90° if λ/d ≥ 2)."""
        s = self.wavelength_m / self.spacing_m - 1.0
        return 90.0 if s >= 1.0 else float(np.degrees(np.arcsin(max(s, 0.0))))

    def directivity_dbi(self, steer_u: float = 0.0, steer_v: float = 0.0, n_mu: int = 400, n_phi: int = 720) -> float:
        """Peak directivity ``4π max P / ∫ P dΩ`` of ``P = |AF|² cosⁿθ``, by quadrature over the sphere.

        Gauss-Legendre in ``μ = cosθ`` on [0, 1] × uniform (spectrally exact) φ; ``dΩ = dμ dφ``;
        the back hemisphere is dark (ground plane).
        """
        mu, w_mu = np.polynomial.legendre.leggauss(n_mu)
        mu, w_mu = 0.5 * (mu + 1.0), 0.5 * w_mu
        phi = np.arange(n_phi) * (2.0 * np.pi / n_phi)
        sin_t = np.sqrt(1.0 - mu**2)[:, None]
        u, v = sin_t * np.cos(phi), sin_t * np.sin(phi)
        power = self.element_gain(u, v) * np.abs(self.array_factor(steer_u, steer_v, u, v)) ** 2
        total = np.sum(power * w_mu[:, None]) * (2.0 * np.pi / n_phi)
        peak = self.element_gain(steer_u, steer_v) * np.abs(self.array_factor(steer_u, steer_v, steer_u, steer_v)) ** 2
        return float(10.0 * np.log10(4.0 * np.pi * peak / total))

    def half_power_beamwidth_deg(self, steer_theta_deg: float = 0.0, phi_deg: float = 0.0) -> float:
        """Full −3 dB width (degrees of θ) of the beam in the scan plane φ = ``phi_deg``.

        Measured on the gain pattern (element factor included): the peak is located first (it
        squints toward boresight), then both −3 dB points by Brent's method.
        """

        def cut(theta_deg):
            # signed θ: negative angles lie in the φ + 180° half-plane
            return self.gain_dbi_theta_phi(steer_theta_deg, phi_deg, theta_deg, phi_deg)

        guess = 0.886 * self.wavelength_m / (max(self.n_x, self.n_y) * self.spacing_m)
        guess_deg = np.degrees(guess) / max(np.cos(np.radians(steer_theta_deg)), 0.05)
        peak = minimize_scalar(
            lambda t: -cut(t),
            bounds=(steer_theta_deg - guess_deg / 2, steer_theta_deg + guess_deg / 2),
            method="bounded",
        )
        level = -peak.fun - 10.0 * np.log10(2.0)

        def edge(direction):
            step = guess_deg / 4
            a = peak.x
            b = a + direction * step
            while cut(b) > level:
                a, b = b, b + direction * step
                if abs(b) > 90.0:
                    raise ValueError("the beam has no -3 dB edge inside the visible region")
            return brentq(lambda t: cut(t) - level, min(a, b), max(a, b), xtol=1e-9)

        return float(edge(+1) - edge(-1))
