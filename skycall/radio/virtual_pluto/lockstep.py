"""Lock-step streams of a virtual Pluto: paced by sample index, never by the wall clock (exact tests).

The transmit side is a queue: a fixed delay line of ``delay_samples`` zeros, then the samples
written (or the cyclic buffer, repeated). Whoever receives (this device's own receiver in loopback,
or a peer's through :class:`~skycall.radio.virtual_pluto.peer.PeerLink`) pulls ``n`` samples at a
time. A receive buffer just opened waits once (up to the client's timeout) for the transmitter to
start, and every pull waits for an open stream to deliver: both ends start at sample 0 together and
stay in lock-step whatever the machine's speed. The received baseband is

    r[n] = A · s[n − D] · exp(j2π (f_tx,true − f_rx,true) n / fs) + w[n],
    A = 10^((g_tx + g_rx − L)/20),   f_true = f_LO · crystal / xo_correction,

with L the bench attenuation ``path_loss_db`` and w whatever the optional air model adds; it is
quantised to the 12-bit ADC (full scale 2048). Transmit integers are read at full scale 2^14.
"""

import errno
import math
import threading
from collections import deque
from collections.abc import Callable

import numpy as np

from skycall.radio.virtual_pluto.attrs import RX_LO, TX_LO, IioError, PlutoAttributes

TX_FULL_SCALE = 16384.0
RX_FULL_SCALE = 2048.0


class SampleQueue:
    """FIFO of complex64 samples stored as chunks; ``pop(n)`` returns exactly ``n`` (zero-padded)."""

    def __init__(self):
        self._chunks: deque[np.ndarray] = deque()
        self.size = 0

    def push(self, x: np.ndarray) -> None:
        if len(x):
            self._chunks.append(np.asarray(x, np.complex64))
            self.size += len(x)

    def pop(self, n: int) -> tuple[np.ndarray, int]:
        """Return ``(samples, missing)``: the first ``n`` queued samples, zeros for the ``missing`` ones."""
        out = np.zeros(n, np.complex64)
        got = 0
        while got < n and self._chunks:
            head = self._chunks[0]
            take = min(n - got, len(head))
            out[got : got + take] = head[:take]
            if take == len(head):
                self._chunks.popleft()
            else:
                self._chunks[0] = head[take:]
            got += take
        self.size -= got
        return out, n - got

    def clear(self) -> None:
        self._chunks.clear()
        self.size = 0


def ints_to_complex(iq: np.ndarray) -> np.ndarray:
    """Transmit integers (int16, shape (n, 2)) → complex64 at full scale 1.0."""
    return np.ascontiguousarray(iq, np.float32).view(np.complex64)[:, 0] * np.float32(1.0 / TX_FULL_SCALE)


def adc_ints(y: np.ndarray) -> np.ndarray:
    """Complex receive baseband (full scale 1.0) → 12-bit ADC integers, int16 of shape (n, 2), clipped."""
    out = np.empty((len(y), 2), np.int16)
    out[:, 0] = np.clip(np.rint(y.real * RX_FULL_SCALE), -2048, 2047)
    out[:, 1] = np.clip(np.rint(y.imag * RX_FULL_SCALE), -2048, 2047)
    return out


