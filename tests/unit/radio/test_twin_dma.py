"""The free-running twin's DMA rings and the host's real-time reader and writer, on a simulated clock.

Every event time is given, so the outcomes are exact: what the ring loses when the host is late,
how the reader skips ahead to the newest samples and accounts for every lost one, and how the
writer places transmit samples at their index and gets its latency back after a stall.
"""

import numpy as np
import pytest

from skycall.radio.base import RadioCounters
from skycall.radio.hostclock import HostClock
from skycall.radio.pluto_stream import RxReader, TxWriter
from skycall.radio.virtual_pluto.clock import Crystal, StreamClock
from skycall.radio.virtual_pluto.dma import OVERFLOW_BIT, UNDERFLOW_BIT, RxRing, TxRing

FS = 1000.0  # 1 kS/s: a sample per millisecond keeps the arithmetic readable
B, K = 10, 4


def _clock(t_start=0.0, ppm=0.0):
    return StreamClock(Crystal(ppm=ppm), t_start, FS, 1.0)


def test_rx_ring_loses_exactly_what_arrives_while_every_block_is_taken():
    ring = RxRing(_clock(), B, K)
    assert ring.refill(0.0) == (None, pytest.approx(0.010))  # nothing captured yet: ready at sample 10
    ring.advance(0.0405)  # 40 samples: all K blocks done, none free
    ring.advance(0.100)  # 60 more samples with no free block: lost
    assert ring.lost_samples == 60 and ring.gaps == [[40, 60]] and ring.status & OVERFLOW_BIT
    start, _ = ring.refill(0.100)  # the host takes block 0 (holds it); nothing was handed back before
    assert start == 0
    start, _ = ring.refill(0.1203)  # hands block 0 back at 0.100+: capture restarts there, losing 0.100..0.120
    assert start == 10 and ring.gaps == [[40, 80]] and ring.lost_samples == 80
    assert [ring.refill(0.121)[0], ring.refill(0.122)[0]] == [20, 30]  # the stale backlog, contiguous
    start, t_ready = ring.refill(0.123)  # the block filling since 0.1203 (samples 120..129) is not done yet
    assert start is None and t_ready == pytest.approx(0.130)
    assert ring.refill(0.130)[0] == 120


def test_rx_ring_drop_loses_the_block_being_filled():
    ring = RxRing(_clock(), B, K)
    ring.drop_filling(0.0155)  # block 1 (samples 10..) half filled
    assert ring.gaps == [[10, 5]] and ring.status & OVERFLOW_BIT
    ring.advance(0.030)
    assert list(ring.done) == [0, 15]  # capture resumed at sample 15


def test_tx_ring_plays_back_to_back_and_counts_the_zeros_of_an_underflow():
    ring = TxRing(_clock, K)
    x = (np.arange(B) + 1).astype(np.complex64)
    assert ring.push(0.000, x) == 0.0  # starts the DAC: samples 0..9
    assert ring.push(0.001, x) == 0.0  # queued behind: 10..19
    ring.check(0.0255)  # nothing after 20: the DAC is sending zeros
    assert ring.status & UNDERFLOW_BIT and ring.underflow_events == 1
    ring.push(0.0305, x)  # resumes at the DAC's current sample 30
    assert ring.underflow_samples == 10 and ring.underflow_events == 1
    np.testing.assert_array_equal(ring.samples(0, 40), np.concatenate([x, x, np.zeros(10), x]))
    for _ in range(K - 1):
        ring.push(0.031, x)
    assert ring.busy_blocks(0.031) == K
    assert ring.push(0.031, x) == pytest.approx(0.040)  # full: retry when the playing block ends


def test_tx_ring_stop_ends_the_transmission_at_once():
    ring = TxRing(_clock, K)
    ring.push(0.0, np.ones(B, np.complex64))
    ring.push(0.0, np.ones(B, np.complex64))
    ring.stop(0.0125)
    np.testing.assert_array_equal(ring.samples(0, 20), np.r_[np.ones(12), np.zeros(8)])


