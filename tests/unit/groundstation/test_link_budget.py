import numpy as np
import pytest

from groundstation.array import PlanarArray
from groundstation.link_budget import PRESETS, LinkBudget, free_space_loss_db, preset
from skycall.errors import ConfigError

K_B = 1.380649e-23
C = 299_792_458.0
R_EARTH_M = 6371e3  # TR 38.811 §6.6.2 slant-range geometry


def _slant_range_m(altitude_m, elevation_deg):
    """TR 38.811 eq. (6.6-3): d = sqrt(R² sin²α + h² + 2 h R) - R sin α."""
    s = np.sin(np.radians(elevation_deg))
    return np.sqrt(R_EARTH_M**2 * s**2 + altitude_m**2 + 2 * altitude_m * R_EARTH_M) - R_EARTH_M * s


def test_downlink_cn0_equals_friis_in_linear_units():
    b, arr = preset("skycall-v1"), PlanarArray()
    rng_m, f, g_arr_db = 1.2e6, 1545e6, 27.0
    lam = C / f
    p_rx = (256 * b.element_power_w) * 10 ** (g_arr_db / 10) * 10 ** (b.handset_gain_dbi / 10) * (
        lam / (4 * np.pi * rng_m)
    ) ** 2
    p_rx /= 10 ** ((b.polarization_loss_db + b.other_margin_db) / 10)
    t_sys = b.handset_antenna_temp_k + 290 * (10 ** (b.handset_noise_figure_db / 10) - 1)
    assert b.downlink_cn0_dbhz(g_arr_db, arr, rng_m, f) == pytest.approx(10 * np.log10(p_rx / (K_B * t_sys)), abs=1e-9)
    assert free_space_loss_db(600e3, 1545e6) == pytest.approx(151.79, abs=0.01)


def test_uplink_cn0_equals_friis_in_linear_units():
    b, arr = preset("skycall-v1"), PlanarArray(freq_hz=1646.5e6)
    rng_m, f, g_arr_db = 900e3, 1646.5e6, 28.0
    lam = C / f
    p_rx = b.handset_power_w * 10 ** ((b.handset_gain_dbi + g_arr_db) / 10) * (lam / (4 * np.pi * rng_m)) ** 2
    p_rx /= 10 ** ((b.polarization_loss_db + b.other_margin_db) / 10)
    t_sys = b.satellite_antenna_temp_k + 290 * (10 ** (b.satellite_noise_figure_db / 10) - 1)
    assert b.uplink_cn0_dbhz(g_arr_db, arr, rng_m, f) == pytest.approx(10 * np.log10(p_rx / (K_B * t_sys)), abs=1e-9)


def test_tr38821_set1_reproduces_table_6_1_3_3_1_sc9():
    """TR 38.821 Table 6.1.3.3-1, case SC9 (LEO-600, S-band 2 GHz, Set-1, handheld UE at 30° elevation):
    DL: EIRP 34 dBW/MHz (48.8 dBW in 30 MHz), FSPL 159.1 dB, atmospheric 0.1, shadowing 3.0,
    scintillation 2.2, polarisation 0 dB, UE G/T −31.6 dB/K → CNR 6.6 dB.
    UL: 23 dBm, 0 dBi, same losses, satellite G/T 1.1 dB/K, 360 kHz → CNR 2.8 dB (C/N0 58.3 dBHz).
    The table's antenna does not scan: evaluated at the beam peak (array gain = the array's peak)."""
    b = preset("tr38821-set1")
    rho = _slant_range_m(600e3, 30.0)
    assert rho == pytest.approx(1075.1e3, rel=1e-3)
    assert free_space_loss_db(rho, 2e9) == pytest.approx(159.1, abs=0.05)
    assert b.handset_gt_db_k() == pytest.approx(-31.6, abs=0.05)
    assert b.scintillation_db(2e9) == pytest.approx(2.2, abs=0.005)
    arr = PlanarArray(16, 16, 2e9)
    cn0 = b.downlink_cn0_dbhz(arr.peak_gain_dbi(), arr, rho, 2e9)
    # the carrier's EIRP density over its own noise bandwidth: CNR = Es/N0 for any bandwidth
    assert b.esn0_db(cn0) == pytest.approx(6.6, abs=0.5)
    assert b.esn0_db(cn0) == pytest.approx(6.6, abs=0.06)  # the table's own rounding
    ul_cn0 = b.uplink_cn0_dbhz(arr.peak_gain_dbi(), arr, rho, 2e9)
    assert ul_cn0 - 10 * np.log10(360e3) == pytest.approx(2.8, abs=0.06)


def test_set2_is_6_db_below_set1_and_skycall_v1_is_2_6_db_above_at_2_ghz():
    arr = PlanarArray(16, 16, 2e9)
    rho = _slant_range_m(600e3, 30.0)
    esn0 = {name: b.esn0_db(b.downlink_cn0_dbhz(arr.peak_gain_dbi(), arr, rho, 2e9)) for name, b in PRESETS.items()}
    assert esn0["tr38821-set1"] - esn0["tr38821-set2"] == pytest.approx(6.0, abs=1e-9)
    # 16x16 uniform array at λ/2 (2 GHz): 10 log10(256 · 0.5 mW) + 29.05 dBi = 39.3 dBW/MHz in 12 kHz
    assert esn0["skycall-v1"] - esn0["tr38821-set1"] == pytest.approx(2.6, abs=0.1)


def test_taper_keeps_the_element_drive_and_loses_its_efficiency():
    b = preset("skycall-v1")
    uni, tay = PlanarArray(), PlanarArray(taper="taylor")
    # backed-off element amplifiers: EIRP = P_el Σa² · G = P_el (Σa)² G_e — the taper costs power and gain
    loss = b.eirp_peak_dbw(uni) - b.eirp_peak_dbw(tay)
    expected = -10 * np.log10(tay.power_sum / 256) - 10 * np.log10(tay.taper_efficiency)
    assert loss == pytest.approx(expected, abs=1e-9) and 5.0 < loss < 7.0  # Taylor -25 dB: 6.3 dB
    # a fixed EIRP density is a fixed EIRP whatever the taper
    assert preset("tr38821-set1").eirp_peak_dbw(uni) == preset("tr38821-set1").eirp_peak_dbw(tay)


def test_shadowing_margin_can_be_dropped():
    assert preset("tr38821-set1").shadowing_margin_db == 3.0
    assert preset("tr38821-set1", shadowing_margin=False).shadowing_margin_db == 0.0


def test_bad_budget_value():
    with pytest.raises(ConfigError, match="symbol_rate_sps"):
        LinkBudget(symbol_rate_sps=0.0)
    with pytest.raises(ConfigError, match="preset"):
        preset("tr38821-set3")
