"""Where a radio without hardware time stands now, from when its blocking reads complete.

A read that had to wait for the hardware returns just after its last sample was produced:
t_done = t(end) + d, with d ≥ 0 the transport and scheduling delay. Over a sliding window the
least-delayed completion gives the clock's offset

    t(0) ≈ min_window (t_done − end/fs),        index(t) ≈ (t − t(0))·fs,

good to the best delay in the window (a fraction of a millisecond) and to the crystal's error over
the window (25 ppm × 2 s = 50 µs). Both the Pluto (no time stamps on its buffers) and a HackRF
(no hardware time) use it to count samples lost when the host was late, and the Pluto to find
the DAC's current position when its transmitter ran dry.
"""

from collections import deque


class HostClock:
    """Sample index ↔ host time (``time.monotonic()``) of one stream at nominal rate ``fs``."""

    def __init__(self, fs: float, window_s: float = 2.0):
        self.fs, self.window_s = float(fs), float(window_s)
        self._obs: deque[tuple[float, float]] = deque()  # (t_done, offset), offsets increasing (a min-queue)

    @property
    def ready(self) -> bool:
        return bool(self._obs)

    def observe(self, end_index: float, t_done: float) -> None:
        """A read that waited ended with sample ``end_index`` (exclusive) at host time ``t_done``."""
        offset = t_done - end_index / self.fs
        while self._obs and self._obs[-1][1] >= offset:
            self._obs.pop()
        self._obs.append((t_done, offset))
        while len(self._obs) > 1 and self._obs[0][0] < t_done - self.window_s:
            self._obs.popleft()

    def restart(self, index: float, t: float) -> None:
        """The stream jumped: sample ``index`` is (estimated to be) at host time ``t``; forget the rest, so
        the indices after the jump and the clock agree (the reader and the writer both count on them)."""
        self._obs.clear()
        self._obs.append((t, t - index / self.fs))

    def index_at(self, t: float) -> float:
        """Samples produced by host time ``t`` (requires :attr:`ready`)."""
        return (t - self._obs[0][1]) * self.fs

    def time_of(self, index: float) -> float:
        return self._obs[0][1] + index / self.fs
