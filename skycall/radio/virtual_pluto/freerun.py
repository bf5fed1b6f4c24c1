"""Free-running streams of a virtual Pluto: a real board's DMA, clock and front end, in real time.

The board runs from its own crystal (:mod:`.clock`): its ADC and DAC produce and consume samples
at their true rate whether the host keeps up or not. Receive and transmit are DMA rings with the
kernel's buffer count (:mod:`.dma`; ``SET <dev> BUFFERS_COUNT`` before ``OPEN``), so a late host
overflows the receiver (samples lost) and underflows the transmitter (zeros on the air), both
visible in the DMA cores' status register ``0x80000088`` (bit 2 overflow, bit 0 underflow; write
1 to clear), read through ``direct_reg_access`` as ``iio_adi_xflow_check`` does.

A received block is made by the board's DMA thread as soon as its last sample is in, independent
of the host: the air at the block's sample times comes from :attr:`FreeRunningStreams.source` —
this board's own transmitter (a loopback cable) or the peer's through
:class:`~skycall.radio.virtual_pluto.peer.AirLink` — and goes through the receive front end
(:mod:`.analog`); a ``READBUF`` hands over the next one, waiting for it if need be.

Fault injection (``stalls_s``, ``drops_s``, times after the receive stream opened): a stall holds
every buffer request of the host until it ends; a drop loses the block being filled.
"""

import errno
import threading
import time

import numpy as np

from skycall.config.virtual_pluto import VirtualPlutoConfig
from skycall.radio.virtual_pluto import analog
from skycall.radio.virtual_pluto.analog import RxFrontEnd, TxFrontEnd, interpolate
from skycall.radio.virtual_pluto.attrs import RX_LO, TX_LO, IioError, PlutoAttributes
from skycall.radio.virtual_pluto.clock import Crystal, StreamClock
from skycall.radio.virtual_pluto.context import RXADC, TXDAC
from skycall.radio.virtual_pluto.dma import DEFAULT_KERNEL_BUFFERS, RxRing, TxRing
from skycall.radio.virtual_pluto.lockstep import ints_to_complex

STATUS_REG = 0x80000088
TRACKING = ("bb_dc_offset_tracking_en", "rf_dc_offset_tracking_en", "quadrature_tracking_en")


class _StatusRegister:
    """The xflow status register of one DMA core (read: sticky bits; write: clear the bits set)."""

    def __init__(self, streams: "FreeRunningStreams", dev_name: str):
        self.streams, self.dev_name = streams, dev_name

    def read(self, addr: int) -> int:
        return self.streams.status_bits(self.dev_name) if addr == STATUS_REG else 0

    def write(self, addr: int, value: int) -> None:
        if addr == STATUS_REG:
            self.streams.clear_status(self.dev_name, value)


