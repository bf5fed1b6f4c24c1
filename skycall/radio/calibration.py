"""Frequency calibration of a lab SDR pair: the tone estimator and the per-serial calibration file.

``skycall calibrate`` has one radio send a tone at ``tone_hz`` on carrier ``freq_hz`` and the other
measure it. With crystal errors ε_tx, ε_rx the receiver sees ``tone_hz + freq_hz·(ε_tx − ε_rx)``, so

    freq_error_ppm = (f_measured − tone_hz) / freq_hz · 1e6       (transmitter relative to receiver)

is stored for the transmitter's serial with the receiver's serial as reference, with its accuracy.
The radio applies ``freq_correction_ppm(serial) = −freq_error_ppm`` (a Pluto as ``xo_correction``,
which moves its LOs and its sample clock together). One measurement calibrates the pair both ways:
the receiver's error relative to the transmitter is ``−freq_error_ppm`` (:func:`require_calibrated`
finds a serial stored either way). A calibration holds only for the pair it was measured on and for
a while (crystals drift with temperature): :func:`require_calibrated` refuses one measured against
another reference radio and warns when it is older than ``max_age_h``. :func:`check_tone` refuses a
capture whose strongest line cannot be the tone (at DC, outside what the crystals allow, or the
transmitter's LO leakage). File (TOML, default ``~/.config/skycall/calibration.toml``, or
``$SKYCALL_CALIBRATION``)::

    ["104473dc599300131100250052b8fe2c"]
    freq_error_ppm = 3.217
    reference_serial = "1044730a199700191f001800f3b3b6a4"
    freq_hz = 1545000000.0
    measured_utc = "2025-01-01T12:00:00Z"
    accuracy_ppm = 0.0004
"""

import datetime
import json
import logging
import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import signal

from skycall.config.hw_profile import HwProfile
from skycall.errors import ConfigError, SkycallError
from skycall.fileio import atomic_write

log = logging.getLogger(__name__)
DC_GUARD_HZ = 2000.0  # a line this close to DC is the receiver's DC offset or the LO leakage, not a tone
LINE_SNR_DB = 20.0  # a spectral line stands this far above the median bin
_LOWPASS_TAPS = 129


class NotCalibrated(SkycallError):
    """The radio pair has no (fitting) stored frequency calibration."""


class CalibrationFailed(SkycallError):
    """A calibration capture cannot be trusted; the message says why and what to change."""