class SimHost:
    """A host reading a twin's RxRing in virtual time: ``refill`` advances the clock as a real read waits.

    A refill reaches the ring ``0.1·transfer_s`` after it is asked for and returns ``0.9·transfer_s``
    after the ring gave its block; a status read costs ``transfer_s``. ``holds[k] = (before_s, after_s)``
    holds refill k up before it reaches the ring (the request stuck) or after (the host descheduled).
    """

    def __init__(self, ring: RxRing, transfer_s: float = 0.0):
        self.ring, self.t, self.handed, self.transfer_s = ring, 0.0, [], transfer_s
        self.holds: dict[int, tuple[float, float]] = {}

    def now(self) -> float:
        return self.t

    def refill(self) -> np.ndarray:
        before_s, after_s = self.holds.pop(len(self.handed), (0.0, 0.0))
        self.t += before_s + 0.1 * self.transfer_s
        start, t_ready = self.ring.refill(self.t)
        while start is None:  # wait for the block being filled (a hair past its end: the ring floors)
            self.t = t_ready + 1e-9
            start, t_ready = self.ring.refill(self.t)
        self.t += 0.9 * self.transfer_s + after_s
        self.handed.append(start)
        return np.arange(start, start + B).astype(np.complex64)  # the samples carry their true index

    def status(self) -> int:
        self.t += 0.5 * self.transfer_s
        self.ring.advance(self.t)  # what the twin's register read does
        bits = self.ring.status
        self.ring.status = 0
        self.t += 0.5 * self.transfer_s
        return bits


def _reader(host: SimHost, counters: RadioCounters, kernel_blocks: int = K) -> RxReader:
    """A reader whose clock starts where its waiting refills will put it: a sample is dated when the data
    carrying it would come back (``0.9·transfer_s`` after it was captured)."""
    clock = HostClock(FS)
    clock.observe(0, 0.9 * host.transfer_s)
    return RxReader(host.refill, B, clock, counters, kernel_blocks, host.status, now=host.now)


def _check_accounting(host: SimHost, counters: RadioCounters, delivered: list, tol: int = 0) -> None:
    """Blocks in order, each at its true index (that of its first sample) up to an offset that changes
    only at a reported jump, by at most ``tol`` (the error of the restart's time estimate); and the host's
    count of what the hardware lost equal to the ring's, within ``tol`` a jump."""
    jumps, offset = {d.index for d in counters.discontinuities}, 0
    for first, x in delivered:
        error = first - int(x.real[0])
        if first in jumps:
            assert abs(error - offset) <= tol, (first, error, offset)
            offset = error
        assert error == offset, (first, error, offset)
    firsts = [first for first, _ in delivered]
    assert firsts == sorted(set(firsts))
    lost = counters.lost_samples - counters.stale_samples
    assert lost == pytest.approx(host.ring.lost_samples, abs=tol * len(counters.discontinuities))


def test_rx_reader_skips_the_stale_blocks_after_a_stall_and_counts_every_lost_sample():
    ring = RxRing(_clock(), B, K)
    host, counters = SimHost(ring), RadioCounters()
    reader = _reader(host, counters)
    got = [reader.next() for _ in range(5)]
    assert [g[0] for g in got] == [0, 10, 20, 30, 40]
    assert all(np.array_equal(x.real, np.arange(i, i + B)) for i, x in got)  # index = the samples' true index
    host.t += 0.5  # the host stalls for 500 ms
    delivered = []
    while len(delivered) < 3:
        item = reader.next()
        if item is not None:
            delivered.append(item)
    first, x = delivered[0]
    assert x.real[0] == first  # the first block after the jump carries the index it really has
    assert all(d[0] == d[1].real[0] for d in delivered)
    assert counters.overflows == 1 and len(counters.discontinuities) == 1
    jump = counters.discontinuities[0]
    assert jump.index == first and jump.lost_samples == first - 50
    assert counters.stale_samples == (K - 1) * B  # the ring's backlog, dropped to catch up
    assert counters.lost_samples - counters.stale_samples == ring.lost_samples  # the hardware's losses, exactly


def test_rx_reader_after_a_cold_start_drops_the_whole_ring_and_dates_the_restart_by_the_second_refill():
    """The host's first refill comes only after the ring filled up (a slow start): no block is held
    yet, so that refill frees none: all K blocks are stale and capture restarts at the second refill."""
    ring = RxRing(_clock(), B, K)
    host, counters = SimHost(ring), RadioCounters()
    reader = _reader(host, counters)
    host.t = 0.5
    delivered = []
    while len(delivered) < 3:
        item = reader.next()
        if item is not None:
            delivered.append(item)
    assert host.handed[:K] == [i * B for i in range(K)]  # the ring's blocks, oldest first
    assert all(d[0] == d[1].real[0] for d in delivered)  # every block carries the index it really has
    assert counters.overflows == 1 and counters.stale_samples == K * B
    assert counters.lost_samples - counters.stale_samples == ring.lost_samples


def test_rx_reader_without_a_stall_loses_nothing():
    ring = RxRing(_clock(), B, K)
    host, counters = SimHost(ring), RadioCounters()
    reader = _reader(host, counters)
    firsts = [reader.next()[0] for _ in range(50)]
    assert firsts == list(range(0, 500, B)) and counters.lost_samples == 0 and counters.overflows == 0


