"""The satellite's uplink receive window and timing-advance control (see :mod:`skycall.call.timing`).

Every frame the uplink receiver delivers is timed against the slot grid ``k·N + W0`` (N samples per
slot): ``e = s - W0 - N·round((s - W0)/N)`` with ``s`` the frame's start index. ACCESS frames outside
the random-access window are not detected; other frames more than a symbol off are discarded; the
median error of recent frames drives timing-advance commands through the call session.
"""

import numpy as np

from skycall.call.messages import MsgType
from skycall.call.timing import (
    TA_HOLDOFF_SLOTS,
    TA_MAX_S,
    TA_MEDIAN_FRAMES,
    TA_UPDATE_S,
    WINDOW_S,
)


class UplinkWindow:
    """Admit uplink frames by their timing; keep the handset's timing advance up to date.

    Parameters
    ----------
    sample_rate_sps : float
    samples_per_slot : int
    common_ta_s : float
        W0, seconds (see :func:`skycall.call.timing.common_ta_s`).
    latency_s : float
        The satellite's own receive-chain latency ahead of the receiver (its grid sits this much later
        than W0; the beacon still announces W0).
    """

    def __init__(self, sample_rate_sps: float, samples_per_slot: int, common_ta_s: float, latency_s: float = 0.0):
        self.fs, self.n = float(sample_rate_sps), int(samples_per_slot)
        self.common_ta_s = float(common_ta_s)
        self._w0 = (self.common_ta_s + float(latency_s)) * self.fs
        self._recent: list[float] = []
        self._next_command = 0
        self.rejected = 0
        self.errors_s: list[float] = []  # timing error of every admitted traffic frame

    def error_s(self, sample_index: float) -> float:
        """Timing error (s, + = late) of a frame starting at ``sample_index`` against the slot grid."""
        x = sample_index - self._w0
        return float(x - self.n * np.round(x / self.n)) / self.fs

    def admit(self, slot: int, frames: list, session) -> list:
        """The frames of ``slot`` that the window lets through to call control (``session``:
        :class:`~skycall.call.session.NetworkSession`, which answers accesses and sends TA commands)."""
        out = []
        for f in frames:
            e = self.error_s(f.sample_index)
            if f.crc_ok and f.type == MsgType.ACCESS:
                if -WINDOW_S <= e <= TA_MAX_S:
                    session.access_ta_s = e
                    self._recent.clear()
                    self._next_command = slot + TA_HOLDOFF_SLOTS
                    out.append(f)
                else:
                    self._reject(slot, session, e, "access outside the random-access window")
                continue
            if abs(e) > WINDOW_S:
                self._reject(slot, session, e, "frame outside the uplink receive window")
            else:
                out.append(f)
                if f.crc_ok:
                    self.errors_s.append(e)
            if f.crc_ok:
                self._track(slot, e, session)
        return out

    def _reject(self, slot: int, session, e: float, why: str) -> None:
        if self.rejected == 0 or self.rejected % 250 == 0:
            session.events.append({"t": "ul_timing_reject", "side": session.name, "frame": slot,
                                   "error_us": round(e * 1e6, 1), "reason": why, "count": self.rejected + 1})
        self.rejected += 1

    def _track(self, slot: int, e: float, session) -> None:
        """Median of the last frames' errors; a TA command when it exceeds the update threshold."""
        self._recent = (self._recent + [e])[-TA_MEDIAN_FRAMES:]
        if len(self._recent) < TA_MEDIAN_FRAMES or slot < self._next_command or session.ue_id is None:
            return
        m = float(np.median(self._recent))
        if abs(m) > TA_UPDATE_S:
            session.command_timing_advance(slot, m)
            self._recent.clear()
            self._next_command = slot + TA_HOLDOFF_SLOTS
