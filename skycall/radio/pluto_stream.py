"""The real-time halves of :class:`~skycall.radio.pluto.PlutoRadio`: what a receive refill and a transmit
push mean when the board runs from its own clock and the host may be late.

**Receive** (:class:`RxReader`). Blocks arrive in order. The DMA overflows only when all K kernel
blocks are taken (K − 1 done, one held by the host); a refill hands the held block back (capture
restarts into it) and takes the oldest done one. Each refill is judged by the
:class:`~skycall.radio.hostclock.HostClock`, from when its block (at the next index) was complete,
``t_end``: it *waited* (``t_end`` after the request, returned within ``TIMELY_FRACTION`` of a block
of it: the ring was not full, so no overflow can hide behind it; it feeds the clock), it was
*backlogged* (``t_end`` before the request, returned promptly) or it was *held up* (returned
``TIMELY_FRACTION`` of a block or more after both). The xflow status register (bit 2) is read after
every refill that did not wait, after each while stale blocks are dropped, and every
``STATUS_EVERY_S`` (each read costs round trips). An overflow it reports after

- a backlogged refill: that refill was the first since the ring filled and gave the oldest of K − 1
  stale blocks; capture restarted as it handed its block back;
- a held-up refill: its block is older than the gap either way (it is dropped); the ring filled
  before the refill ran (it gave the oldest stale block, K − 2 remain, capture restarted as it ran)
  or while the host held the block it returned (the next refill gives the first of K − 1 stale
  blocks and restarts capture). The register read after the next refill tells which: the DMA keeps
  overflowing only in the second case (a held-up refill again: the same question once more);
- a refill while stale blocks are dropped: the ring filled again; the jump grows (one event);
- the first refill (none held): all K blocks are stale and capture restarts at the second refill;
- a refill that waited: a block was lost on the way (the ring was not full); the clock places it.

The clock dates a sample by when a refill waiting for it returns (its offset includes the data's
transfer); a hand-back restarts capture one such transfer before the refill that made it returns, so
in the clock's frame capture restarted at that refill's ``t_done``.

The reader *keeps the newest*: it drops exactly the stale blocks (however long their refills take:
a host descheduled in one is not mistaken for fresh samples) and gives the first fresh block the
index the host clock assigns to the restart. The jump is one :class:`~skycall.radio.base.Discontinuity`
(lost = hardware losses + stale blocks dropped; ``stale_samples`` the latter). Exact for K ≥ 3 (the
Pluto's default is 4) and a clock good to better than ``TIMELY_FRACTION`` of a block.

**Transmit** (:class:`TxWriter`). Samples come with the receive index they should be heard at.
``tx_end`` is the receive index at which the next pushed sample will leave the DAC (the DAC starts at
the first push, so ``tx_end`` starts at the host clock's index of that moment). A write that
arrives early is preceded by zeros up to its index (the latency the caller asked for); one that
is late loses its late head (``late_samples``). When the kernel queue ran dry (the host clock past
``tx_end``; xflow status bit 0 confirms) the DAC sent zeros: ``tx_end`` jumps to now and the queued
samples whose moment passed are dropped, so the latency returns to what the caller asked
for instead of growing by every stall. No zeros are ever sent in place of samples.

:func:`find_by_serial` turns ``serial:PREFIX`` into the URI of the USB-attached Pluto with that serial.
"""

import time
from collections.abc import Callable

import numpy as np

from skycall.errors import HardwareNotFound
from skycall.radio.base import RadioCounters
from skycall.radio.hostclock import HostClock

OVERFLOW_BIT, UNDERFLOW_BIT = 0x4, 0x1
TIMELY_FRACTION = 0.25  # a refill back within this fraction of a block of its block's completion was not held up
PUSH_MARGIN_S = 0.002  # a block pushed now leaves the DAC this much later at the earliest
STATUS_EVERY_S = 0.5  # the status register is read at least this often (each read costs round trips)
TX_CHECK_S = 0.02  # ... and before a push when the host clock puts the DAC this close to running dry
DRY_TOLERANCE_S = 0.005  # the host clock past the queued samples by more than its error: the DAC ran dry
PENDING = -1  # the restart is decided by the next refill's status read (see next())
WAITED, BACKLOGGED, HELD_UP = "waited", "backlogged", "held up"


