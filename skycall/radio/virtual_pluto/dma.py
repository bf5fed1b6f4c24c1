"""The Pluto's DMA rings, evaluated lazily at the moments the host touches them.

**Receive** (``RxRing``): the ADC produces sample n at the stream clock's time t(n) whether or not
anyone listens. Samples are captured in blocks of B into K kernel blocks; a full block waits in the
done queue until the host dequeues it (``READBUF``). libiio's refill hands the previously dequeued
block back at the same moment, so the host always holds one. With no free block the ADC's samples
are *lost*: the gap is recorded and the overflow bit (xflow register bit 2) is set until cleared.
Capture resumes into the first block freed, at the current sample.

**Transmit** (``TxRing``): the first push starts the DAC. Blocks play back to back; a block pushed
while the queue is empty starts at the DAC's current sample, the samples in between were zeros on
the air: an *underflow* (bit 0). A push into a ring whose K blocks are all queued or playing waits
until the oldest finishes. Every pushed block is kept with its DAC start index (``history``) for a
few seconds, so whoever listens can ask what was on the air at any recent time.

Both are driven only by event times passed in (``advance(t)``): between events nothing needs to
run, and every outcome is a pure function of the event times, so the rings are tested without a
wall clock. Indices are integers of the stream clock (:class:`~skycall.radio.virtual_pluto.clock.StreamClock`).
"""

from collections import deque

import numpy as np

OVERFLOW_BIT, UNDERFLOW_BIT = 0x4, 0x1
DEFAULT_KERNEL_BUFFERS = 4


class RxRing:
    """Receive DMA ring of ``kernel_blocks`` blocks of ``block`` samples (see the module docstring).

    ``clock`` maps wall time → sample index (``index_at``) and back (``time_of``).
    """

    def __init__(self, clock, block: int, kernel_blocks: int = DEFAULT_KERNEL_BUFFERS):
        if block <= 0 or kernel_blocks < 2:
            raise ValueError(f"need block > 0 and >= 2 kernel blocks, got {block}, {kernel_blocks}")
        self.clock, self.block, self.kernel_blocks = clock, int(block), int(kernel_blocks)
        self.free = self.kernel_blocks
        self.cursor = 0  # next sample index neither captured nor lost
        self.filling: int | None = None  # start index of the block being filled
        self.done: deque[int] = deque()
        self.completed: deque[int] = deque()  # every block completed, for whoever makes their samples
        self.held = False
        self.status = 0
        self.lost_samples = 0
        self.gaps: list[list[int]] = []  # [first lost index, samples lost]

    def advance(self, t: float) -> None:
        """Capture (or lose) every sample produced up to wall time ``t``."""
        now = int(np.floor(self.clock.index_at(t)))
        while self.cursor < now:
            if self.filling is None:
                if self.free == 0:
                    self._lose(now - self.cursor)
                    break
                self.free -= 1
                self.filling = self.cursor
            end = self.filling + self.block
            if end > now:
                self.cursor = now
                break
            self.done.append(self.filling)
            self.completed.append(self.filling)
            self.cursor, self.filling = end, None

    def _lose(self, n: int) -> None:
        if self.gaps and self.gaps[-1][0] + self.gaps[-1][1] == self.cursor:
            self.gaps[-1][1] += n
        else:
            self.gaps.append([self.cursor, n])
        self.cursor += n
        self.lost_samples += n
        self.status |= OVERFLOW_BIT

    def drop_filling(self, t: float) -> None:
        """Fault injection: the block being filled is lost (like a transfer dropped on the bus)."""
        self.advance(t)
        if self.filling is not None:
            lost_from, self.cursor = self.filling, self.filling
            self.filling = None
            self.free += 1
            self._lose(int(np.floor(self.clock.index_at(t))) - lost_from)

    def refill(self, t: float) -> tuple[int | None, float]:
        """The host's refill at time ``t``: hand back the held block, take the oldest done one.

        Returns ``(start_index, 0.0)`` when a block was ready, else ``(None, t_ready)``: call again at
        ``t_ready`` (the wall time the block being filled completes).
        """
        self.advance(t)
        if self.held:
            self.held = False
            self.free += 1
            self.advance(t)
        if self.done:
            self.held = True
            return self.done.popleft(), 0.0
        start = self.filling if self.filling is not None else self.cursor
        return None, self.clock.time_of(start + self.block)

    @property
    def gap_events(self) -> int:
        return len(self.gaps)


