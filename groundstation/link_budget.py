"""Link budget: EIRP, free-space loss, G/T → C/N0 and Es/N0 for downlink and uplink.

``C/N0 [dBHz] = EIRP [dBW] - L_fs - L_pol - L_margin + G_rx - 10 log10(T_sys) + 228.6``,
``L_fs = 20 log10(4π ρ f / c)``, ``T_sys = T_ant + 290 (10^(NF/10) - 1)`` and
``Es/N0 = C/N0 - 10 log10(R_s)``. Downlink EIRP per beam: ``10 log10(N·M·P_el) + G_array``.

Defaults (one 12 ksym/s carrier of a 16 × 16 array at 1545 MHz, 600 km): each element gives
0.5 mW to this carrier (128 mW per carrier; a real satellite shares its element amplifiers among
many carriers), so EIRP = 20.1 dBW at boresight. With a −3 dBi handset, NF 7 dB at 290 K
(G/T = −34.6 dB/K), 3 dB polarisation loss (linear phone antenna vs circular beam) and a 2 dB
atmospheric/scintillation/body margin, Es/N0 at the beam centre is ≈ 16.5 dB overhead, ≈ 5 dB at
20° elevation and ≈ 1.6 dB at 10° (range loss and cosⁿ scan loss). Uplink: 200 mW handset,
satellite NF 2 dB looking at a 290 K Earth.
"""

from dataclasses import dataclass, fields

import numpy as np

from groundstation.geodesy import SPEED_OF_LIGHT_M_S
from skycall.errors import ConfigError

#: 10 log10(k_B), k_B = 1.380649e-23 J/K
BOLTZMANN_DBW_K_HZ = 10.0 * np.log10(1.380649e-23)


def free_space_loss_db(range_m, freq_hz) -> np.ndarray:
    """``20 log10(4π ρ f / c)`` (dB)."""
    return 20.0 * np.log10(4.0 * np.pi * np.asarray(range_m) * freq_hz / SPEED_OF_LIGHT_M_S)


def system_noise_temp_k(antenna_temp_k: float, noise_figure_db: float) -> float:
    """``T_sys = T_ant + 290 K (10^(NF/10) - 1)``."""
    return antenna_temp_k + 290.0 * (10.0 ** (noise_figure_db / 10.0) - 1.0)


@dataclass(frozen=True)
class LinkBudget:
    """Parameters of both link directions (see the module docstring for the defaults' rationale)."""

    element_power_w: float = 5e-4
    handset_gain_dbi: float = -3.0
    handset_noise_figure_db: float = 7.0
    handset_antenna_temp_k: float = 290.0
    handset_power_w: float = 0.2
    satellite_noise_figure_db: float = 2.0
    satellite_antenna_temp_k: float = 290.0
    polarization_loss_db: float = 3.0
    atmospheric_margin_db: float = 2.0
    symbol_rate_sps: float = 12e3

    def __post_init__(self):
        positive = ("element_power_w", "handset_power_w", "symbol_rate_sps")
        for f in fields(self):
            value = getattr(self, f.name)
            if (
                not np.isfinite(value)
                or (f.name in positive and value <= 0)
                or (f.name.endswith(("_k", "_loss_db", "_margin_db", "figure_db")) and value < 0)
            ):
                raise ConfigError("<link_budget>", f.name, f"{value} is not allowed (must be finite, >= 0)")

    def _cn0_dbhz(self, eirp_dbw, range_m, freq_hz, rx_gain_dbi, t_sys_k) -> np.ndarray:
        loss = free_space_loss_db(range_m, freq_hz) + self.polarization_loss_db + self.atmospheric_margin_db
        return eirp_dbw - loss + rx_gain_dbi - 10.0 * np.log10(t_sys_k) - BOLTZMANN_DBW_K_HZ

    def downlink_cn0_dbhz(self, array_gain_dbi, n_elements: int, range_m, freq_hz: float) -> np.ndarray:
        """Satellite beam → handset C/N0 (dBHz)."""
        eirp = 10.0 * np.log10(n_elements * self.element_power_w) + np.asarray(array_gain_dbi)
        t_sys = system_noise_temp_k(self.handset_antenna_temp_k, self.handset_noise_figure_db)
        return self._cn0_dbhz(eirp, range_m, freq_hz, self.handset_gain_dbi, t_sys)

    def uplink_cn0_dbhz(self, array_gain_dbi, range_m, freq_hz: float) -> np.ndarray:
        """Handset → satellite beam C/N0 (dBHz)."""
        eirp = 10.0 * np.log10(self.handset_power_w) + self.handset_gain_dbi
        t_sys = system_noise_temp_k(self.satellite_antenna_temp_k, self.satellite_noise_figure_db)
        return self._cn0_dbhz(eirp, range_m, freq_hz, np.asarray(array_gain_dbi), t_sys)

    def esn0_db(self, cn0_dbhz) -> np.ndarray:
        """``Es/N0 = C/N0 - 10 log10(R_s)``."""
        return np.asarray(cn0_dbhz) - 10.0 * np.log10(self.symbol_rate_sps)