class RxReader:
    """Turns refills into ``(first_index, block)`` with every jump accounted (see the module docstring).

    ``refill()`` returns the next block (complex64); ``status()`` returns the xflow bits and clears
    them (None: the radio has no such register).
    """

    def __init__(self, refill: Callable[[], np.ndarray], block: int, clock: HostClock, counters: RadioCounters,
                 kernel_blocks: int, status: Callable[[], int] | None = None, now=time.monotonic):
        self.refill, self.block, self.clock, self.counters = refill, int(block), clock, counters
        self.kernel_blocks, self.status, self.now = int(kernel_blocks), status, now
        self.timely_s = TIMELY_FRACTION * self.block / clock.fs
        self.expected = 0
        self._unchecked = 0  # samples handed over since the status register was last read
        self._stale_left = 0  # stale blocks still to drop
        self._restart: int | None = None  # estimated index where capture restarted ...
        self._t_restart = 0.0  # ... and when
        self._stale = 0  # stale samples dropped since the overflow
        self._holding = False  # a refill hands back the block the previous one took (none before the first)
        self._fallback: float | None = None  # PENDING and no overflow since: capture restarted then (None: at
        # the next refill, which hands back the first block held)

    def next(self) -> tuple[int, np.ndarray] | None:
        """Refill once; the block to deliver with its index, or None when it was stale and dropped."""
        t_req = self.now()
        x = self.refill()
        t_done = self.now()
        timing = self._timing(t_req, t_done, len(x))
        if self._overflowed(timing, len(x)):
            self._overflow(timing, t_done, len(x))
        elif self._restart == PENDING:  # no overflow since the last read: the stale count stands
            self._restart_at(t_done if self._fallback is None else self._fallback)
        self._holding = True
        if self._restart is not None:
            if self._stale_left > 0:
                self._stale_left -= 1
                self._stale += len(x)
                return None
            start = max(self._restart, self.expected + self._stale)
            self.counters.stale_samples += self._stale
            self.counters.gap(start, start - self.expected, time.time())
            self.clock.restart(start, self._t_restart)
            self.expected, self._restart, self._stale = start, None, 0
        first = self.expected
        self.expected += len(x)
        if timing == WAITED:
            self.clock.observe(self.expected, t_done)
        return first, x

    def _overflow(self, timing: str, t_done: float, n: int) -> None:
        """The register says the DMA overflowed since it was last read (see the module docstring); while
        stale blocks are being dropped it means the ring filled again: the jump grows, it is one event."""
        if self._restart is None:
            self.counters.overflows += 1
        if not self._holding:  # the first refill: all K blocks are stale, the next refill restarts capture
            self._stale_left, self._restart, self._fallback = self.kernel_blocks, PENDING, None
        elif timing == HELD_UP:  # the ring filled before it ran (this block and K − 2 more are stale, capture
            # restarted as it ran) or while it was held (the next read sees the DMA still overflowing)
            self._stale_left, self._restart, self._fallback = self.kernel_blocks - 1, PENDING, t_done
        elif timing == BACKLOGGED or self._restart is not None:  # the oldest of the ring's K − 1 stale blocks
            self._stale_left = self.kernel_blocks - 1
            self._restart_at(t_done)
        else:  # the ring was not full: a block lost on the way; the clock says where this one belongs
            self._restart_at(t_done - n / self.clock.fs, int(round(self.clock.index_at(t_done))) - n)
            if self._restart < self.expected + n // 2:
                self._restart = self.expected

    def _timing(self, t_req: float, t_done: float, n: int) -> str:
        """How a refill went, from when its block was complete by the host clock (stale ones are contiguous)."""
        t_end = self.clock.time_of(self.expected + self._stale + n)
        if t_done - max(t_req, t_end) >= self.timely_s:
            return HELD_UP
        return BACKLOGGED if t_end < t_req - self.timely_s else WAITED

    def _restart_at(self, t: float, index: int | None = None) -> None:
        """Capture restarted at ``t`` in the clock's frame (at ``index``; by default where the clock puts ``t``)."""
        self._t_restart = t
        self._restart = int(round(self.clock.index_at(t))) if index is None else index

    def _overflowed(self, timing: str, n: int) -> bool:
        """The overflow bit, read after a refill that did not wait, while stale blocks are dropped, and when
        ``STATUS_EVERY_S`` has passed; False in between (a host keeping up pays no round trips)."""
        self._unchecked += n
        due = timing != WAITED or self._restart is not None or self._unchecked >= STATUS_EVERY_S * self.clock.fs
        if self.status is None or not due:
            return False
        self._unchecked = 0
        return bool(self.status() & OVERFLOW_BIT)


