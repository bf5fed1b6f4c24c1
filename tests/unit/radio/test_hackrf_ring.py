"""A HackRF's receive accounting against a model of its driver's ring (SoapyHackRF 0.3.3, Debian 12),
in virtual time.

The model: libhackrf completes a USB transfer of M samples every M/fs; the driver copies it into a
ring of ``buffers`` transfers, and a full ring overwrites its *oldest* transfer and flags an overflow
(the transfer being read is held and never overwritten); ``readStream`` serves the rest of the transfer
it holds, else takes the next one (waiting for it), returning SOAPY_SDR_OVERFLOW first if flagged.
Every sample carries its true index (``_samples``), so the test checks each delivered sample's index exactly, and the
host's count of what was lost against the ring's.
"""

import math
import sys
import types
from collections import deque

import numpy as np
import pytest

from skycall.config.hw_profile import load_hw_profile
from skycall.radio.base import RadioConfig
from skycall.radio.soapy import RX_BUFFERS, SoapyRadio

FS = 2e6
MTU = 131_072  # SoapyHackRF: 262 144-byte transfers of int8 I/Q
CALL_S = 0.0002  # a driver call's own cost (copy and conversion)
OVERFLOW = -4
SPLIT = 2**22  # a sample's true index k is written as (k mod SPLIT) + j·(k div SPLIT): exact in complex64


