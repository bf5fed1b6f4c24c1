"""The real-time halves of :class:`~skycall.radio.pluto.PlutoRadio`: what a receive refill and a transmit
push mean when the board runs from its own clock and the host may be late.

**Receive** (:class:`RxReader`). Blocks arrive in order; a refill that had to *wait* ended as its last
sample was produced, which feeds the :class:`~skycall.radio.hostclock.HostClock`. The DMA overflows
only when all K kernel blocks are taken (K − 1 done, one held by the host), so when the xflow status
register (bit 2; read after each refill that did not wait, and every ``STATUS_EVERY_S``) says it did,
that refill and the next K − 2 hand over old, contiguous samples, and the block the first of them
gave back starts capturing again at that moment (the first refill holds none back: after a slow start
all K blocks are stale and capture restarts at the second refill). The reader *keeps the newest*: it
drops those stale blocks (ending early if a refill has to wait: fewer were stale) and gives the first
fresh block the index the host clock assigns to the restart. The jump is one :class:`~skycall.radio.base.Discontinuity`
(lost = hardware losses + stale blocks dropped; ``stale_samples`` the latter). A host keeping up
(its refills wait) reads the register only every ``STATUS_EVERY_S``: each read costs round trips.

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
WAITED_FRACTION = 0.5  # a refill that took this fraction of a block period had to wait for the hardware
PUSH_MARGIN_S = 0.002  # a block pushed now leaves the DAC this much later at the earliest
STATUS_EVERY_S = 0.5  # the status register is read at least this often (each read costs round trips)
TX_CHECK_S = 0.02  # ... and before a push when the host clock puts the DAC this close to running dry
DRY_TOLERANCE_S = 0.005  # the host clock past the queued samples by more than its error: the DAC ran dry
RESTART_AT_NEXT = -1  # an overflow seen at the first refill: capture restarts at the next one


class RxReader:
    """Turns refills into ``(first_index, block)`` with every jump accounted (see the module docstring).

    ``refill()`` returns the next block (complex64); ``status()`` returns the xflow bits and clears
    them (None: the radio has no such register).
    """

    def __init__(self, refill: Callable[[], np.ndarray], block: int, clock: HostClock, counters: RadioCounters,
                 kernel_blocks: int, status: Callable[[], int] | None = None, now=time.monotonic):
        self.refill, self.block, self.clock, self.counters = refill, int(block), clock, counters
        self.kernel_blocks, self.status, self.now = int(kernel_blocks), status, now
        self.wait_s = WAITED_FRACTION * self.block / clock.fs
        self.expected = 0
        self._unchecked = 0  # samples handed over since the status register was last read
        self._stale_left = 0  # stale blocks still to drop
        self._restart: int | None = None  # estimated index where capture restarted ...
        self._t_restart = 0.0  # ... and when
        self._stale = 0
        self._holding = False  # a refill hands back the block the previous one took (none before the first)

    def next(self) -> tuple[int, np.ndarray] | None:
        """Refill once; the block to deliver with its index, or None when it was stale and dropped."""
        t_req = self.now()
        x = self.refill()
        t_done = self.now()
        waited = t_done - t_req >= self.wait_s
        if self._overflowed(waited, len(x)) and self._restart is None:
            self.counters.overflows += 1
            if waited:  # not backed up (a block lost on the way): the clock says where this one belongs
                self._t_restart = t_done - len(x) / self.clock.fs
                self._restart = int(round(self.clock.index_at(t_done))) - len(x)
                if self._restart < self.expected + len(x) // 2:
                    self._restart = self.expected
            elif self._holding:  # the oldest of the ring's K − 1 stale blocks; capture restarted as the
                self._stale_left = self.kernel_blocks - 1  # held block was handed back
                self._at_restart(t_req, t_done)
            else:  # the first refill (none held): all K blocks are stale, the next refill restarts capture
                self._stale_left, self._restart = self.kernel_blocks, RESTART_AT_NEXT
        elif self._restart == RESTART_AT_NEXT:
            self._at_restart(t_req, t_done)
        self._holding = True
        if self._restart is not None:
            if waited:  # fewer stale blocks than the ring holds: this one is fresh, just completed
                self._restart = int(round(self.clock.index_at(t_done))) - len(x)
                self._t_restart, self._stale_left = t_done - len(x) / self.clock.fs, 0
            elif self._stale_left > 0:
                self._stale_left -= 1
                self._stale += len(x)
                return None
            start = max(self._restart, self.expected)
            self.counters.stale_samples += self._stale
            self.counters.gap(start, start - self.expected, time.time())
            self.clock.restart(start, self._t_restart)
            self.expected, self._restart, self._stale = start, None, 0
        first = self.expected
        self.expected += len(x)
        if waited:
            self.clock.observe(self.expected, t_done)
        return first, x

    def _at_restart(self, t_req: float, t_done: float) -> None:
        """Capture restarted during the refill from ``t_req`` to ``t_done``: the block was handed back as
        the request arrived, before the samples came back (most of the refill's time)."""
        self._t_restart = t_req + 0.1 * (t_done - t_req)
        self._restart = int(round(self.clock.index_at(self._t_restart)))

    def _overflowed(self, waited: bool, n: int) -> bool:
        """The overflow bit, read after a refill that did not wait (a backlog: an overflow shows there) or
        when ``STATUS_EVERY_S`` has passed; False in between (a host keeping up pays no round trips)."""
        self._unchecked += n
        if self.status is None or (waited and self._unchecked < STATUS_EVERY_S * self.clock.fs):
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