class LockstepStreams:
    """Transmit queue and receive chain of one lock-step virtual Pluto (see the module docstring).

    A receive request of ``n`` samples waits up to ``wait_s`` (the iiod connection's timeout) for an
    open non-cyclic transmit stream to deliver them, then pads with zeros (counted in
    ``tx_underflow_samples``). :attr:`source` is where received samples come from (this device's own
    transmitter until a peer link replaces it); :attr:`on_rx_close` tells that transmitter when the
    receiver closed.
    """

    def __init__(self, attrs: PlutoAttributes, delay_samples: int = 64, path_loss_db: float = 30.0, air=None):
        if delay_samples < 0:
            raise ValueError(f"delay_samples must be >= 0, got {delay_samples}")
        self.attrs = attrs
        self.path_loss_db = float(path_loss_db)
        self.air = air
        self._cond = threading.Condition()
        self._tx_queue = SampleQueue()
        self.delay_samples = int(delay_samples)
        self._restart_delay_line()
        self._tx_cyclic: np.ndarray | None = None
        self._tx_cyclic_pos = 0
        self._tx_streaming = False
        self._closed = False
        self._rx_index = 0
        self._rx_phase_cycles = 0.0
        self._rx_awaiting = False
        self.tx_underflow_samples = 0
        self._tx_unheard = False
        self.source: Callable[[int, float, bool], tuple[np.ndarray, float]] = self.take_tx
        self.on_rx_close: Callable[[], None] = self.unheard

    def set_kernel_buffers(self, dev_name: str, count: int) -> None:
        """Accepted and ignored: lock-step streams have no DMA ring."""

    def open_tx(self, cyclic: bool, samples: int = 0) -> None:
        """A transmit buffer opened: a new transmission, heard after the delay line, held for its receiver."""
        with self._cond:
            self._tx_streaming = not cyclic
            self._tx_cyclic = None
            self._tx_unheard = False
            self._restart_delay_line()
            self._cond.notify_all()

    def _restart_delay_line(self) -> None:
        self._tx_queue.clear()
        self._tx_queue.push(np.zeros(self.delay_samples, np.complex64))

    def close_tx(self) -> None:
        with self._cond:
            self._tx_streaming = False
            self._tx_cyclic = None
            self._cond.notify_all()

    def unheard(self) -> None:
        """The receiver of this stream closed: until it pulls again or a new transmission opens, drop samples."""
        with self._cond:
            self._tx_unheard = True
            self._restart_delay_line()
            self._cond.notify_all()

    def open_rx(self, samples: int = 0) -> None:
        """A receive buffer opened: its first pull waits for the transmitter to start."""
        with self._cond:
            self._rx_awaiting = True

    def close_rx(self) -> None:
        """This device's receive buffer closed: tell whoever transmits to it (see :attr:`on_rx_close`)."""
        self.on_rx_close()

    def write_tx(self, iq: np.ndarray, cyclic: bool, timeout_s: float, max_queued: int) -> None:
        """Queue transmit integers ``iq`` (int16, shape (n, 2)); block while ``max_queued`` are waiting.

        Once the receiver of this stream has closed (:meth:`unheard`) the samples are dropped.
        """
        x = ints_to_complex(iq)
        with self._cond:
            if cyclic:
                self._tx_cyclic, self._tx_cyclic_pos = x, 0
                self._cond.notify_all()
                return
            if not self._cond.wait_for(
                lambda: self._closed or self._tx_unheard or self._tx_queue.size < max_queued, timeout_s
            ):
                raise IioError(errno.ETIMEDOUT, "nobody is receiving this transmit stream")
            if not self._tx_unheard:
                self._tx_queue.push(x)
            self._cond.notify_all()

    def take_tx(self, n: int, wait_s: float = 0.0, await_start: bool = False) -> tuple[np.ndarray, float]:
        """Next ``n`` transmitted samples (TX full scale 1.0, TX gain applied) and the true TX LO in Hz.

        An open non-cyclic stream is waited for up to ``wait_s``; what is still missing is zeros.
        With ``await_start``, a transmitter not yet started is first waited for, up to ``wait_s``.
        """
        with self._cond:
            self._tx_unheard = False
            if await_start:
                self._cond.wait_for(lambda: self._closed or self._tx_streaming or self._tx_cyclic is not None, wait_s)
            if self._tx_cyclic is not None:
                need = n - self._tx_queue.size
                if need > 0:
                    reps = -(-(need + self._tx_cyclic_pos) // len(self._tx_cyclic))
                    tiled = np.tile(self._tx_cyclic, reps)[self._tx_cyclic_pos : self._tx_cyclic_pos + need]
                    self._tx_cyclic_pos = (self._tx_cyclic_pos + need) % len(self._tx_cyclic)
                    self._tx_queue.push(tiled)
            elif self._tx_streaming:
                self._cond.wait_for(lambda: self._closed or not self._tx_streaming or self._tx_queue.size >= n, wait_s)
            x, missing = self._tx_queue.pop(n)
            if self._tx_streaming:
                self.tx_underflow_samples += missing
            self._cond.notify_all()
            gain = 10.0 ** (self.attrs.gain_db(True) / 20.0)
            return (x * np.float32(gain)).astype(np.complex64), self.attrs.true_lo_hz(TX_LO)

    def read_rx(self, n: int, wait_s: float = 0.0) -> np.ndarray:
        """Receive ``n`` samples as ADC integers, int16 of shape (n, 2) (I, Q), 12-bit range.

        ``wait_s``: how long the transmit stream heard may take to deliver (see :meth:`take_tx`).
        """
        with self._cond:
            await_start, self._rx_awaiting = self._rx_awaiting, False
        x, tx_lo_hz = self.source(n, wait_s, await_start)
        with self._cond:
            offset_hz = tx_lo_hz - self.attrs.true_lo_hz(RX_LO)
            cycles_per_sample = offset_hz / self.attrs.sample_rate_sps
            gain = 10.0 ** ((self.attrs.gain_db(False) - self.path_loss_db) / 20.0)
            first = self._rx_index
            self._rx_index += n
            phase0 = self._rx_phase_cycles
            self._rx_phase_cycles = math.fmod(phase0 + cycles_per_sample * n, 1.0)
        if cycles_per_sample != 0.0:
            phase = 2.0 * np.pi * (phase0 + cycles_per_sample * np.arange(n))
            x = x * np.exp(1j * phase).astype(np.complex64)
        y = x * np.float32(gain)
        if self.air is not None:
            y = self.air.process(y.astype(np.complex64), first)
        return adc_ints(y)

    def shutdown(self) -> None:
        """Wake every waiting stream so server threads can exit."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