class TxRing:
    """Transmit DMA ring of ``kernel_blocks`` blocks (see the module docstring).

    ``clock`` is created at the first push by ``start_clock(t)`` (the DAC starts then).
    ``history_s``: how long pushed blocks stay available to :meth:`samples`.
    """

    def __init__(self, start_clock, kernel_blocks: int = DEFAULT_KERNEL_BUFFERS, history_s: float = 5.0):
        if kernel_blocks < 1:
            raise ValueError(f"need >= 1 kernel block, got {kernel_blocks}")
        self.start_clock, self.kernel_blocks, self.history_s = start_clock, int(kernel_blocks), float(history_s)
        self.clock = None
        self.tail = 0  # DAC index where the queued samples end
        self.history: deque[tuple[int, np.ndarray]] = deque()
        self.cyclic: tuple[int, np.ndarray] | None = None
        self.status = 0
        self.underflow_samples = 0
        self.underflow_events = 0
        self.stopped_at: int | None = None
        self._dry = False  # the queue ran out at ``tail`` and nothing was pushed since

    def check(self, t: float) -> None:
        """Notice at time ``t`` a queue that ran dry (sets the underflow bit as the hardware would)."""
        if self.history and self.stopped_at is None and not self._dry and self.now_index(t) > self.tail:
            self._dry = True
            self.underflow_events += 1
            self.status |= UNDERFLOW_BIT

    def now_index(self, t: float) -> int:
        return int(np.floor(self.clock.index_at(t))) if self.clock is not None else 0

    def _busy_ends(self, now: int) -> list[int]:
        """End indices of the blocks still queued or playing at DAC index ``now``, oldest first."""
        ends = []
        for start, x in reversed(self.history):
            if start + len(x) <= now:
                break
            ends.append(start + len(x))
        return ends[::-1]

    def busy_blocks(self, t: float) -> int:
        """Blocks still queued or playing at ``t``."""
        return len(self._busy_ends(self.now_index(t)))

    def push(self, t: float, x: np.ndarray, cyclic: bool = False) -> float:
        """Queue block ``x`` at time ``t``; return 0.0, or the wall time to retry when the ring is full."""
        if self.clock is None:
            self.clock = self.start_clock(t)
        now = self.now_index(t)
        if cyclic:
            self.cyclic = (now, np.asarray(x, np.complex64))
            return 0.0
        busy = self._busy_ends(now)
        if len(busy) >= self.kernel_blocks:
            return self.clock.time_of(busy[0])
        self.check(t)
        if self._dry:  # the queue ran dry: zeros went out in between
            self.underflow_samples += now - self.tail
            self._dry = False
        start = max(now, self.tail)
        self.history.append((start, np.asarray(x, np.complex64)))
        self.tail = start + len(x)
        self._prune(now)
        return 0.0

    def _prune(self, now: int) -> None:
        keep = int(self.history_s * self.clock.fs)
        while self.history and self.history[0][0] + len(self.history[0][1]) < now - keep:
            self.history.popleft()

    def stop(self, t: float) -> None:
        """The buffer was destroyed at ``t``: nothing queued plays any more."""
        now = self.now_index(t)
        self.stopped_at = now
        self.cyclic = None
        while self.history and self.history[-1][0] >= now:
            self.history.pop()
        if self.history and self.history[-1][0] + len(self.history[-1][1]) > now:
            start, x = self.history.pop()
            self.history.append((start, x[: now - start]))

    def samples(self, first: int, n: int) -> np.ndarray:
        """DAC output ``first … first+n−1`` (complex64, full scale 1.0): what was pushed, zeros elsewhere."""
        out = np.zeros(n, np.complex64)
        last = first + n
        if self.cyclic is not None:
            start, x = self.cyclic
            idx = np.arange(max(first, start), last)
            out[idx - first] = x[(idx - start) % len(x)]
        for start, x in reversed(self.history):
            if start + len(x) <= first:
                break
            lo, hi = max(first, start), min(last, start + len(x))
            if lo < hi:
                out[lo - first : hi - first] = x[lo - start : hi - start]
        if self.stopped_at is not None and self.stopped_at < last:
            out[max(self.stopped_at - first, 0) :] = 0
        return out
