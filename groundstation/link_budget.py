"""Link budget: EIRP, losses, G/T → C/N0 and Es/N0 for downlink and uplink, with named parameter sets.

``C/N0 [dBHz] = EIRP - L_fs - L_atm - L_shadow - L_scint - L_pol - L_other + G/T + 228.6``,
``L_fs = 20 log10(4π ρ f / c)``, ``T_sys = T_ant + 290 (10^(NF/10) - 1)``, ``G/T = G - 10 log10 T_sys`` and
``Es/N0 = C/N0 - 10 log10(R_s)``. For a single RRC carrier of R_s symbol/s the power spectral density
in its flat part is ``Es`` per Hz, so an *EIRP density* D (dBW/MHz) means a carrier EIRP of
``D + 10 log10(R_s / 1 MHz)`` and ``Es/N0`` equals the 3GPP CNR (``EIRP density / (k T)``) exactly.

The satellite side is a phased array (:class:`~groundstation.array.PlanarArray`): a parameter set
fixes the EIRP (density) and G/T of the beam *peak at boresight*; toward the handset the array's own
pattern applies (scan loss ``cosⁿθ``, the roll-off inside the beam, the taper):
``EIRP_h = EIRP_peak + G(handset) - G_peak`` and ``G/T_h = G/T_peak + G(handset) - G_peak``.
3GPP's reference antennas are reflectors without scan loss: the parameter sets are reproduced
exactly at the beam peak (tests/unit/groundstation/test_link_budget.py checks TR 38.821's SC9).

Presets (:data:`PRESETS`; ``[link] preset`` in a flowgraph):

* ``tr38821-set1`` (default) — TR 38.821 Table 6.1.1.1-1 (LEO-600, S-band, Set-1) and the handheld
  UE of Table 6.1.1.1-3, losses of Table 6.1.3.3-1: EIRP density 34 dBW/MHz, satellite G/T
  1.1 dB/K, UE 0 dBi, NF 7 dB, T_ant 290 K (G/T −31.6 dB/K), 23 dBm; atmospheric 0.1 dB,
  shadowing margin 3 dB, polarisation 0 dB, ionospheric scintillation from TR 38.811 §6.6.6.1.4,
  ``6.22 f_GHz^-1.5`` dB (2.2 dB at 2 GHz, as in Table 6.1.3.3-1; 3.2 dB at 1545 MHz).
* ``tr38821-set2`` — TR 38.821 Table 6.1.1.1-2 (Set-2, LEO-600 S-band): EIRP density 28 dBW/MHz,
  satellite G/T −4.9 dB/K (a 24 dBi instead of a 30 dBi antenna), the same UE and losses.
* ``skycall-v1`` — the kit's original numbers: 0.5 mW per element per carrier (16 × 16 uniform:
  20.1 dBW, 39.3 dBW/MHz), a −3 dBi handset, NF 7 dB, 200 mW, satellite NF 2 dB on a 290 K Earth,
  3 dB polarisation loss and one 2 dB margin for everything else. Against Set-1 its downlink
  Es/N0 is 2.6 dB optimistic (5.3 dB more EIRP density, 3 dB less antenna, 3 dB more polarisation
  loss, 3.3 dB less loss otherwise at 2 GHz).
"""

import dataclasses
from dataclasses import dataclass, fields

import numpy as np

from groundstation.geodesy import SPEED_OF_LIGHT_M_S
from skycall.errors import ConfigError

#: 10 log10(k_B), k_B = 1.380649e-23 J/K
BOLTZMANN_DBW_K_HZ = 10.0 * np.log10(1.380649e-23)
DEFAULT_PRESET = "tr38821-set1"


def free_space_loss_db(range_m, freq_hz) -> np.ndarray:
    """``20 log10(4π ρ f / c)`` (dB)."""
    return 20.0 * np.log10(4.0 * np.pi * np.asarray(range_m) * freq_hz / SPEED_OF_LIGHT_M_S)


