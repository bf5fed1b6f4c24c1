"""A calibration holds for one pair and a while; a capture must really show the tone. One message each."""

import datetime
import logging

import numpy as np
import pytest

from skycall.radio.calibration import (
    CalibrationFailed,
    DeviceCalibration,
    NotCalibrated,
    check_tone,
    estimate_tone_hz,
    require_calibrated,
    store_calibration,
    tone_accuracy_hz,
)

FS, F_C, TONE = 1e6, 1545e6, 50e3


def _capture(rng, lines: dict[float, float], n=1 << 15, noise=1e-3):
    """Sum of complex tones {frequency: amplitude} plus white noise."""
    k = np.arange(n)
    x = sum(a * np.exp(2j * np.pi * f / FS * k + 1j * i) for i, (f, a) in enumerate(lines.items()))
    return x + noise * (rng.standard_normal(n) + 1j * rng.standard_normal(n))


@pytest.fixture
def cal_file(tmp_path):
    path = tmp_path / "calibration.toml"
    store_calibration(DeviceCalibration("GS", 40.0, "HS", F_C, "2026-01-01T00:00:00Z", 0.001), path)
    return path


def test_a_calibration_measured_against_another_radio_is_refused_with_one_message(cal_file):
    assert require_calibrated("HS", cal_file, reference_serial="GS").freq_error_ppm == -40.0
    with pytest.raises(NotCalibrated) as err:
        require_calibrated("HS", cal_file, reference_serial="GS-SPARE")
    msg = str(err.value)
    assert "'HS' was calibrated against radio 'GS'" in msg and "'GS-SPARE'" in msg and "skycall calibrate" in msg
    assert "\n" not in msg


def test_a_stale_calibration_is_used_with_one_warning(cal_file, caplog):
    later = datetime.datetime(2026, 1, 3, tzinfo=datetime.UTC)
    with caplog.at_level(logging.WARNING):
        cal = require_calibrated("HS", cal_file, reference_serial="GS", max_age_h=24.0, now=later)
    assert cal.freq_error_ppm == -40.0
    assert len(caplog.records) == 1 and "48.0 h old" in caplog.text and "re-run `skycall calibrate`" in caplog.text
    caplog.clear()
    require_calibrated("HS", cal_file, reference_serial="GS", max_age_h=72.0, now=later)
    assert not caplog.records


def test_a_leakage_dominated_capture_is_refused_with_one_message(rng):
    """The leakage (at the pair's offset Δ) 6 dB above the tone (at Δ + 50 kHz): the strongest line is not the tone."""
    offset = 61_800.0
    with pytest.raises(CalibrationFailed, match="is the transmitter's LO leakage: the tone sits 50000 Hz above it"):
        check_tone(_capture(rng, {offset: 1.0, offset + TONE: 0.5}), FS, TONE, F_C, 50.0)
    # the same with the tone dominating is fine, and measured exactly despite the leakage and a DC offset
    x = _capture(rng, {0.0: 0.5, offset: 0.5, offset + TONE: 1.0})
    assert check_tone(x, FS, TONE, F_C, 50.0) == pytest.approx(offset + TONE, abs=FS / len(x))
    assert estimate_tone_hz(x, FS) == pytest.approx(offset + TONE, abs=0.05)
    assert tone_accuracy_hz(x, FS) < 0.05


def test_dc_and_out_of_window_lines_are_refused(rng):
    with pytest.raises(CalibrationFailed, match="at DC"):
        check_tone(_capture(rng, {300.0: 1.0, 40e3: 0.1}), FS, TONE, F_C, 50.0)
    with pytest.raises(CalibrationFailed, match="more than the two crystals allow"):
        check_tone(_capture(rng, {250e3: 1.0}), FS, TONE, F_C, 50.0)
    with pytest.raises(CalibrationFailed, match="no tone received"):
        check_tone(_capture(rng, {}, noise=1.0), FS, TONE, F_C, 50.0)