class TxWriter:
    """Places transmit samples at the receive index they were written for (see the module docstring).

    ``push(block)`` sends one kernel block (blocking while the ring is full); ``status()`` returns and
    clears the xflow bits (None: no register). ``realtime=False`` (lock-step) only cuts blocks.
    """

    def __init__(self, push: Callable[[np.ndarray], None], block: int, clock: HostClock, counters: RadioCounters,
                 status: Callable[[], int] | None = None, now=time.monotonic, realtime: bool = True):
        self.push, self.block, self.clock, self.counters = push, int(block), clock, counters
        self.status, self.now, self.realtime = status, now, realtime
        self.margin = int(PUSH_MARGIN_S * clock.fs)
        self.tolerance = int(DRY_TOLERANCE_S * clock.fs) if realtime and status is not None else 0
        self.tx_end = 0
        self._staging = np.zeros(0, np.complex64)
        self._written = np.zeros(0, bool)  # which staged samples the caller wrote (the others are padding)
        self._unchecked = 0  # samples pushed since the status register was last read
        self.min_lead_s = float("inf")  # how early the writes came, at worst (since the last take_lead)

    def start(self, t_first_push: float, blocks: int = 1) -> None:
        """The DAC started at host time ``t_first_push`` (when the first of the caller's ``blocks`` blocks of
        zeros went through: a push that had to wait started it late) with ``blocks`` blocks queued."""
        self.tx_end = int(round(self.clock.index_at(t_first_push))) + blocks * self.block

    def write(self, x: np.ndarray, index: int | None) -> None:
        """Queue ``x`` to leave the DAC at receive index ``index`` (None: right after the previous write)."""
        x = np.asarray(x, np.complex64)
        if self.realtime and index is not None and self.clock.ready:
            self.min_lead_s = min(self.min_lead_s, (index - self.clock.index_at(self.now())) / self.clock.fs)
        expected = self.tx_end + len(self._staging)
        pad = 0
        if index is not None and index > expected:
            pad = index - expected
            x = np.concatenate([np.zeros(pad, np.complex64), x])
        elif index is not None and index < expected:
            late = min(expected - index, len(x))
            self.counters.late_samples += late
            x = x[late:]
        self._staging = np.concatenate([self._staging, x])
        self._written = np.concatenate([self._written, np.arange(len(x)) >= pad])
        while len(self._staging) >= self.block:
            if self.realtime:
                self._catch_up()
            if len(self._staging) < self.block:
                break
            self.push(self._staging[: self.block])
            self._staging, self._written = self._staging[self.block :], self._written[self.block :]
            self.tx_end += self.block

    def take_lead(self) -> float:
        """The worst write lead (s) since the last call: below 0, writes arrived after their air time."""
        lead, self.min_lead_s = self.min_lead_s, float("inf")
        return lead

    def _catch_up(self) -> None:
        """If the DAC ran dry, move ``tx_end`` to now and drop the staged samples whose moment passed.

        The host clock says where "now" is: past ``tx_end`` by more than ``DRY_TOLERANCE_S`` (its own
        error), the queue ran out and this push will leave at once. The xflow register, read when the
        clock puts the DAC near running dry and every ``STATUS_EVERY_S``, confirms and counts the events
        (a radio without it is judged by the clock alone).
        """
        now_index = int(self.clock.index_at(self.now())) + self.margin
        dry = now_index - self.tx_end
        flagged = False
        if self.status is not None:
            self._unchecked += self.block
            near = dry > -TX_CHECK_S * self.clock.fs
            if near or self._unchecked >= STATUS_EVERY_S * self.clock.fs:
                self._unchecked = 0
                flagged = bool(self.status() & UNDERFLOW_BIT)
        if dry <= self.tolerance:
            if flagged:
                self.counters.underflows += 1  # a short one, over already: nothing to move
            return
        self.counters.underflows += 1
        self.counters.underflow_samples += dry
        late = min(dry, len(self._staging))
        self.counters.late_samples += int(np.count_nonzero(self._written[:late]))
        self._staging, self._written = self._staging[late:], self._written[late:]
        self.tx_end += dry  # what was not staged yet is late on arrival (see ``write``)


def find_by_serial(serial: str) -> str:
    """The libiio URI of the Pluto whose serial starts with ``serial`` (USB discovery reports serials)."""
    import iio

    try:
        found = iio.scan_contexts()
    except OSError as err:
        raise HardwareNotFound(f"libiio discovery failed ({err}); give the radio's ip: or usb: URI instead") from None
    matches = [uri for uri, desc in found.items() if f"serial={serial}" in desc]
    if len(matches) != 1:
        listed = "; ".join(f"{uri}: {desc}" for uri, desc in found.items()) or "none"
        what = "no" if not matches else f"{len(matches)}"
        raise HardwareNotFound(f"{what} Pluto with a serial starting {serial!r} (found: {listed}); "
                               "`skycall probe` lists the radios and their serials")
    return matches[0]