def _samples(first: int, n: int) -> np.ndarray:
    k = np.arange(first, first + n)
    return (k % SPLIT + 1j * (k // SPLIT)).astype(np.complex64)


def _indices(x: np.ndarray) -> np.ndarray:
    return x.imag.astype(np.int64) * SPLIT + x.real.astype(np.int64)


class DriverRing:
    """SoapyHackRF's receive ring in virtual time (module docstring)."""

    def __init__(self, buffers: int, late_p: float = 0.0, seed: int = 0):
        self.t, self.buffers = 0.0, buffers
        self.late_p, self.rng = late_p, np.random.default_rng(seed)  # the host descheduled after a call
        self.completed = 0  # transfers libhackrf has delivered so far
        self.ring: deque[int] = deque()  # first indices of the buffered transfers, oldest first
        self.held: list[int] | None = None  # [first index, samples read] of the transfer being read
        self.overflow = False
        self.lost = 0

    def advance(self, t: float) -> None:
        self.t = max(self.t, t)
        due = math.floor(self.t * FS / MTU + 1e-9)
        while self.completed < due:
            if len(self.ring) + (self.held is not None) == self.buffers:
                self.ring.popleft()
                self.lost += MTU
                self.overflow = True
            self.ring.append(self.completed * MTU)
            self.completed += 1

    def read(self, out: np.ndarray, n: int) -> int:
        ret = self._read(out, n)
        if self.rng.random() < self.late_p:
            self.t += self.rng.uniform(0.0, 0.03)
        return ret

    def _read(self, out: np.ndarray, n: int) -> int:
        n, got = min(n, MTU), 0
        self.t += CALL_S
        self.advance(self.t)
        if self.held is not None:
            first, done = self.held
            got = min(n, MTU - done)
            out[:got] = _samples(first + done, got)
            self.held = None if done + got == MTU else [first, done + got]
            if got == n:
                return n
        while not self.ring:
            self.advance((self.completed + 1) * MTU / FS)
        if self.overflow:
            self.overflow = False
            return OVERFLOW  # what was copied from the held transfer is lost with it
        first = self.ring.popleft()
        take = min(n - got, MTU)
        out[got : got + take] = _samples(first, take)
        self.held = None if take == MTU else [first, take]
        return got + take


def _fake_soapy(ring: DriverRing) -> types.ModuleType:
    soapy = types.ModuleType("SoapySDR")
    soapy.SOAPY_SDR_RX, soapy.SOAPY_SDR_TX, soapy.SOAPY_SDR_CF32 = 1, 0, "CF32"
    soapy.SOAPY_SDR_TIMEOUT, soapy.SOAPY_SDR_OVERFLOW, soapy.SOAPY_SDR_HAS_TIME = -1, OVERFLOW, 4

    class Device:
        def __init__(self, args):
            self.args = None

        def __getattr__(self, name):
            return lambda *a, **k: None

        def setupStream(self, direction, fmt, channels=(), args=None):
            ring.buffers = int((args or {}).get("buffers", 15))  # the driver's default
            return "rx"

        def getStreamMTU(self, stream):
            return MTU

        def readStream(self, stream, bufs, n, timeoutUs=0):
            return types.SimpleNamespace(ret=ring.read(bufs[0], n), flags=0, timeNs=0)

    soapy.Device = Device
    return soapy


def _receiver(monkeypatch, **ring_kw) -> tuple[DriverRing, SoapyRadio]:
    ring = DriverRing(0, **ring_kw)
    monkeypatch.setitem(sys.modules, "SoapySDR", _fake_soapy(ring))
    monkeypatch.setattr("skycall.radio.soapy.time.monotonic", lambda: ring.t)
    radio = SoapyRadio(load_hw_profile("hackrf"), "driver=hackrf")
    radio.open()
    radio.configure(RadioConfig(rx_freq_hz=1545e6, sample_rate_sps=FS, rx_gain_db=40))
    radio.start()
    return ring, radio


def _call(ring: DriverRing, radio: SoapyRadio, slots: int, work_s, slot: int = 80_000) -> list:
    """``slots`` reads of ``slot`` samples; after read k the host works ``work_s(k)`` seconds."""
    reads = []
    for k in range(slots):
        first, x = radio.read(slot, timeout_s=10.0)
        reads.append((first, x))
        ring.t += work_s(k)
    return reads


def _check(ring: DriverRing, radio: SoapyRadio, reads: list) -> None:
    """Every sample at its true index; the host's lost − stale equal to what the ring overwrote."""
    assert ring.buffers == RX_BUFFERS
    for first, x in reads:
        assert np.array_equal(_indices(x), first + np.arange(len(x))), (first, _indices(x[:1]))
    c = radio.counters
    assert c.lost_samples - c.stale_samples == ring.lost
    assert len(c.discontinuities) == c.overflows


def test_a_stall_longer_than_the_ring_is_counted_to_the_sample(monkeypatch):
    """A 1.5 s stall (the ring holds 0.98 s): the newest 15 transfers survive, the host drops them as
    stale and the first sample after them carries its true index (the old reader put it 0.9 s late)."""
    ring, radio = _receiver(monkeypatch)
    reads = _call(ring, radio, 60, lambda k: 1.5 if k == 20 else 0.0)
    _check(ring, radio, reads)
    c = radio.counters
    assert c.overflows == 1 and ring.lost > 0 and c.stale_samples >= RX_BUFFERS * MTU


@pytest.mark.parametrize("late_p", [0.0, 0.1])
@pytest.mark.parametrize("seed", range(4))
def test_random_stalls_and_a_slow_host(monkeypatch, seed, late_p):
    """Stalls of 1–2.5 s, host work up to a slot between reads, and (``late_p``) the host descheduled for up
    to 30 ms after one driver call in ten: a stale transfer that looks as if it waited does not place the
    gap (two waits after the drained ring, and the tightest bound of all)."""
    rng = np.random.default_rng(seed)
    ring, radio = _receiver(monkeypatch, late_p=late_p, seed=seed)
    stalls = set(rng.choice(np.arange(5, 150), 4, replace=False).tolist())
    reads = _call(ring, radio, 160, lambda k: rng.uniform(1.0, 2.5) if k in stalls else rng.uniform(0, 0.045))
    _check(ring, radio, reads)
    assert radio.counters.overflows >= 1


def test_a_host_that_keeps_up_loses_nothing(monkeypatch):
    ring, radio = _receiver(monkeypatch)
    reads = _call(ring, radio, 100, lambda k: 0.03)
    _check(ring, radio, reads)
    assert radio.counters.lost_samples == 0 and reads[-1][0] == 99 * 80_000