def system_noise_temp_k(antenna_temp_k: float, noise_figure_db: float) -> float:
    """``T_sys = T_ant + 290 K (10^(NF/10) - 1)``."""
    return antenna_temp_k + 290.0 * (10.0 ** (noise_figure_db / 10.0) - 1.0)


def ionospheric_scintillation_db(freq_hz: float) -> float:
    """TR 38.811 §6.6.6.1.4: ionospheric scintillation loss ``6.22 / f_GHz^1.5`` dB (low latitudes, 1 %)."""
    return float(6.22 / (freq_hz / 1e9) ** 1.5)


@dataclass(frozen=True)
class LinkBudget:
    """Parameters of both link directions (see the module docstring for the presets).

    ``eirp_density_dbw_mhz`` None: the EIRP comes from ``element_power_w`` (each element's power at
    full drive, per carrier) and the array, ``10 log10(P_el Σ|w|²) + G``. ``satellite_gt_db_k``
    None: G/T from the array gain and the satellite receiver's noise figure and antenna temperature.
    ``scintillation_loss_db`` None: TR 38.811's ionospheric formula at the carrier frequency.
    """

    name: str = "custom"
    eirp_density_dbw_mhz: float | None = None
    element_power_w: float = 5e-4
    handset_gain_dbi: float = -3.0
    handset_noise_figure_db: float = 7.0
    handset_antenna_temp_k: float = 290.0
    handset_power_w: float = 0.2
    satellite_gt_db_k: float | None = None
    satellite_noise_figure_db: float = 2.0
    satellite_antenna_temp_k: float = 290.0
    polarization_loss_db: float = 3.0
    atmospheric_loss_db: float = 0.0
    shadowing_margin_db: float = 0.0
    scintillation_loss_db: float | None = 0.0
    other_margin_db: float = 2.0
    symbol_rate_sps: float = 12e3

    def __post_init__(self):
        positive = ("element_power_w", "handset_power_w", "symbol_rate_sps")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "name" or value is None:
                continue
            if (
                not np.isfinite(value)
                or (f.name in positive and value <= 0)
                or (f.name.endswith(("_temp_k", "_loss_db", "_margin_db", "figure_db")) and value < 0)
            ):
                raise ConfigError("<link_budget>", f.name, f"{value} is not allowed (must be finite, >= 0)")

    def scintillation_db(self, freq_hz: float) -> float:
        return ionospheric_scintillation_db(freq_hz) if self.scintillation_loss_db is None \
            else self.scintillation_loss_db

    def _losses(self, range_m, freq_hz) -> list[tuple[str, np.ndarray]]:
        return [
            ("free-space loss", free_space_loss_db(range_m, freq_hz)),
            ("atmospheric loss", np.asarray(self.atmospheric_loss_db)),
            ("shadowing margin", np.asarray(self.shadowing_margin_db)),
            ("scintillation loss", np.asarray(self.scintillation_db(freq_hz))),
            ("polarisation loss", np.asarray(self.polarization_loss_db)),
            ("other margin", np.asarray(self.other_margin_db)),
        ]

    def eirp_peak_dbw(self, array) -> float:
        """EIRP per carrier of a beam steered to boresight, at its peak."""
        if self.eirp_density_dbw_mhz is not None:
            return self.eirp_density_dbw_mhz + 10.0 * np.log10(self.symbol_rate_sps / 1e6)
        return float(10.0 * np.log10(self.element_power_w * array.power_sum) + array.peak_gain_dbi())

    def handset_gt_db_k(self) -> float:
        t_sys = system_noise_temp_k(self.handset_antenna_temp_k, self.handset_noise_figure_db)
        return float(self.handset_gain_dbi - 10.0 * np.log10(t_sys))

    def satellite_gt_peak_db_k(self, array) -> float:
        """Satellite receive G/T at the peak of a beam steered to boresight (``array`` at the uplink carrier)."""
        if self.satellite_gt_db_k is not None:
            return self.satellite_gt_db_k
        t_sys = system_noise_temp_k(self.satellite_antenna_temp_k, self.satellite_noise_figure_db)
        return float(array.peak_gain_dbi() - 10.0 * np.log10(t_sys))

    def downlink_terms(self, array_gain_dbi, array, range_m, freq_hz: float) -> list[tuple[str, np.ndarray]]:
        """Signed terms (dB) whose sum is the downlink C/N0 (dBHz), in printing order."""
        peak = self.eirp_peak_dbw(array)
        return [
            ("satellite EIRP per carrier, beam peak at boresight (dBW)", np.asarray(peak)),
            ("array gain toward the handset re. that peak", np.asarray(array_gain_dbi) - array.peak_gain_dbi()),
            *[(name, -value) for name, value in self._losses(range_m, freq_hz)],
            ("handset G/T (dB/K)", np.asarray(self.handset_gt_db_k())),
            ("-Boltzmann constant (dBW/K/Hz)", np.asarray(-BOLTZMANN_DBW_K_HZ)),
        ]

    def uplink_terms(self, array_gain_dbi, array, range_m, freq_hz: float) -> list[tuple[str, np.ndarray]]:
        """Signed terms (dB) whose sum is the uplink C/N0 (dBHz); ``array`` at the uplink carrier."""
        return [
            ("handset EIRP (dBW)", np.asarray(10.0 * np.log10(self.handset_power_w) + self.handset_gain_dbi)),
            *[(name, -value) for name, value in self._losses(range_m, freq_hz)],
            ("satellite G/T, beam peak at boresight (dB/K)", np.asarray(self.satellite_gt_peak_db_k(array))),
            ("array gain toward the handset re. that peak", np.asarray(array_gain_dbi) - array.peak_gain_dbi()),
            ("-Boltzmann constant (dBW/K/Hz)", np.asarray(-BOLTZMANN_DBW_K_HZ)),
        ]

    def downlink_cn0_dbhz(self, array_gain_dbi, array, range_m, freq_hz: float) -> np.ndarray:
        """Satellite beam → handset C/N0 (dBHz)."""
        return sum(value for _, value in self.downlink_terms(array_gain_dbi, array, range_m, freq_hz))

    def uplink_cn0_dbhz(self, array_gain_dbi, array, range_m, freq_hz: float) -> np.ndarray:
        """Handset → satellite beam C/N0 (dBHz)."""
        return sum(value for _, value in self.uplink_terms(array_gain_dbi, array, range_m, freq_hz))

    def esn0_db(self, cn0_dbhz) -> np.ndarray:
        """``Es/N0 = C/N0 - 10 log10(R_s)``."""
        return np.asarray(cn0_dbhz) - 10.0 * np.log10(self.symbol_rate_sps)


