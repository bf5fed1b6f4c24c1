import numpy as np
import pytest

from groundstation.link_budget import LinkBudget, free_space_loss_db
from skycall.errors import ConfigError

K_B = 1.380649e-23
C = 299_792_458.0


def test_downlink_cn0_equals_friis_in_linear_units():
    b = LinkBudget()
    rng_m, f, g_arr_db = 1.2e6, 1545e6, 27.0
    lam = C / f
    p_rx = (
        (256 * b.element_power_w)
        * 10 ** (g_arr_db / 10)
        * 10 ** (b.handset_gain_dbi / 10)
        * (lam / (4 * np.pi * rng_m)) ** 2
    )
    p_rx /= 10 ** ((b.polarization_loss_db + b.atmospheric_margin_db) / 10)
    t_sys = b.handset_antenna_temp_k + 290 * (10 ** (b.handset_noise_figure_db / 10) - 1)
    assert b.downlink_cn0_dbhz(g_arr_db, 256, rng_m, f) == pytest.approx(10 * np.log10(p_rx / (K_B * t_sys)), abs=1e-9)
    assert free_space_loss_db(600e3, 1545e6) == pytest.approx(151.79, abs=0.01)


def test_uplink_cn0_equals_friis_in_linear_units():
    b = LinkBudget()
    rng_m, f, g_arr_db = 900e3, 1646.5e6, 28.0
    lam = C / f
    p_rx = b.handset_power_w * 10 ** ((b.handset_gain_dbi + g_arr_db) / 10) * (lam / (4 * np.pi * rng_m)) ** 2
    p_rx /= 10 ** ((b.polarization_loss_db + b.atmospheric_margin_db) / 10)
    t_sys = b.satellite_antenna_temp_k + 290 * (10 ** (b.satellite_noise_figure_db / 10) - 1)
    assert b.uplink_cn0_dbhz(g_arr_db, rng_m, f) == pytest.approx(10 * np.log10(p_rx / (K_B * t_sys)), abs=1e-9)


def test_default_esn0_overhead_and_low_elevation():
    b = LinkBudget()
    overhead = b.esn0_db(b.downlink_cn0_dbhz(10 * np.log10(np.pi * 256), 256, 600e3, 1545e6))
    assert 10.0 <= overhead <= 17.0
    # 10° elevation: range 1932 km, off-nadir 64.1° -> cos^1.3 scan loss
    low = b.esn0_db(
        b.downlink_cn0_dbhz(10 * np.log10(np.pi * 256 * np.cos(np.radians(64.1)) ** 1.3), 256, 1932e3, 1545e6)
    )
    assert 0.5 <= low <= 5.0


def test_bad_budget_value():
    with pytest.raises(ConfigError, match="symbol_rate_sps"):
        LinkBudget(symbol_rate_sps=0.0)
