"""A process's radio seen in 40 ms slots at baseband: what both call processes' loops read and write.

Slot k is radio samples [k·N, (k+1)·N) (N = the radio rate × 40 ms), so slots follow the receiver's
sample clock and, after a discontinuity, jump: :meth:`SlotRadio.read` returns the next *whole* slot
(one touched by lost samples is dropped), and the caller treats the slots it did not get as lost
(the receiver re-acquires: its baseband index jumps too). Per slot: levels at the ADC
(:class:`~skycall.radio.levels.LevelMeter`), the digital IF (:class:`~skycall.radio.frontend.IfFrontEnd`),
the rate adapter to the 240 kS/s baseband and the slot's wall time (unix seconds of its first sample,
from the radio's host clock when it has one). Transmit slot k is written for radio index
k·N + ``tx_lead``: the radio sends it that long after slot k was received (real-time radios place
it there; lock-step ones ignore it). :meth:`SlotRadio.status` is the ``radio_status`` event.
"""

import logging
import math
import time
from fractions import Fraction

import numpy as np

from skycall.config.flowgraph import BASEBAND_RATE_SPS
from skycall.dsp.resample import RationalResampler
from skycall.radio.frontend import IfFrontEnd
from skycall.radio.levels import LevelMeter, level_warning

log = logging.getLogger(__name__)
SLOT_S = 0.04


class RateAdapter:
    """Baseband (240 kS/s) ↔ radio rate, streaming (polyphase resamplers; identity at equal rates)."""

    def __init__(self, radio_rate_sps: float):
        ratio = Fraction(radio_rate_sps / BASEBAND_RATE_SPS).limit_denominator(64)
        self.up = RationalResampler(ratio.numerator, ratio.denominator) if ratio != 1 else None
        self.down = RationalResampler(ratio.denominator, ratio.numerator) if ratio != 1 else None
        self.ratio = ratio

    def to_radio(self, x: np.ndarray) -> np.ndarray:
        return self.up.process(x) if self.up else x

    def from_radio(self, x: np.ndarray) -> np.ndarray:
        return self.down.process(x) if self.down else x

    def radio_samples(self, baseband_samples: int) -> int:
        return int(baseband_samples * self.ratio)


def slot_buffer_size(sample_rate_sps: float, max_samples: int = 1 << 16) -> int:
    """Largest radio buffer (≤ ``max_samples``) that divides one 40 ms slot: a slot written is sent whole.

    A radio moving fixed-size buffers holds back a write's remainder until the next write; with
    slot-sized writes that remainder would be a full-duplex peer's missing samples. Large buffers
    cost a real-time host least (a fixed overhead per buffer): at 960 kS/s one buffer is the slot.
    """
    slot = round(SLOT_S * sample_rate_sps)
    return max(d for d in range(1, min(slot, max_samples) + 1) if slot % d == 0)


