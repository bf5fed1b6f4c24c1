"""Modem benchmarks: the receiver's synchronisation kernels and the whole receive chain.

Rows (see ``scripts/bench.py`` for the conventions):

* ``carrier_tracking``: :class:`CarrierTracker` (numba, 1 update/symbol) on CHUNK symbols per call vs the
  same loop written as a natural per-symbol Python loop (no vectorised numpy form exists: each update
  depends on the previous decision). MS/s = million symbols/s.
* ``chirp_mixer``: :class:`ChirpMixer` (phasor recursion) vs numpy ``x·exp(-j2π(f·n + r·n²/2))``.
* ``rx_chain``: :class:`Receiver` (satellite profile, tracking a 40 kHz + 600 Hz/s signal at Es/N0 6 dB)
  fed CHUNK-sized calls of the 240 kS/s stream, samples in -> decoded frames out. The baseline is the
  real-time input rate (0.24 MS/s), so the ratio is the real-time factor.
"""

import cmath
import math

import numpy as np

from bench.common import CHUNK, calls_for, measure_msps, row
from skycall.modem.carrier import CarrierTracker, loop_coefficients
from skycall.modem.nco import ChirpMixer
from skycall.modem.profiles import SATELLITE
from skycall.modem.rx import Receiver
from skycall.modem.tx import Transmitter
from skycall.modem.waveform import WaveformConfig
from skycall.rng import make_rng

WF = WaveformConfig()
RS = WF.symbol_rate_sps


def _symbols(n: int, esn0_db: float = 6.0) -> np.ndarray:
    rng = make_rng(2)
    d = ((2 * rng.integers(0, 2, n) - 1) + 1j * (2 * rng.integers(0, 2, n) - 1)) / np.sqrt(2)
    noise = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * np.sqrt(10 ** (-esn0_db / 10) / 2)
    return (d * np.exp(1j * (2 * np.pi * 5.0 * np.arange(n) / RS)) + noise).astype(np.complex64)


class _PythonCarrierLoop:
    """The same decision-directed third-order loop, one Python iteration per symbol (cmath phasor)."""

    def __init__(self):
        self.c1, self.c2, self.c3, self.a_amp = loop_coefficients(
            SATELLITE.pll_bandwidth_hz, SATELLITE.rate_corner_ratio, RS
        )
        self.theta, self.omega, self.alpha, self.amp = 0.0, 0.0, 0.0, 1.0

    def process(self, x):
        out = np.empty_like(x)
        k = math.sqrt(0.5)
        for n, z in enumerate(x.tolist()):
            r = z * cmath.exp(-1j * self.theta)
            out[n] = r
            self.amp += self.a_amp * ((abs(r.real) + abs(r.imag)) * k - self.amp)
            d = complex(k if r.real >= 0 else -k, k if r.imag >= 0 else -k)
            e = (r * d.conjugate()).imag / self.amp
            self.alpha += self.c3 * e
            self.omega += self.alpha + self.c2 * e
            self.theta = math.fmod(self.theta + self.omega + self.c1 * e, 2 * math.pi)
        return out


def carrier_tracking(quick: bool) -> dict:
    x = _symbols(CHUNK)
    loop = CarrierTracker(RS, SATELLITE.pll_bandwidth_hz, SATELLITE.rate_corner_ratio)
    msps = measure_msps(lambda: loop.process(x), CHUNK, repeats=3 if quick else 5, calls=calls_for(quick))
    ref = _PythonCarrierLoop()
    base = measure_msps(lambda: ref.process(x), CHUNK, repeats=1 if quick else 3)
    return row("carrier_tracking", msps, base, "numba DD 3rd-order loop vs per-symbol Python loop (Msym/s)")


def chirp_mixer(quick: bool) -> dict:
    fs = WF.sample_rate_sps
    x = _symbols(CHUNK)
    mixer = ChirpMixer(fs)
    mixer.set(40_000.0, 600.0)
    f, r = 40_000.0 / fs, 600.0 / fs**2
    state = {"n0": 0}
    n = np.arange(CHUNK, dtype=np.float64)

    def numpy_step():
        m = state["n0"] + n
        y = x * np.exp(-2j * np.pi * np.mod(f * m + 0.5 * r * m * (m - 1), 1.0)).astype(np.complex64)
        state["n0"] += CHUNK
        return y

    calls = calls_for(quick)
    msps = measure_msps(lambda: mixer.process(x), CHUNK, repeats=3 if quick else 5, calls=calls)
    base = measure_msps(numpy_step, CHUNK, repeats=3 if quick else 5, calls=calls)
    return row("chirp_mixer", msps, base, "phasor recursion re-anchored every 64 samples vs numpy exp")


def rx_chain(quick: bool) -> dict:
    fs = WF.sample_rate_sps
    n_frames = 30 if quick else 80
    rng = make_rng(3)
    from skycall.modem.frame import Frame

    frames = [Frame(1, i, 7, rng.integers(0, 256, 40, dtype=np.uint8).tobytes()) for i in range(n_frames)]
    x = Transmitter(WF).process(frames)
    t = np.arange(x.size) / fs
    x = x * np.exp(2j * np.pi * (40_000.0 * t + 300.0 * t * t))
    sigma = np.sqrt(WF.sps / 10**0.6 / 2)
    x = (x + sigma * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))).astype(np.complex64)
    lead = 10 * WF.samples_per_frame  # acquisition happens here, outside the timed part
    rx = Receiver(WF, SATELLITE)
    rx.process(x[:lead], 0)
    if not rx.locked:
        raise RuntimeError("rx_chain benchmark: the receiver did not lock on its test signal")
    seg = x[lead:]

    def stream():
        r = rx.copy()
        n_ok = 0
        for i in range(0, seg.size, CHUNK):
            n_ok += sum(f.crc_ok for f in r.process(seg[i : i + CHUNK], lead + i))
        return n_ok

    msps = measure_msps(stream, seg.size, repeats=2 if quick else 4)
    ok = stream()
    return row(
        "rx_chain",
        msps,
        fs / 1e6,
        f"satellite rx, 40 kHz + 600 Hz/s, Es/N0 6 dB; baseline = real time ({fs / 1e3:g} kS/s), "
        f"ratio = real-time factor; {ok} frames decoded per timed pass",
    )


CASES = [carrier_tracking, chirp_mixer, rx_chain]