def _run(host: SimHost, reader: RxReader, blocks: int, work_s=lambda k: 0.0) -> list:
    """Read until ``blocks`` blocks were delivered; the host works ``work_s(k)`` after delivery k."""
    delivered = []
    while len(delivered) < blocks:
        item = reader.next()
        if item is not None:
            delivered.append(item)
            host.t += work_s(len(delivered))
    return delivered


@pytest.mark.parametrize("kernel_blocks", [K, 3 * K])
@pytest.mark.parametrize("behind_s", [0.0, 0.6 * B / FS], ids=["keeping-up", "behind"])
def test_rx_reader_after_a_request_held_up_before_it_ran_keeps_every_index(behind_s, kernel_blocks):
    """A refill stuck on its way for 300 ms (the twin's stall): the ring overflowed before it ran, it hands
    back the block held since before the stall and returns the oldest stale one; only K − 2 stale blocks
    remain. Then the host is behind for a while (its refills never wait) — the count still holds. With
    3K blocks, dropping the stale ones takes longer than half a block (as the lab's 25 do): the fresh
    block is complete before it is asked for and must not be taken for a stale one."""
    host, counters = SimHost(RxRing(_clock(), B, kernel_blocks), transfer_s=0.002), RadioCounters()
    reader = _reader(host, counters, kernel_blocks)
    host.holds[5] = (0.3, 0.0)
    delivered = _run(host, reader, 40, lambda k: behind_s if 5 <= k < 25 else 0.0)
    _check_accounting(host, counters, delivered, tol=1)
    assert counters.overflows == 1 and counters.stale_samples == (kernel_blocks - 1) * B  # the held-up one, K − 2


def test_rx_reader_after_a_host_descheduled_inside_a_refill_keeps_every_index():
    """The refill ran at once, then the host was away 300 ms with the block it got: the ring filled
    behind it and the next refill starts K − 1 stale blocks."""
    host, counters = SimHost(RxRing(_clock(), B, K), transfer_s=0.002), RadioCounters()
    reader = _reader(host, counters)
    host.holds[5] = (0.0, 0.3)
    delivered = _run(host, reader, 40, lambda k: 0.6 * B / FS if 5 <= k < 25 else 0.0)
    _check_accounting(host, counters, delivered, tol=1)
    assert counters.overflows == 1 and counters.stale_samples == K * B  # the held-up one and K − 1


@pytest.mark.parametrize("hold", [(0.0, 0.7), (0.7, 0.0), (0.0, 1.6), (1.6, 0.0)])
def test_rx_reader_is_not_fooled_by_a_slow_stale_refill(hold):
    """After an overflow, a stale refill that takes most of a block (or more) — the host descheduled in
    it — is still stale: it is dropped, not delivered as fresh samples at the clock's index."""
    host, counters = SimHost(RxRing(_clock(), B, K), transfer_s=0.002), RadioCounters()
    reader = _reader(host, counters)
    _run(host, reader, 5)
    host.t += 0.3  # the host away between refills: the ring overflows
    host.holds[len(host.handed) + 1] = (hold[0] * B / FS, hold[1] * B / FS)  # the second stale refill is slow
    delivered = _run(host, reader, 30, lambda k: 0.6 * B / FS if k < 15 else 0.0)
    _check_accounting(host, counters, delivered, tol=1)


@pytest.mark.parametrize("seed", range(8))
def test_rx_reader_accounts_for_every_sample_under_random_stalls(seed):
    """Random hold-ups before and after refills and random host work, many overflows: every delivered
    block still carries its true index and the hardware's losses are counted exactly."""
    rng = np.random.default_rng(seed)
    host, counters = SimHost(RxRing(_clock(), B, K), transfer_s=0.002), RadioCounters()
    reader = _reader(host, counters)
    for k in rng.choice(np.arange(3, 600), 12, replace=False):
        side = rng.integers(2)
        host.holds[int(k)] = (rng.uniform(0, 0.2) if side == 0 else 0.0, rng.uniform(0, 0.2) if side else 0.0)
    delivered = _run(host, reader, 400, lambda k: rng.uniform(0, 1.3) * B / FS)
    _check_accounting(host, counters, delivered, tol=1)
    assert counters.overflows >= 3


class SimDac:
    """A TxRing in virtual time behind a TxWriter: a push reaches the DAC ``latency_s`` after it is made
    (never blocking in these tests)."""

    def __init__(self, latency_s: float):
        self.t, self.latency_s = 0.0, latency_s
        self.ring = TxRing(_clock, 64)

    def now(self) -> float:
        return self.t

    def push(self, x: np.ndarray) -> None:
        assert self.ring.push(self.t + self.latency_s, x) == 0.0


