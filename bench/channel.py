"""Channel benchmarks: the co-channel interferers and the flat fading that run for every slot.

``co_channel_interference``: eight emulated co-channel carriers (RRC-shaped QPSK, each on its own
frequency trajectory and amplitude table) summed into one stream, against the natural numpy code
(``scipy.signal.upfirdn`` of the symbols, ``np.interp`` frequency and amplitude, ``exp`` rotation).
``flat_fading``: the Rician gain of a walking handset (Clarke scattered paths, LOS rotator) applied to
a stream, against numpy's linear interpolation of a precomputed gain grid and one multiply.
"""

import numpy as np
from scipy.signal import upfirdn

from bench.common import CHUNK, calls_for, measure_msps, row
from groundstation.interference import CoChannelInterference
from skycall.channel.fading import FlatFading
from skycall.dsp.rrc import rrc_taps
from skycall.modem.waveform import WaveformConfig
from skycall.rng import make_rng

WF = WaveformConfig()
FS = WF.sample_rate_sps
N_INTERFERERS = 8
_INDEX = np.arange(0, int(700 * FS), int(0.01 * FS), dtype=np.int64)  # a 10 ms table, as the trajectory's


def _timed(step, quick: bool) -> float:
    return measure_msps(step, CHUNK, repeats=3 if quick else 5, calls=calls_for(quick))


def _tables():
    t = _INDEX / FS
    freq = np.stack([3000.0 * (i - 4) + 20.0 * t for i in range(N_INTERFERERS)])
    amp = np.stack([0.1 * (1 + 0.5 * np.sin(t / 30 + i)) for i in range(N_INTERFERERS)])
    return freq, amp


class _NumpyInterferers:
    """Natural numpy: upfirdn of random QPSK, np.interp frequency (cumsum phase) and amplitude, exp."""

    def __init__(self, freq, amp):
        self.freq, self.amp, self.first = freq, amp, 0
        self.taps = rrc_taps(WF.rolloff, WF.sps, WF.rrc_span_symbols) * np.sqrt(WF.sps)
        self.rng = make_rng(2)

    def process(self):
        n = np.arange(self.first, self.first + CHUNK)
        total = np.zeros(CHUNK, np.complex64)
        for i in range(N_INTERFERERS):
            bits = self.rng.integers(0, 2, size=(CHUNK // WF.sps + WF.rrc_span_symbols, 2))
            sym = ((1 - 2 * bits[:, 0]) + 1j * (1 - 2 * bits[:, 1])) / np.sqrt(2)
            x = upfirdn(self.taps, sym, up=WF.sps)[:CHUNK]
            phase = 2 * np.pi * np.cumsum(np.interp(n, _INDEX, self.freq[i])) / FS
            total += (x * np.interp(n, _INDEX, self.amp[i]) * np.exp(1j * phase)).astype(np.complex64)
        self.first += CHUNK
        return total


def co_channel_interference(quick: bool) -> dict:
    freq, amp = _tables()
    gen = CoChannelInterference(FS, WF, _INDEX, amp, freq, make_rng(1))
    state = {"first": 0}

    def step():
        gen.generate(CHUNK, state["first"])
        state["first"] += CHUNK

    ref = _NumpyInterferers(freq, amp)
    return row("co_channel_interference", _timed(step, quick), _timed(ref.process, quick),
               f"{N_INTERFERERS} RRC-QPSK carriers on frequency/amplitude tables vs numpy upfirdn+interp+exp")


def flat_fading(quick: bool) -> dict:
    fading = FlatFading(FS, 4.3, _INDEX[[0, -1]], np.array([8.0, 8.0]), np.array([1.0, 1.0]), make_rng(3))
    x = (make_rng(4).standard_normal(CHUNK) + 0j).astype(np.complex64)
    state = {"first": 0}

    def step():
        fading.process(x, state["first"])
        state["first"] += CHUNK

    grid = fading.gains(int(60 * FS), 0)[:: fading.grid_step].astype(np.complex128)
    grid_n = np.arange(grid.size, dtype=np.float64) * fading.grid_step
    ref_state = {"first": 0}

    def ref():
        n = np.arange(ref_state["first"], ref_state["first"] + CHUNK, dtype=np.float64) % grid_n[-1]
        h = np.interp(n, grid_n, grid.real) + 1j * np.interp(n, grid_n, grid.imag)
        ref_state["first"] += CHUNK
        return (x * h).astype(np.complex64)

    return row("flat_fading", _timed(step, quick), _timed(ref, quick),
               "Rician K 8 dB, walking (4.3 Hz Clarke) vs numpy interpolation of a precomputed gain grid")


CASES = [co_channel_interference, flat_fading]