class FreeRunningStreams:
    """Streams of one free-running board (see the module docstring); served by iiod like the lock-step ones."""

    def __init__(self, attrs: PlutoAttributes, cfg: VirtualPlutoConfig, t_on: float | None = None):
        self.attrs, self.cfg = attrs, cfg
        self.crystal = Crystal(cfg.crystal_ppm, cfg.drift_ppm, cfg.drift_tau_s, time.monotonic() if t_on is None
                               else t_on)
        self._cond = threading.Condition()
        self.kernel_buffers = {RXADC: DEFAULT_KERNEL_BUFFERS, TXDAC: DEFAULT_KERNEL_BUFFERS}
        self.rx: RxRing | None = None
        self.tx: TxRing | None = None
        self._tx_front, self._rx_front = TxFrontEnd(cfg), RxFrontEnd(cfg)
        self.source = self.tx_signal
        self._rx_streams = 0
        self._t_rx_open = 0.0
        self._drops: list[float] = []
        self._closed = False
        self._past_gaps: list[list[int]] = []  # [stream, first lost index, samples lost] of closed streams
        self._blocks: dict[int, np.ndarray] = {}  # received blocks made, by start index, until dequeued
        self._dma = threading.Thread(target=self._dma_loop, name=f"vpluto-dma-{cfg.serial}", daemon=True)
        attrs.registers[RXADC] = _StatusRegister(self, RXADC)
        attrs.registers[TXDAC] = _StatusRegister(self, TXDAC)
        analog.warm()
        self._dma.start()

    # ------------------------------------------------------------------ control
    def set_kernel_buffers(self, dev_name: str, count: int) -> None:
        if not 2 <= count <= 256:
            raise IioError(errno.EINVAL, f"{count} kernel buffers (2 to 256)")
        self.kernel_buffers[dev_name] = int(count)

    def _clock(self, t: float) -> StreamClock:
        return StreamClock(self.crystal, t, self.attrs.sample_rate_sps, self.attrs.clock_scale)

    def open_rx(self, samples: int = 0) -> None:
        with self._cond:
            now = time.monotonic()
            self._rx_streams += 1
            self.rx = RxRing(self._clock(now), samples, self.kernel_buffers[RXADC])
            self._t_rx_open = now
            self._drops = sorted(now + t for t in self.cfg.drops_s)
            self._rx_front.restart()
            self._blocks.clear()
            self._cond.notify_all()

    def close_rx(self) -> None:
        with self._cond:
            if self.rx is not None:
                self.rx.advance(time.monotonic())
                self._past_gaps += [[self._rx_streams, *g] for g in self.rx.gaps]
            self.rx = None
            self._blocks.clear()
            self._cond.notify_all()

    def open_tx(self, cyclic: bool, samples: int = 0) -> None:
        with self._cond:
            self.tx = TxRing(self._clock, self.kernel_buffers[TXDAC])

    def close_tx(self) -> None:
        with self._cond:
            if self.tx is not None:
                self.tx.stop(time.monotonic())
            self._cond.notify_all()

    def shutdown(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # ------------------------------------------------------------------ status register
    def status_bits(self, dev_name: str) -> int:
        with self._cond:
            now = time.monotonic()
            if dev_name == RXADC and self.rx is not None:
                self.rx.advance(now)
                return self.rx.status
            if dev_name == TXDAC and self.tx is not None:
                self.tx.check(now)
                return self.tx.status
            return 0

    def clear_status(self, dev_name: str, bits: int) -> None:
        with self._cond:
            ring = self.rx if dev_name == RXADC else self.tx
            if ring is not None:
                ring.status &= ~bits

    # ------------------------------------------------------------------ host requests
    def _stall(self) -> None:
        """Fault injection: hold this request while a configured host stall lasts."""
        now = time.monotonic()
        for start_s, duration_s in self.cfg.stalls_s:
            end = self._t_rx_open + start_s + duration_s
            if self._t_rx_open and self._t_rx_open + start_s <= now < end:
                with self._cond:
                    self._cond.wait_for(lambda end=end: self._closed or time.monotonic() >= end, end - now)

    def _wait_until(self, t: float, deadline: float, what: str) -> None:
        now = time.monotonic()
        if now > deadline:
            raise IioError(errno.ETIMEDOUT, f"{what} timed out")
        self._cond.wait(max(min(t, deadline) - now, 0.0))
        if self._closed:
            raise IioError(errno.EBADF, "server shutting down")

    def read_rx(self, n: int, wait_s: float = 0.0) -> np.ndarray:
        """The next received block as ADC integers (int16, (n, 2)); waits for it to complete."""
        self._stall()
        deadline = time.monotonic() + max(wait_s, 1.0)
        with self._cond:
            rx = self.rx
            if rx is None or n != rx.block:
                raise IioError(errno.EINVAL, f"READBUF of {n} samples on a {getattr(rx, 'block', 0)}-sample buffer")
            while self._drops and self._drops[0] <= time.monotonic():
                rx.drop_filling(self._drops.pop(0))
            while True:
                start, t_ready = rx.refill(time.monotonic())
                if start is not None:
                    break
                self._cond.notify_all()  # a block was handed back: the DMA may go on
                self._wait_until(t_ready, deadline, "READBUF")
            self._cond.notify_all()
            while start not in self._blocks:  # the DMA thread makes it (the moment it completed, normally)
                self._wait_until(time.monotonic() + 0.01, deadline + 1.0, "READBUF")
                if self.rx is not rx:
                    raise IioError(errno.EBADF, "receive buffer closed")
            return self._blocks.pop(start)

    def _dma_loop(self) -> None:
        """Make every received block as soon as its last sample is in (in order: the carrier phase runs on)."""
        while True:
            with self._cond:
                if self._closed:
                    return
                rx = self.rx
                if rx is None:
                    self._cond.wait(0.1)
                    continue
                rx.advance(time.monotonic())
                todo = list(rx.completed)
                rx.completed.clear()
                if not todo:
                    start = rx.filling if rx.filling is not None else rx.cursor
                    wait_s = rx.clock.time_of(start + rx.block) - time.monotonic()
                    self._cond.wait(min(max(wait_s, 0.0005), 0.1))  # a full ring: a refill notifies
                    continue
                key = self._rx_streams
            for start in todo:
                block = self._make_block(rx, start, (key, start))  # outside the lock: it may ask the peer
                with self._cond:
                    if self.rx is not rx:
                        break
                    self._blocks[start] = block
                    self._cond.notify_all()

    def _make_block(self, rx: RxRing, start: int, key: tuple) -> np.ndarray:
        """ADC integers of receive samples ``start … start+B−1``: the air at their times, through the front end."""
        n = rx.block
        t0, dt = rx.clock.sample_times(start, n, self.cfg.latency_s)
        s, tx_lo_hz = self.source(t0, dt, n) if self.attrs.lo_powered(RX_LO) else (np.zeros(n, np.complex64), 0.0)
        rx_lo_hz = self.attrs.true_lo_hz(RX_LO) * (1.0 + float(self.crystal.error(t0)))
        offset_hz = tx_lo_hz - rx_lo_hz if tx_lo_hz else 0.0
        tracking = {name: self.attrs.flag(name) for name in TRACKING}
        return self._rx_front.process(s, t0, dt, offset_hz, self.attrs.gain_db(False), tracking, key)

    @property
    def rx_gaps(self) -> list[list[int]]:
        """Every receive gap so far: ``[stream number, first lost index, samples lost]``."""
        current = [[self._rx_streams, *g] for g in self.rx.gaps] if self.rx is not None else []
        return [list(g) for g in self._past_gaps] + current

    def write_tx(self, iq: np.ndarray, cyclic: bool, timeout_s: float, max_queued: int = 0) -> None:
        """Push one transmit block (int16, (n, 2)); waits while all kernel blocks are busy."""
        self._stall()
        x = ints_to_complex(iq)
        deadline = time.monotonic() + max(timeout_s, 1.0)
        with self._cond:
            if self.tx is None:
                raise IioError(errno.EBADF, "no transmit buffer open")
            while (retry := self.tx.push(time.monotonic(), x, cyclic)) > 0.0:
                self._wait_until(retry, deadline, "WRITEBUF")

    # ------------------------------------------------------------------ the air
    def tx_signal(self, t0: float, dt: float, n: int) -> tuple[np.ndarray, float]:
        """What this board's TX port emits at wall times ``t0 + k·dt`` and its true TX LO (0: nothing)."""
        if not self.attrs.lo_powered(TX_LO):
            return np.zeros(n, np.complex64), 0.0
        with self._cond:
            tx = self.tx
            if tx is None or tx.clock is None:
                dac = np.zeros(n, np.complex64)
            else:
                m0 = float(tx.clock.index_at(t0))
                positions = m0 + np.arange(n) * (dt * tx.clock.true_rate(t0))
                lo = int(np.floor(m0)) - 8
                raw = tx.samples(lo, int(np.floor(positions[-1])) + 10 - lo)
                dac = interpolate(raw, lo, positions)
        lo_hz = self.attrs.true_lo_hz(TX_LO) * (1.0 + float(self.crystal.error(t0)))
        return self._tx_front.apply(dac, self.attrs.gain_db(True)), lo_hz

    def status(self) -> dict:
        """Truth for tests and the twin's status file: what was really lost, when, and the crystal now."""
        with self._cond:
            now = time.monotonic()
            if self.rx is not None:
                self.rx.advance(now)
            tx = self.tx
            if tx is not None:
                tx.check(now)
            gaps = self.rx_gaps
            return {
                "serial": self.attrs.serial,
                "crystal_ppm": float(self.crystal.error(now)) * 1e6,
                "rx_lost_samples": sum(g[2] for g in gaps),
                "rx_overflows": len(gaps),
                "rx_gaps": gaps,
                "tx_underflows": tx.underflow_events if tx else 0,
                "tx_underflow_samples": tx.underflow_samples if tx else 0,
            }
