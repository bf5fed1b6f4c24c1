"""Waveform v1 modulator: frames -> RRC-shaped QPSK at the radio sample rate (streaming)."""

import numpy as np

from skycall.dsp.fir import FirInterpolator
from skycall.dsp.rrc import rrc_taps
from skycall.modem.frame import Frame, FrameCodec
from skycall.modem.waveform import WaveformConfig


class Transmitter:
    """Streaming modulator: ``process(frames)`` returns exactly ``len(frames)·samples_per_frame`` samples.

    Symbols are zero-stuffed by ``sps`` and filtered with a unit-energy RRC scaled by √sps, so the output
    has unit average power for random data. The filter state is kept across calls (symbol m of the
    stream peaks at output sample m·sps + ``waveform.tx_delay_samples``).
    """

    def __init__(self, waveform: WaveformConfig):
        self.waveform = waveform
        self._codec = FrameCodec(waveform)
        taps = rrc_taps(waveform.rolloff, waveform.sps, waveform.rrc_span_symbols) * np.sqrt(waveform.sps)
        self._interp = FirInterpolator(taps, waveform.sps)

    def symbols(self, frames: list[Frame]) -> np.ndarray:
        """Frame symbols back to back, complex64 (len(frames)·symbols_per_frame,)."""
        if not frames:
            return np.zeros(0, dtype=np.complex64)
        return np.concatenate([self._codec.symbols(f) for f in frames])

    def process(self, frames: list[Frame]) -> np.ndarray:
        return self._interp.process(self.symbols(frames))

    def reset(self) -> None:
        self._interp.reset()

    def copy(self) -> "Transmitter":
        other = Transmitter.__new__(Transmitter)
        other.waveform, other._codec, other._interp = self.waveform, self._codec, self._interp.copy()
        return other