@dataclass(frozen=True)
class DeviceCalibration:
    """Measured frequency error of ``serial``'s reference relative to ``reference_serial`` (ppm)."""

    serial: str
    freq_error_ppm: float
    reference_serial: str
    freq_hz: float
    measured_utc: str
    accuracy_ppm: float = 0.0

    def age_h(self, now: datetime.datetime | None = None) -> float:
        """Hours since the measurement (0 when its time is unknown)."""
        if not self.measured_utc:
            return 0.0
        then = datetime.datetime.strptime(self.measured_utc, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
        return ((now or datetime.datetime.now(datetime.UTC)) - then).total_seconds() / 3600.0


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
    atomic_write(path, "\n".join(lines))
    return path


def require_calibrated(profile_or_serial: HwProfile | str, path: Path | None = None, reference_serial: str = "",
                       max_age_h: float = 0.0, now: datetime.datetime | None = None) -> DeviceCalibration:
    """The calibration of a radio, or :class:`NotCalibrated` telling the user to run ``skycall calibrate``.

    A profile with ``calibration.calibrated = true`` is accepted as is (its ``freq_error_ppm``);
    otherwise its ``calibration.serial`` (or the serial given) is looked up in the calibration file:
    its own entry, or else the newest entry measured with it as the reference, inverted
    (``freq_error_ppm → −freq_error_ppm``, serial and reference swapped: ``skycall calibrate`` with the
    ground station transmitting calibrates the handset as well). With ``reference_serial`` (the radio
    at the other end now) an entry measured against another radio is refused; with ``max_age_h`` an
    older entry is used with one warning.
    """
    serial = profile_or_serial
    if isinstance(profile_or_serial, HwProfile):
        cal = profile_or_serial.calibration
        if cal.calibrated:
            return DeviceCalibration(cal.serial, cal.freq_error_ppm, "", 0.0, "")
        serial = cal.serial
    path = Path(path or default_path())
    entries = load_calibrations(path)
    entry = _lookup(entries, serial, reference_serial) if serial else None
    if entry is None:
        what = f"radio {serial!r}" if serial else "this radio (its profile names no serial)"
        other = _lookup(entries, serial) if serial else None
        if other is not None:
            raise NotCalibrated(
                f"{what} was calibrated against radio {other.reference_serial!r}, but the radio at the other "
                f"end is {reference_serial!r} (swapped or replaced): its calibration does not hold for this pair; "
                "run `skycall calibrate --tx-uri <ground station> --rx-uri <handset>` with these two radios"
            )
        raise NotCalibrated(
            f"{what} has no frequency calibration in {path}: the unmodified-handset demo needs a calibrated "
            "pair; run `skycall calibrate --tx-uri <ground station> --rx-uri <handset>` first"
        )
    age_h = entry.age_h(now)
    if max_age_h and age_h > max_age_h:
        log.warning("the calibration of %s against %s is %.1f h old (measured %s, limit %.0f h): crystals drift "
                    "with temperature (1.5 ppm is 2.3 kHz at 1545 MHz); re-run `skycall calibrate`",
                    serial, entry.reference_serial, age_h, entry.measured_utc, max_age_h)
    return entry


def _lookup(entries: dict[str, DeviceCalibration], serial: str, reference: str = "") -> DeviceCalibration | None:
    """``serial``'s own entry, or the newest one referenced to it, inverted (only against ``reference``)."""
    own = entries.get(serial)
    inverted = [DeviceCalibration(serial, -e.freq_error_ppm, e.serial, e.freq_hz, e.measured_utc, e.accuracy_ppm)
                for e in entries.values() if e.reference_serial == serial]
    found = [e for e in ([own] if own else []) + inverted if not reference or e.reference_serial == reference]
    return max(found, key=lambda e: e.measured_utc) if found else None


def freq_correction_ppm(serial: str, path: Path | None = None) -> float:
    """Correction to apply to ``serial``'s frequencies (the opposite of its measured error)."""
    return -require_calibrated(serial, path).freq_error_ppm


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_tone(x: np.ndarray, sample_rate_sps: float, tone_hz: float, freq_hz: float, max_error_ppm: float) -> float:
    """The strongest line of the capture, refused (:class:`CalibrationFailed`) unless it can be the tone.

    The tone is expected at ``tone_hz`` plus the pair's offset, at most ``max_error_ppm`` of ``freq_hz``.
    The transmitter's LO leakage sits exactly ``tone_hz`` below the tone and the receiver's DC at 0, so
    a strongest line near DC, outside the window, or with a line ``tone_hz`` above it (within 40 dB
    of it and 6 dB stronger than what is ``tone_hz`` below it) is not the tone.
    Returns the line's frequency (Hz, FFT resolution).
    """
    n = len(x)
    spectrum = np.abs(np.fft.fft(np.asarray(x, np.complex128) * np.hanning(n))) ** 2
    freqs = np.fft.fftfreq(n, 1.0 / sample_rate_sps)
    floor = float(np.median(spectrum))
    k = int(np.argmax(spectrum))
    peak_hz, snr_db = float(freqs[k]), 10 * np.log10(spectrum[k] / floor)
    if snr_db < LINE_SNR_DB:
        raise CalibrationFailed(f"no tone received (strongest line {snr_db:.1f} dB above the noise): "
                                "check the cabling, the attenuators and the gains")
    window_hz = max_error_ppm * 1e-6 * freq_hz
    if abs(peak_hz) < DC_GUARD_HZ:
        raise CalibrationFailed(f"the strongest line is at {peak_hz:+.0f} Hz, at DC: that is the receiver's DC offset "
                                "or the transmitter's LO leakage, not the tone; raise the tone's level or the "
                                "transmitter's gain, or choose another --tone-hz")
    if abs(peak_hz - tone_hz) > window_hz:
        off_ppm = (peak_hz - tone_hz) / freq_hz * 1e6
        raise CalibrationFailed(f"the strongest line at {peak_hz:+.0f} Hz is {off_ppm:+.1f} ppm from the tone, more "
                                f"than the two crystals allow (±{max_error_ppm:.0f} ppm): not the tone (interference, "
                                "or the radios are not on the same frequency)")

    def line_near(f_hz: float) -> float:
        near = spectrum[np.abs(freqs - f_hz) <= 4 * sample_rate_sps / n]
        return float(near.max()) if near.size else 0.0

    above, below = line_near(peak_hz + tone_hz), line_near(peak_hz - tone_hz)
    if above >= floor * 10 ** (LINE_SNR_DB / 10) and above >= spectrum[k] * 1e-4 and above > 4 * below:
        weaker_db = 10 * np.log10(spectrum[k] / above)
        raise CalibrationFailed(f"the strongest line at {peak_hz:+.0f} Hz is the transmitter's LO leakage: the tone "
                                f"sits {tone_hz:.0f} Hz above it, {weaker_db:.1f} dB weaker; raise the tone's level "
                                "(or the transmitter's gain) until it dominates, then calibrate again")
    return peak_hz


def tone_accuracy_hz(x: np.ndarray, sample_rate_sps: float, segments: int = 4) -> float:
    """Standard error of :func:`estimate_tone_hz` over the capture: spread of ``segments`` estimates / √segments."""
    parts = np.array_split(np.asarray(x), segments)
    estimates = [estimate_tone_hz(p, sample_rate_sps) for p in parts]
    return float(np.std(estimates, ddof=1) / np.sqrt(segments))


def estimate_tone_hz(x: np.ndarray, sample_rate_sps: float) -> float:
    """Frequency of the strongest tone in ``x``: FFT peak, parabolic refinement, then phase slope.

    Coarse: Hann-windowed FFT peak ``k`` refined by a parabola through the log magnitudes of bins
    k−1, k, k+1. Fine: mix down by the coarse estimate, low-pass to ±8 bins (129-tap Hamming FIR,
    so other lines — DC, LO leakage, images — do not bias it), and take the angle of the lag-L
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
    if n > 4 * _LOWPASS_TAPS:
        y = signal.lfilter(signal.firwin(_LOWPASS_TAPS, min(16.0 / n, 0.5)), 1.0, y)[_LOWPASS_TAPS:]
    lag = len(y) // 4
    fine_hz = np.angle(np.vdot(y[:-lag], y[lag:])) * sample_rate_sps / (2 * np.pi * lag)
    return float(coarse_hz + fine_hz)