_TR38821_UE_AND_LOSSES = dict(handset_gain_dbi=0.0, handset_noise_figure_db=7.0, handset_antenna_temp_k=290.0,
                              handset_power_w=0.2, polarization_loss_db=0.0, atmospheric_loss_db=0.1,
                              shadowing_margin_db=3.0, scintillation_loss_db=None, other_margin_db=0.0)

#: named parameter sets (module docstring)
PRESETS: dict[str, LinkBudget] = {
    "tr38821-set1": LinkBudget(name="tr38821-set1", eirp_density_dbw_mhz=34.0, satellite_gt_db_k=1.1,
                               **_TR38821_UE_AND_LOSSES),
    "tr38821-set2": LinkBudget(name="tr38821-set2", eirp_density_dbw_mhz=28.0, satellite_gt_db_k=-4.9,
                               **_TR38821_UE_AND_LOSSES),
    "skycall-v1": LinkBudget(name="skycall-v1"),
}


def preset(name: str, shadowing_margin: bool = True) -> LinkBudget:
    """The named parameter set; ``shadowing_margin=False`` drops its static shadowing margin (used when a
    shadowing process replaces it)."""
    if name not in PRESETS:
        raise ConfigError("<link>", "preset", f"{name!r} is not one of {', '.join(PRESETS)}")
    budget = PRESETS[name]
    return budget if shadowing_margin else dataclasses.replace(budget, shadowing_margin_db=0.0)