def _writer(counters: RadioCounters, lead: int) -> tuple[SimDac, TxWriter]:
    clock = HostClock(FS)
    clock.observe(0, 0.0)  # receive index 0 at t = 0
    dac = SimDac(0.0)
    writer = TxWriter(dac.push, B, clock, counters, now=dac.now)
    dac.latency_s = writer.margin / FS
    blocks = lead // B
    for _ in range(blocks):  # the first blocks start the DAC with the receiver: the lead is in place
        dac.ring.push(0.0, np.zeros(B, np.complex64))
    writer.start(0.0, blocks)
    return dac, writer


def test_tx_writer_places_each_slot_at_its_index_and_recovers_the_latency_after_a_stall():
    """Slots of 2 blocks written 50 samples ahead: each sample leaves the DAC at its index; after a
    stall the DAC's zeros are counted, the part of a slot written after its air time is dropped
    (counted), and the next slots are at their index again: the latency is what it was."""
    counters, lead, slot = RadioCounters(), 50, 2 * B
    dac, writer = _writer(counters, lead)

    def write(k: int, t: float) -> None:
        dac.t = t
        writer.write(np.arange(k * slot, (k + 1) * slot).astype(np.complex64) + 1, k * slot + lead)

    for k in range(5):  # slot k written when receive slot k is complete
        write(k, (k + 1) * slot / FS)
    played = dac.ring.samples(0, 150).real
    np.testing.assert_array_equal(played[lead : lead + 100], np.arange(100) + 1)  # exactly at their index
    assert counters.late_samples == counters.underflows == 0
    # a stall: slots 5..13 never written; slot 14 (index 330..349) written at 0.340, 12 samples too late
    write(14, 0.340)
    now = 340 + writer.margin
    assert counters.underflows == 1 and counters.underflow_samples == now - 150  # dry from 150 until now
    assert counters.late_samples == now - 330
    for k in range(15, 20):  # the host catches up (no write before the stall ended), then is on time
        write(k, max((k + 1) * slot / FS, 0.340))
    played = dac.ring.samples(0, writer.tx_end).real  # what was pushed (a part block waits for the next write)
    np.testing.assert_array_equal(played[now:], np.arange(now - lead, writer.tx_end - lead) + 1)
    assert writer.tx_end > 19 * slot + lead and counters.underflows == 1


@pytest.mark.parametrize("register", [True, False])
def test_tx_writer_does_not_invent_underflows_from_its_clock_error(register):
    """Writes that reach the DAC 3 samples before their air time, judged by a host clock 4 samples
    fast: with the xflow register the writer allows for its clock's error (5 ms) and sends every
    sample on time; judged by the clock alone it would see the DAC dry and drop some."""
    counters, slot = RadioCounters(), 2 * B
    lead = slot + 3
    clock = HostClock(FS)
    clock.observe(4, 0.0)  # 4 samples fast
    dac = SimDac(0.0)

    def status() -> int:
        dac.ring.check(dac.t)
        bits, dac.ring.status = dac.ring.status, 0
        return bits

    writer = TxWriter(dac.push, B, clock, counters, status=status if register else None, now=dac.now)
    dac.latency_s = 0.0
    dac.ring.push(0.0, np.zeros(lead, np.complex64))
    writer.tx_end = lead
    for k in range(10):
        dac.t = (k + 1) * slot / FS
        writer.write(np.arange(k * slot, (k + 1) * slot).astype(np.complex64) + 1, k * slot + lead)
    if register:
        played = dac.ring.samples(0, writer.tx_end).real
        np.testing.assert_array_equal(played[lead:], np.arange(writer.tx_end - lead) + 1)
        assert counters.underflows == counters.late_samples == dac.ring.underflow_events == 0
    else:
        assert counters.late_samples > 0


def test_rx_reader_restarts_its_clock_at_a_jump_so_indices_and_clock_agree():
    ring = RxRing(_clock(), B, K)
    host, counters = SimHost(ring), RadioCounters()
    reader = _reader(host, counters)
    for _ in range(3):
        reader.next()
    host.t += 0.3
    while not counters.discontinuities:
        reader.next()
    jump = counters.discontinuities[0]
    assert reader.clock.index_at(host.t) == pytest.approx(ring.clock.index_at(host.t), abs=B)
    assert jump.index == pytest.approx(ring.gaps[0][0] + ring.gaps[0][1], abs=1)
