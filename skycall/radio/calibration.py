"""Frequency calibration of a lab SDR pair: the tone estimator and the per-serial calibration file.

``skycall calibrate`` has one radio send a tone at ``tone_hz`` on carrier ``freq_hz`` and the other
measure it. With crystal errors ε_tx, ε_rx the receiver sees ``tone_hz + freq_hz·(ε_tx − ε_rx)``, so

    freq_error_ppm = (f_measured − tone_hz) / freq_hz · 1e6       (transmitter relative to receiver)

is stored for the transmitter's serial with the receiver's serial as reference. The FOC path applies
``freq_correction_ppm(serial) = −freq_error_ppm``. One measurement calibrates the pair both ways: the
receiver's error relative to the transmitter is ``−freq_error_ppm`` (:func:`require_calibrated` finds a
serial stored either way). File (TOML, default
``~/.config/skycall/calibration.toml``, or ``$SKYCALL_CALIBRATION``)::

    ["104473dc599300131100250052b8fe2c"]
    freq_error_ppm = 3.217
    reference_serial = "1044730a199700191f001800f3b3b6a4"
    freq_hz = 1545000000.0
    measured_utc = "2025-01-01T12:00:00Z"
"""

import datetime
import json
import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from skycall.config.hw_profile import HwProfile
from skycall.errors import ConfigError, SkycallError


class NotCalibrated(SkycallError):
    """The radio pair has no stored frequency calibration."""


@dataclass(frozen=True)
class DeviceCalibration:
    """Measured frequency error of ``serial``'s reference relative to ``reference_serial`` (ppm)."""

    serial: str
    freq_error_ppm: float
    reference_serial: str
    freq_hz: float
    measured_utc: str


def default_path() -> Path:
    env = os.environ.get("SKYCALL_CALIBRATION")
    return Path(env) if env else Path.home() / ".config" / "skycall" / "calibration.toml"


def load_calibrations(path: Path | None = None) -> dict[str, DeviceCalibration]:
    """All stored calibrations by serial (empty when the file does not exist)."""
    path = Path(path or default_path())
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
        return {serial: DeviceCalibration(serial=serial, **entry) for serial, entry in data.items()}
    except (tomllib.TOMLDecodeError, TypeError) as err:
        raise ConfigError(
            str(path), "", f"not a calibration file ({err}); delete it and run `skycall calibrate`"
        ) from None


def store_calibration(cal: DeviceCalibration, path: Path | None = None) -> Path:
    """Add or replace ``cal`` in the file (other serials are kept); return the path written."""
    path = Path(path or default_path())
    entries = load_calibrations(path)
    entries[cal.serial] = cal
    lines = []
    for serial, entry in sorted(entries.items()):
        lines.append(f"[{json.dumps(serial)}]")
        for key, value in asdict(entry).items():
            if key != "serial":
                lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def require_calibrated(profile_or_serial: HwProfile | str, path: Path | None = None) -> DeviceCalibration:
    """The calibration of a radio, or :class:`NotCalibrated` telling the user to run ``skycall calibrate``.

    A profile with ``calibration.calibrated = true`` is accepted as is (its ``freq_error_ppm``);
    otherwise its ``calibration.serial`` (or the serial given) is looked up in the calibration file:
    its own entry, or else the newest entry measured with it as the reference, inverted
    (``freq_error_ppm → −freq_error_ppm``, serial and reference swapped: ``skycall calibrate`` with the
    ground station transmitting calibrates the handset as well).
    """
    serial = profile_or_serial
    if isinstance(profile_or_serial, HwProfile):
        cal = profile_or_serial.calibration
        if cal.calibrated:
            return DeviceCalibration(cal.serial, cal.freq_error_ppm, "", 0.0, "")
        serial = cal.serial
    path = Path(path or default_path())
    entry = _lookup(load_calibrations(path), serial) if serial else None
    if entry is None:
        what = f"radio {serial!r}" if serial else "this radio (its profile names no serial)"
        raise NotCalibrated(
            f"{what} has no frequency calibration in {path}: the unmodified-handset demo needs a calibrated "
            "pair; run `skycall calibrate --tx-uri <ground station> --rx-uri <handset>` first"
        )
    return entry


def _lookup(entries: dict[str, DeviceCalibration], serial: str) -> DeviceCalibration | None:
    """``serial``'s own entry, or the newest one referenced to it, inverted."""
    if serial in entries:
        return entries[serial]
    as_reference = [e for e in entries.values() if e.reference_serial == serial]
    if not as_reference:
        return None
    newest = max(as_reference, key=lambda e: e.measured_utc)
    return DeviceCalibration(serial, -newest.freq_error_ppm, newest.serial, newest.freq_hz, newest.measured_utc)


def freq_correction_ppm(serial: str, path: Path | None = None) -> float:
    """Correction to apply to ``serial``'s frequencies (the opposite of its measured error)."""
    return -require_calibrated(serial, path).freq_error_ppm


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def estimate_tone_hz(x: np.ndarray, sample_rate_sps: float) -> float:
    """Frequency of the strongest tone in ``x``: FFT peak, parabolic refinement, then phase slope.

    Coarse: Hann-windowed FFT peak ``k`` refined by a parabola through the log magnitudes of bins
    k−1, k, k+1. Fine: mix down by the coarse estimate and take the angle of the lag-L
    autocorrelation, ``Δf = arg(Σ y[n+L]·conj(y[n])) · fs / (2πL)`` with L = N/4 (unambiguous since
    the coarse error is below a bin, fs/N < fs/(2L)).
    """
    x = np.asarray(x, np.complex128)
    n = len(x)
    if n < 64:
        raise ValueError(f"need at least 64 samples to estimate a tone, got {n}")
    mag = np.log(np.abs(np.fft.fft(x * np.hanning(n))) + 1e-30)
    k = int(np.argmax(mag))
    a, b, c = mag[k - 1], mag[k], mag[(k + 1) % n]
    delta = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    coarse_hz = ((k + delta + n / 2) % n - n / 2) * sample_rate_sps / n
    y = x * np.exp(-2j * np.pi * coarse_hz / sample_rate_sps * np.arange(n))
    lag = n // 4
    fine_hz = np.angle(np.vdot(y[:-lag], y[lag:])) * sample_rate_sps / (2 * np.pi * lag)
    return float(coarse_hz + fine_hz)
