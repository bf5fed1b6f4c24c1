"""The digital IF of a real radio: its signal kept off DC, where a zero-IF chip puts its own errors.

Both LOs are tuned ``if_offset_hz`` below the carrier, so the wanted signal sits at +f_IF in the
radio's baseband while the receiver's DC offset, the peer transmitter's LO leakage (both at DC
when the LOs are offset alike) and the I/Q images (mirrored about DC) fall f_IF and 2·f_IF away
from it, outside the channel the resampler keeps. Receive: DC blocker (:mod:`skycall.dsp.dc_block`),
then a mix down by f_IF; transmit: a mix up by f_IF. The mixers' phase is keyed to the absolute
radio sample index (:class:`~skycall.dsp.rotator.TrajectoryRotator`), so chunking and jumps in the
index change nothing but the samples missing; the DC blocker restarts after a jump.
"""

import numpy as np

from skycall.dsp.dc_block import DcBlocker
from skycall.dsp.rotator import TrajectoryRotator


class IfFrontEnd:
    """Digital IF of one radio (see the module docstring); f_IF = 0 and no corner: the identity."""

    def __init__(self, sample_rate_sps: float, if_offset_hz: float = 0.0, dc_block_hz: float = 0.0):
        self.if_offset_hz = float(if_offset_hz)
        index = np.zeros(1, np.int64)
        self._down = TrajectoryRotator(sample_rate_sps, index, [self.if_offset_hz], sign=-1) if if_offset_hz else None
        self._up = TrajectoryRotator(sample_rate_sps, index, [self.if_offset_hz], sign=+1) if if_offset_hz else None
        self._dc = DcBlocker(dc_block_hz, sample_rate_sps) if dc_block_hz else None
        self._rx_next: int | None = None

    def rx(self, x: np.ndarray, first_index: int) -> np.ndarray:
        """Received samples (radio index ``first_index`` first) → channel at 0 Hz."""
        if self._dc is not None:
            if first_index != self._rx_next:
                self._dc.reset()
            x = self._dc.process(x)
        self._rx_next = first_index + len(x)
        return self._down.process(x, first_index) if self._down is not None else x

    def tx(self, x: np.ndarray, first_index: int) -> np.ndarray:
        """Channel at 0 Hz → samples to transmit at radio index ``first_index``."""
        return self._up.process(x, first_index) if self._up is not None else x
