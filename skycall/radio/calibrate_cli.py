"""``skycall calibrate``: measure the frequency error between a ground-station and a handset radio.

The transmitter (a Pluto) repeats a tone from its cyclic buffer; the receiver (Pluto or SoapySDR)
records it; :func:`skycall.radio.calibration.check_tone` makes sure the strongest line can be the
tone (not DC, not the LO leakage, within what the two crystals allow),
:func:`skycall.radio.calibration.estimate_tone_hz` measures it, and the relative error is stored
under the transmitter's serial with its accuracy (see :mod:`skycall.radio.calibration`).
"""

import numpy as np

from skycall.config.hw_profile import load_hw_profile
from skycall.errors import ConfigError, SkycallError
from skycall.radio.base import RadioConfig
from skycall.radio.calibration import (
    DeviceCalibration,
    check_tone,
    estimate_tone_hz,
    store_calibration,
    tone_accuracy_hz,
    utc_now,
)
from skycall.radio.pluto import PlutoRadio


def add_arguments(parser) -> None:
    parser.add_argument("--tx-uri", required=True, help="libiio URI of the transmitting (ground-station) Pluto")
    rx = parser.add_mutually_exclusive_group(required=True)
    rx.add_argument("--rx-uri", help="libiio URI of the receiving (handset) Pluto")
    rx.add_argument("--rx-args", help="SoapySDR args of the receiving radio, e.g. driver=hackrf")
    parser.add_argument("--freq-hz", type=float, default=1545e6, help="carrier (default 1545 MHz, n255 DL)")
    parser.add_argument("--tone-hz", type=float, default=50e3, help="baseband tone offset (Hz)")
    parser.add_argument("--sample-rate-sps", type=float, default=None, help="default 1 MS/s (2 MS/s for Soapy)")
    parser.add_argument("--samples", type=int, default=1 << 16, help="samples measured")
    parser.add_argument("--calibration-file", default=None, help="default ~/.config/skycall/calibration.toml")
    parser.add_argument("--allow-any-tx", action="store_true", help="skip the transmit guard (cabled set-up only)")


def _receiver(args):
    if args.rx_uri:
        return PlutoRadio(load_hw_profile("pluto"), args.rx_uri)
    from skycall.radio.soapy import SoapyRadio

    return SoapyRadio(load_hw_profile("hackrf"), args.rx_args)


def measure(args) -> DeviceCalibration:
    """Run the tone measurement; return the calibration (not yet stored)."""
    rate_sps = args.sample_rate_sps or (1e6 if args.rx_uri else 2e6)
    periods = max(1, round(args.tone_hz * 4096 / rate_sps))
    n_tone = round(periods * rate_sps / args.tone_hz)
    if abs(n_tone * args.tone_hz / rate_sps - periods) > 1e-9:
        raise ConfigError("<cli>", "tone-hz", "choose a tone that divides the sample rate into whole periods")
    extra = {"allow_any_tx": args.allow_any_tx}
    tx, rx = PlutoRadio(load_hw_profile("pluto"), args.tx_uri), _receiver(args)
    max_error_ppm = tx.profile.crystal_tolerance_ppm + rx.profile.crystal_tolerance_ppm
    try:
        tx.open()
        rx.open()
        tx.configure(RadioConfig(tx_freq_hz=args.freq_hz, sample_rate_sps=rate_sps, extra=extra))
        rx.configure(RadioConfig(rx_freq_hz=args.freq_hz, sample_rate_sps=rate_sps, buffer_size=8192))
        tx.transmit_cyclic(0.5 * np.exp(2j * np.pi * args.tone_hz / rate_sps * np.arange(n_tone)))
        rx.start()
        x = _collect(rx, args.samples, skip=2 * 8192)
        tx_serial, rx_serial = tx.serial, getattr(rx, "serial", args.rx_args)
    finally:
        tx.close()
        rx.close()
    check_tone(x, rate_sps, args.tone_hz, args.freq_hz, max_error_ppm)
    offset_hz = estimate_tone_hz(x, rate_sps) - args.tone_hz
    accuracy_ppm = tone_accuracy_hz(x, rate_sps) / args.freq_hz * 1e6
    return DeviceCalibration(tx_serial, offset_hz / args.freq_hz * 1e6, rx_serial, args.freq_hz, utc_now(),
                             accuracy_ppm)


def _collect(rx, n: int, skip: int) -> np.ndarray:
    """``n`` contiguous samples after the first ``skip`` (restarting on a gap in the indices)."""
    chunks, expected = [], None
    while sum(len(c) for c in chunks) < n:
        first, x = rx.read(n, timeout_s=5.0)
        if not len(x):
            raise SkycallError("the receiver delivered no samples for 5 s")
        if first < skip:
            continue
        if expected is not None and first != expected:
            chunks = []
        chunks.append(x)
        expected = first + len(x)
    return np.concatenate(chunks)[:n]


def run(args) -> int:
    cal = measure(args)
    path = store_calibration(cal, args.calibration_file)
    offset_hz = cal.freq_error_ppm * 1e-6 * cal.freq_hz
    print(f"transmitter {cal.serial} is {cal.freq_error_ppm:+.4f} ± {cal.accuracy_ppm:.4f} ppm relative to "
          f"{cal.reference_serial}")
    print(f"({offset_hz:+.1f} ± {cal.accuracy_ppm * 1e-6 * cal.freq_hz:.1f} Hz at {cal.freq_hz / 1e6:.3f} MHz); "
          f"stored in {path}")
    return 0
