"""``LoopbackRadio``: the Radio Protocol over ZeroMQ streams and the loopback air model.

``write(samples)`` sends to the process's ``tx`` StreamOut (and its raw tap ``tx.raw``);
``read(n)`` takes n samples from the ``rx`` StreamIn linked in the flowgraph, passes them through
the :class:`~skycall.channel.air.AirModel` ([air] of the flowgraph, seeded per process) and
returns ``(first_index, samples)`` with *exactly* n samples on the receiver's own sample clock
(index 0, 1, 2, ... regardless of the sender's indices).

Fast mode: lossless, lock-step by sample count (each side writes chunk k, then reads chunk k;
the small stream buffers always hold a chunk, so there is no deadlock). Real-time mode: the
StreamOut paces at the sample rate. When the sender is absent (not started, killed) a read
gives up after ``read_timeout_s`` (default: the node's ``stream_timeout_s``) and returns the
air's noise for the missing span: counted in ``missing_samples``, logged once per outage and
sent as a ``rx_missing`` telemetry event, so the process keeps running; until the sender
returns, reads only poll for it (``STARVING_POLL_S``). A jump in the sender's index (sender
restarted) is counted in ``gaps`` and sent as ``rx_gap`` so a receiver can re-acquire. Without
a link into ``rx`` a read returns noise only; without a link out of ``tx`` written samples go
nowhere (like an antenna).
"""

import logging

import numpy as np

from skycall.channel.air import AirModel
from skycall.errors import SkycallError
from skycall.radio.base import RadioConfig, RadioCounters

log = logging.getLogger(__name__)

AIR_RNG_PURPOSE = 1  # Node.rng purpose of the air noise
STARVING_POLL_S = 0.02  # while the sender is known to be gone, only poll for its return


class LoopbackRadio:
    """A loopback radio of ``node`` (a :class:`skycall.runner.node.Node`)."""

    def __init__(self, node, *, read_timeout_s: float | None = None, raw_tap: bool = True):
        self.node = node
        self.counters = RadioCounters()
        self.missing_samples = 0
        self.gaps = 0
        self.read_timeout_s = read_timeout_s if read_timeout_s is not None else node.stream_timeout_s
        self._raw_tap_wanted = raw_tap
        self.config = RadioConfig(
            rx_freq_hz=node.proc.rx_freq,
            tx_freq_hz=node.proc.tx_freq,
            sample_rate_sps=node.proc.sample_rate_sps,
        )
        self._tx = self._rx = self._tap = self.air = None
        self._rx_index = 0
        self._starving = False
        self._open = False

    def open(self) -> None:
        self._open = True

    def configure(self, config: RadioConfig) -> None:
        """Only the sample rate and frequencies matter; they must match the flowgraph's links."""
        if config.sample_rate_sps != self.node.proc.sample_rate_sps:
            raise SkycallError(
                f"loopback radio of {self.node.name}: sample rate {config.sample_rate_sps:.0f} S/s differs "
                f"from the flowgraph's {self.node.proc.sample_rate_sps:.0f} S/s"
            )
        self.config = config

    def start(self) -> None:
        if not self._open:
            self.open()
        fs = self.config.sample_rate_sps
        rx_freq = self.config.rx_freq_hz or self.node.proc.rx_freq
        air = self.node.flow.air
        self.air = AirModel(
            fs, rx_freq, air.noise_floor_dbfs, air.lo_offset_ppm, air.clock_offset_ppm,
            self.node.rng(AIR_RNG_PURPOSE), horizon_samples=int(np.ceil(self.node.duration_s * fs)) + 1,
        )  # fmt: skip
        if self.node.has_link_from("tx"):
            self._tx = self.node.stream_out("tx", fs, self.config.tx_freq_hz or self.node.proc.tx_freq)
            if self._raw_tap_wanted:
                self._tap = self.node.raw_tap("tx")
        if self.node.link_source("rx") is not None:
            self._rx = self.node.stream_in("rx", on_gap=self._on_gap)

    def write(self, samples: np.ndarray, first_sample_index: int | None = None) -> None:
        samples = np.ascontiguousarray(samples, dtype=np.complex64)
        if self._tx is None:
            return
        self._tx.send(samples, first_sample_index)
        if self._tap is not None:
            self._tap.publish(samples)
        self.counters.underflows = self._tx.counters.underflows
        self.counters.dropped_messages = self._tx.counters.dropped_messages + sum(
            self._rx.counters.malformed.values() if self._rx else ()
        )

    def read(self, n: int, timeout_s: float | None = None) -> tuple[int, np.ndarray]:
        """Exactly ``n`` samples at the receiver's index (noise where the sender sent nothing)."""
        first = self._rx_index
        x = np.zeros(n, np.complex64)
        filled = 0
        if self._rx is not None:
            timeout = self.read_timeout_s if timeout_s is None else timeout_s
            if self._starving:
                timeout = min(timeout, STARVING_POLL_S)
            while filled < n:
                _, got = self._rx.read(n - filled, timeout)
                x[filled : filled + got.size] = got
                filled += got.size
                if got.size == 0 or self._rx.ended:
                    break
            if filled < n:
                self._missing(first + filled, n - filled)
            elif self._starving:
                log.warning("%s: receiving again at sample %d", self.node.name, first)
                self._starving = False
        y = self.air.process(x, first)
        self._rx_index += n
        return first, y

    @property
    def sender_index(self) -> int | None:
        """The sender's index of the next sample to be read (None before anything arrived)."""
        return None if self._rx is None else self._rx.next_index

    def _missing(self, index: int, n: int) -> None:
        self.missing_samples += n
        if not self._starving:
            log.warning("%s: sender silent, filling with air noise from sample %d", self.node.name, index)
            self.node.telemetry.emit("rx_missing", index, samples=n, ended=bool(self._rx.ended))
        self._starving = True

    def _on_gap(self, expected: int, got: int) -> None:
        self.gaps += 1
        self.node.telemetry.emit("rx_gap", self._rx_index, sender_expected=expected, sender_got=got)

    def stop(self) -> None:
        """Close the receiver, then the transmitter (END, waiting for its reader to hang up): a peer
        that stops at the same moment is then never waiting for this process's receiver."""
        if self._rx is not None:
            self._rx.close()
        if self._tx is not None:
            self._tx.close()

    def close(self) -> None:
        self.stop()


__all__ = ["LoopbackRadio"]