class SlotRadio:
    """Slot-wise I/O on a started radio (see the module docstring).

    Parameters
    ----------
    radio : Radio
        Opened, configured and started.
    name : str
        Process name (telemetry, summary).
    sample_rate_sps : float
        Radio rate.
    if_offset_hz, dc_block_hz : float
        Digital IF (the radio's LOs must already sit ``if_offset_hz`` below the carriers).
    tx_lead_s : float
        How long after a slot was received its answer leaves the antenna (real time).
    own_clock : bool
        The radio runs from its own clock (real time): its slot axis does not share sample 0 with
        the other process's, the slots' wall-clock stamps relate them.
    adc : bool
        The samples come from a real (or twin) ADC, whose level the status checks against its window;
        False for a loopback stream (no level warnings).
    """

    def __init__(self, radio, name: str, sample_rate_sps: float, if_offset_hz: float = 0.0, dc_block_hz: float = 0.0,
                 tx_lead_s: float = 0.0, own_clock: bool = False, adc: bool = True):
        self.radio, self.name, self.own_clock, self.adc = radio, name, own_clock, adc
        self.rate = RateAdapter(sample_rate_sps)
        self.front = IfFrontEnd(sample_rate_sps, if_offset_hz, dc_block_hz)
        self.n = round(SLOT_S * sample_rate_sps)
        self.lead = round(tx_lead_s * sample_rate_sps)
        self.fs = float(sample_rate_sps)
        self.levels = LevelMeter()
        self.slot_times: dict[int, float] = {}
        self._slot = 0  # next slot expected
        self._wall = time.time() - time.monotonic()

    def read(self) -> tuple[int, np.ndarray]:
        """The next whole slot received: ``(slot, baseband samples)``."""
        slot, parts, got = self._slot, [], 0
        while got < self.n:
            first, x = self.radio.read(self.n - got)
            if not len(x):
                continue
            self.levels.add(x)
            if first != slot * self.n + got:  # samples lost: the slot they touched is gone, go on at the next whole one
                slot, parts, got = -(-first // self.n), [], 0
                x = x[slot * self.n - first :]
            parts.append(x)
            got += len(x)
        self._slot = slot + 1
        x = np.concatenate(parts) if len(parts) > 1 else parts[0]
        start = slot * self.n
        clock = getattr(self.radio, "clock", None)
        if clock is not None and clock.ready:
            self.slot_times[slot] = self._wall + clock.time_of(start)
        else:
            self.slot_times[slot] = time.time() - self.n / self.fs
        return slot, self.rate.from_radio(self.front.rx(x, start))

    def write(self, slot: int, baseband: np.ndarray) -> None:
        """Transmit slot ``slot`` (baseband samples), ``tx_lead`` after it was received."""
        index = slot * self.n + self.lead
        self.radio.write(self.front.tx(self.rate.to_radio(baseband), index), index)

    def status(self) -> dict:
        """The ``radio_status`` event: counters so far and this period's receive level."""
        c = self.radio.counters
        reading = self.levels.take()
        warning = level_warning(reading) if self.adc else None
        if warning:
            log.warning("%s: %s", self.name, warning)
        take_lead = getattr(self.radio, "take_tx_lead_s", None)
        lead_s = take_lead() if take_lead is not None else math.inf
        return {"proc": self.name, "overflows": c.overflows, "underflows": c.underflows,
                "lost_samples": c.lost_samples, "discontinuities": len(c.discontinuities),
                "rx_rms_dbfs": _finite(reading["rx_rms_dbfs"]), "rx_peak_dbfs": _finite(reading["rx_peak_dbfs"]),
                "clipped": self.levels.clipped, "tx_lead_min_ms": _finite(1000.0 * lead_s)}

    def summary(self) -> dict:
        """The process's entry in ``summary.json``'s ``radio`` object."""
        c = self.radio.counters
        levels = self.levels.summary()
        return {"proc": self.name, "own_clock": self.own_clock, "tx_lead_s": self.lead / self.fs,
                "overflows": c.overflows, "underflows": c.underflows,
                "lost_samples": c.lost_samples, "stale_samples": c.stale_samples,
                "underflow_samples": c.underflow_samples, "late_samples": c.late_samples,
                "discontinuities": len(c.discontinuities),
                "rx_rms_dbfs": _finite(levels["rx_rms_dbfs"]), "rx_peak_dbfs": _finite(levels["rx_peak_dbfs"]),
                "clipped": levels["clipped"],
                "discontinuity_list": [{"index": d.index, "lost_samples": d.lost_samples, "time_s": d.time_s}
                                       for d in c.discontinuities]}

    def slot_time_array(self, n_slots: int) -> np.ndarray:
        """Unix time of each slot's first sample (NaN for slots never received)."""
        out = np.full(n_slots, np.nan)
        for k, t in self.slot_times.items():
            if k < n_slots:
                out[k] = t
        return out


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
