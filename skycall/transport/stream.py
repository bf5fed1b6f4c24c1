"""IQ streams over ZeroMQ: ``StreamOut`` (PUSH, binds), ``StreamIn`` (PULL, connects), ``RawTap`` (PUB).

Fast mode (default): lossless and back-pressured. PUSH/PULL with small high-water marks make a
fast writer wait for a slow reader. A send that cannot complete within ``send_timeout_s`` (or
``connect_timeout_s`` before the first message ever went out) is *reported*, never waited on
forever: the message is dropped, ``counters.send_timeouts``/``dropped_messages`` count it, one
warning is logged per outage, and until a send succeeds again the writer only tries briefly
(``absent_timeout_s``) so the process keeps running at full speed while its peer is gone.

Real-time mode (``realtime=True``): messages are paced by their sample index,
``t_send(i) = t0 + (i - i0)/fs``; a message later than its own duration counts its lateness in
``counters.underflows`` (samples) and re-anchors the clock. Pacing never changes the samples.

``StreamIn.read(n, timeout_s)`` returns ``(first_index, samples)``: exactly ``n`` contiguous
samples when they arrive in time; fewer when the timeout expires, the stream ended (END flag),
or the next message does not continue the index (a *gap*: peer restarted or messages lost).
Gaps are counted, logged and passed to ``on_gap(expected_index, got_index)`` so a receiver can
re-acquire; the next read starts at the new index. A message that goes *back* in the index
without the sender's RESTART flag repeats samples already delivered: it is dropped (or trimmed
to its new part) and counted in ``duplicates``/``duplicate_samples``, never delivered twice;
``gap_samples`` counts only missing samples (never negative). Malformed messages are counted per
kind in ``counters.malformed`` and dropped, with one warning per kind; frames larger than
:data:`~.protocol.MAX_MESSAGE_BYTES` are refused by libzmq before they are buffered, and a
header's length is checked against the frame's before anything is allocated. Every sample handed
out passes :func:`~._finite.copy_finite`: a NaN or infinite sample becomes 0 and is counted in
``nonfinite_samples`` (one warning), so it can never reach a receiver's loops.

``RawTap`` publishes bare complex64 payloads (no header), which GNU Radio's ZMQ SUB Source reads.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import zmq
from zmq.utils.monitor import parse_monitor_message

from skycall.transport import security
from skycall.transport._finite import copy_finite
from skycall.transport.protocol import (
    FLAG_END,
    FLAG_RESTART,
    HEADER,
    HEADER_SIZE,
    MAGIC,
    MAX_CENTRE_FREQ_HZ,
    MAX_MESSAGE_BYTES,
    MAX_SAMPLE_RATE_SPS,
    MAX_SAMPLES,
    VERSION,
    MalformedMessage,
    check_payload,
    check_samples,
    unpack_header,
)
from skycall.transport.security import LOCAL_ANY_PORT

log = logging.getLogger(__name__)

_IDLE_SLICE_S = 0.05  # how often a waiting reader runs its idle hook (directory watch)
_IDLE_SLICE_MS = int(_IDLE_SLICE_S * 1000)
_NO_INBOUND_BYTES = 4096  # sockets that receive no messages: refuse any (the handshake is smaller)
# plain ints: pyzmq converts enum members on every call, which costs microseconds per message
_RCVMORE, _RCVTIMEO, _SNDTIMEO, _MAXMSGSIZE = (
    int(zmq.RCVMORE),
    int(zmq.RCVTIMEO),
    int(zmq.SNDTIMEO),
    int(zmq.MAXMSGSIZE),
)
_unpack_header, _pack_header = HEADER.unpack_from, HEADER.pack_into
_C64 = np.dtype(np.complex64)
_ACCEPTED, _DISCONNECTED = int(zmq.EVENT_ACCEPTED), int(zmq.EVENT_DISCONNECTED)


@dataclass
class StreamCounters:
    """Never-silent accounting of one stream end (messages and samples)."""

    messages: int = 0
    samples: int = 0
    send_timeouts: int = 0
    dropped_messages: int = 0
    underflows: int = 0
    read_timeouts: int = 0
    gaps: int = 0
    gap_samples: int = 0
    duplicates: int = 0
    duplicate_samples: int = 0
    nonfinite_samples: int = 0
    malformed: dict = field(default_factory=dict)


class StreamOut:
    """Sending end of an IQ stream (PUSH, bound to ``endpoint``; ``.endpoint`` is the resolved one).

    Parameters
    ----------
    ctx : zmq.Context
    sample_rate_sps, centre_freq_hz : float
        Written into every header.
    endpoint : str
        Where to bind; port 0 picks a free port.
    realtime : bool
        Pace messages at the sample rate (see module docstring).
    hwm : int
        Send high-water mark in messages (back-pressure depth).
    """

    def __init__(
        self,
        ctx: zmq.Context,
        *,
        sample_rate_sps: float,
        centre_freq_hz: float,
        endpoint: str = LOCAL_ANY_PORT,
        stream_id: int = 0,
        realtime: bool = False,
        hwm: int = 4,
        send_timeout_s: float = 5.0,
        connect_timeout_s: float = 30.0,
        absent_timeout_s: float = 0.01,
        curve: security.CurveKeys | None = None,
        name: str = "stream",
    ):
        self.sample_rate_sps, self.centre_freq_hz = float(sample_rate_sps), float(centre_freq_hz)
        self.stream_id, self.realtime, self.name = stream_id, realtime, name
        self.send_timeout_s, self.connect_timeout_s = send_timeout_s, connect_timeout_s
        self.absent_timeout_s = absent_timeout_s
        self.counters = StreamCounters()
        self.next_index = 0
        self._sent_any = False
        self._absent = False
        self._clock: tuple[float, int] | None = None  # (t0 monotonic, i0) for pacing
        self._alloc(0)  # the message being sent, reused (libzmq copies it)
        self._sock = ctx.socket(zmq.PUSH)
        self._sock.sndhwm = hwm
        self._sock.setsockopt(_MAXMSGSIZE, _NO_INBOUND_BYTES)
        self._sndtimeo_ms = -1
        self._sock.linger = 0
        # a Unix socket's readers are tracked so close() can wait for them to hang up (see close)
        self._monitor = None
        self._readers: set[int] = set()
        if endpoint.startswith("ipc://"):
            self._monitor = self._sock.get_monitor_socket(_ACCEPTED | _DISCONNECTED)
        self.endpoint = security.bind(self._sock, endpoint, curve)

    def send(self, samples: np.ndarray, first_index: int | None = None, flags: int = 0) -> bool:
        """Send ``samples`` (1-D complex64) starting at ``first_index`` (default: continue).

        Returns True when the message was queued, False when it was dropped (peer absent).
        """
        first = self.next_index if first_index is None else int(first_index)
        n = samples.size
        if self.realtime:
            self._pace(first, n)
        if self._sent_any:
            timeout_s = self.absent_timeout_s if self._absent else self.send_timeout_s
        else:
            flags |= FLAG_RESTART
            timeout_s = self.connect_timeout_s
        sent = self._send(first, flags, samples, timeout_s)  # raises on a bad array: nothing sent
        self.next_index = first + n
        if sent:
            if self._absent:
                log.warning("%s: peer is back, sending again at sample %d", self.name, first)
            self._absent, self._sent_any = False, True
            self.counters.messages += 1
            self.counters.samples += n
            return True
        self.counters.send_timeouts += 1
        self.counters.dropped_messages += 1
        if not self._absent:
            log.warning(
                "%s: no reader took sample %d within %.1f s; dropping until a reader returns",
                self.name,
                first,
                timeout_s,
            )
        self._absent = True
        return False

    def _pace(self, first: int, n: int) -> None:
        now = time.monotonic()
        if self._clock is None:
            self._clock = (now, first)
        t0, i0 = self._clock
        due = t0 + (first - i0) / self.sample_rate_sps
        if now < due:
            time.sleep(due - now)
        elif now - due > n / self.sample_rate_sps:
            self.counters.underflows += int(round((now - due) * self.sample_rate_sps))
            self._clock = (now, first)

    def _alloc(self, n: int) -> None:
        """Room for messages of ``n`` samples: the buffer, its payload view and a frame view."""
        self._buf = bytearray(HEADER_SIZE + 8 * n)
        self._payload = np.frombuffer(self._buf, np.complex64, n, HEADER_SIZE)
        self._frame = memoryview(self._buf)
        self._views = (-1, None, None)  # (n, payload[:n], frame[:36 + 8n]) of the last message size

    def _send(self, first: int, flags: int, samples: np.ndarray, timeout_s: float) -> bool:
        """Queue one message, blocking at most ``timeout_s`` for room (SNDTIMEO); False on timeout."""
        n = samples.size
        if samples.dtype is not _C64 or samples.ndim != 1 or n > self._payload.size:
            check_samples(samples)
            if n > self._payload.size:
                self._alloc(min(max(n, 2 * self._payload.size), MAX_SAMPLES))
        size, payload, frame = self._views
        if size != n:
            payload, frame = self._payload[:n], self._frame[: HEADER_SIZE + 8 * n]
            self._views = (n, payload, frame)
        _pack_header(self._buf, 0, MAGIC, VERSION, flags & 0xFF, self.stream_id & 0xFFFF, n, first,
                     self.sample_rate_sps, self.centre_freq_hz)  # pack_header_into, inlined (per message)
        payload[...] = samples
        timeout_ms = max(0, int(timeout_s * 1000))
        if self._sndtimeo_ms != timeout_ms:  # cached: pyzmq socket options cost microseconds
            self._sock.setsockopt(_SNDTIMEO, timeout_ms)
            self._sndtimeo_ms = timeout_ms
        try:
            self._sock.send(frame)  # copied by libzmq: the buffer is free again
        except zmq.Again:
            return False
        return True

    def close(self, send_end: bool = True) -> None:
        """Send an END message and close the socket. Idempotent.

        A reader that is there gets up to ``send_timeout_s`` (at least 0.5 s) to take what is still
        queued: a sender that ends right after its last message must not lose it to a reader that is
        a little behind. On TCP the socket's linger does this. On a Unix socket (``ipc://``) hanging
        up first would lose it: the reader's libzmq (4.3) treats the hang-up as an I/O error while its
        queue is full and discards what the kernel still holds for it — the last messages and END.
        So there the sender keeps the connection until every reader that was connected when END went
        out has hung up (closed its stream; a process that exits does), then closes without linger.
        """
        if self._sock.closed:
            return
        wait_s = max(0.5, self.send_timeout_s)
        readers = self._connected_readers()  # None: not tracked (TCP)
        nobody_there = readers is not None and not readers
        if send_end and self._sent_any and not self._absent and not nobody_there:
            self._sock.linger = int(wait_s * 1000)
            sent = self._send(self.next_index, FLAG_END, np.zeros(0, np.complex64), min(self.send_timeout_s, 1.0))
            if sent and readers is not None and not self._wait_hang_up(readers, time.monotonic() + wait_s):
                log.warning("%s: a reader is still connected %.1f s after END; closing", self.name, wait_s)
                self._sock.linger = 0  # waited long enough
        if self._monitor is not None:
            self._sock.disable_monitor()
            self._monitor.close()
        self._sock.close()

    def _connected_readers(self) -> set[int] | None:
        """File descriptors of the readers connected now (from the monitor); None without one."""
        if self._monitor is None:
            return None
        self._take_events(0)
        return set(self._readers)

    def _take_events(self, timeout_ms: int) -> set[int]:
        """Apply pending monitor events to ``_readers``; returns the descriptors that hung up."""
        gone = set()
        while self._monitor.poll(timeout_ms, zmq.POLLIN):
            timeout_ms = 0
            event = parse_monitor_message(self._monitor.recv_multipart())
            if event["event"] == _ACCEPTED:
                self._readers.add(event["value"])
            elif event["event"] == _DISCONNECTED:
                self._readers.discard(event["value"])
                gone.add(event["value"])
        return gone

    def _wait_hang_up(self, readers: set[int], deadline: float) -> bool:
        """Wait until each of ``readers`` hung up (True) or ``deadline`` (False).

        A descriptor reused by a later connection is reported gone before it is accepted again, so
        events are applied in order and later readers (which were sent nothing) are not waited for.
        """
        waiting = set(readers)
        while waiting:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                return False
            waiting -= self._take_events(min(left_ms, _IDLE_SLICE_MS))
        return True


class StreamIn:
    """Receiving end of an IQ stream (PULL, connects to a ``StreamOut``'s endpoint).

    Parameters
    ----------
    ctx : zmq.Context
    endpoint : str or None
        The sender's endpoint; ``None``: call :meth:`connect` later.
    sample_rate_sps : float or None
        When given, messages announcing another rate are dropped as malformed (kind ``"rate"``).
    on_gap : callable(expected_index, got_index) or None
        Called when the stream index jumps (peer restarted, messages lost).
    on_idle : callable() or None
        Called about every 50 ms while a read waits (the runner checks for a restarted peer there).
    """

    def __init__(
        self,
        ctx: zmq.Context,
        endpoint: str | None = None,
        *,
        sample_rate_sps: float | None = None,
        hwm: int = 4,
        on_gap: Callable[[int, int], None] | None = None,
        on_idle: Callable[[], None] | None = None,
        curve: security.CurveKeys | None = None,
        name: str = "stream",
    ):
        self.sample_rate_sps, self.name = sample_rate_sps, name
        self.on_gap, self.on_idle = on_gap, on_idle
        self.counters = StreamCounters()
        self.ended = False
        self.endpoint: str | None = None
        self.next_index: int | None = None  # index the next returned sample will carry
        self._cur: np.ndarray | None = None  # samples of the current message not yet handed out (a view)
        self._sock = ctx.socket(zmq.PULL)
        self._sock.rcvhwm = hwm
        self._sock.setsockopt(_MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self._rcvtimeo_ms = -1
        self._sock.linger = 0
        security.make_client(self._sock, curve)
        if endpoint is not None:
            self.connect(endpoint)

    def connect(self, endpoint: str) -> None:
        """(Re)connect to ``endpoint``, leaving the previous sender if any."""
        if endpoint == self.endpoint:
            return
        if self.endpoint is not None:
            self._sock.disconnect(self.endpoint)
            log.info("%s: reconnecting %s -> %s", self.name, self.endpoint, endpoint)
        self._sock.connect(endpoint)
        self.endpoint = endpoint

    def read(
        self, n: int, timeout_s: float | None = None, out: np.ndarray | None = None
    ) -> tuple[int, np.ndarray]:
        """Return ``(first_index, samples)``: up to ``n`` contiguous complex64 samples in index order.

        ``out`` (complex64, at least ``n`` long) receives the samples (no allocation); the returned
        array is then a view of it. A message stays in its received frame (no copy) until its samples
        are copied into ``out`` — one copy per sample, as with a bare ``PULL.recv`` — and a message
        larger than a read is handed out over several reads.

        ``timeout_s=None`` waits forever. Fewer than ``n`` samples come back only on timeout
        (``counters.read_timeouts``), at the end of the stream, or before a gap. After the sender's
        END message reads do not wait (``ended`` stays set until a new sender's message arrives).
        """
        if out is None:
            out = np.empty(n, dtype=np.complex64)
        elif out.dtype is not _C64 and out.dtype != _C64 or not out.flags.c_contiguous or out.size < n:
            raise ValueError(f"out must be a contiguous complex64 array of at least {n} samples")
        filled = 0
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        if self.ended:  # the sender said goodbye: take only what a new sender already sent
            deadline = time.monotonic()
        first = self.next_index
        starved = False
        while filled < n:
            cur = self._cur
            if cur is None:  # the next message (the common case: it is copied out at once)
                got = self._receive(deadline)
                if got is None:
                    starved = not self.ended
                    break
                index, cur = got
                if self.next_index is not None and index != self.next_index:
                    self._gap(self.next_index, index)
                    if filled:  # a read never spans a gap: hand this message out next time
                        self._cur, self.next_index = cur, index
                        break
                if filled == 0:
                    first = index
                self.next_index = index
            take = min(n - filled, cur.size)
            dst = out if take == out.size else out[filled : filled + take]
            bad = copy_finite(cur[:take] if take < cur.size else cur, dst)
            if bad:
                self._nonfinite(bad)
            self._cur = cur[take:] if take < cur.size else None
            self.next_index += take
            filled += take
        if starved:
            self.counters.read_timeouts += 1
        self.counters.samples += filled
        return (first if first is not None else 0), out[:filled]

    def _nonfinite(self, bad: int) -> None:
        if self.counters.nonfinite_samples == 0:
            log.warning("%s: replacing NaN/infinite samples by 0 (further ones are only counted)", self.name)
        self.counters.nonfinite_samples += bad

    def _gap(self, expected: int, got: int) -> None:
        self.counters.gaps += 1
        self.counters.gap_samples += max(0, got - expected)
        if self.counters.gaps <= 10 or self.counters.gaps % 1000 == 0:  # a flood must not flood the log
            log.warning(
                "%s: stream jumped from sample %d to %d (peer restarted or lost data; %d gaps so far)",
                self.name, expected, got, self.counters.gaps,
            )  # fmt: skip
        if self.on_gap is not None:
            self.on_gap(expected, got)

    def _receive(self, deadline: float | None) -> tuple[int, np.ndarray] | None:
        """``(first_index, samples view)`` of the next valid non-empty message that is not a repeat,
        or None at the deadline / end of stream. Bad messages are counted and dropped; a message
        that overlaps what was already delivered is trimmed to its new samples."""
        sock, rate_wanted = self._sock, self.sample_rate_sps
        while True:
            wait_s = _IDLE_SLICE_S if deadline is None else deadline - time.monotonic()
            wait_ms = _IDLE_SLICE_MS if wait_s >= _IDLE_SLICE_S else max(0, int(wait_s * 1000))
            if self._rcvtimeo_ms != wait_ms:  # cached: pyzmq socket options cost microseconds
                sock.setsockopt(_RCVTIMEO, wait_ms)
                self._rcvtimeo_ms = wait_ms
            try:
                frame = sock.recv(copy=False)
            except zmq.Again:
                if self.on_idle is not None:
                    self.on_idle()
                if deadline is not None and time.monotonic() >= deadline:
                    return None
                continue
            size = len(frame)
            if size >= HEADER_SIZE:  # unpack_header's and check_payload's tests, inlined: this runs per message
                magic, version, flags, _, m, index, rate, freq = _unpack_header(frame)
                ok = (magic == MAGIC and version == VERSION and size == HEADER_SIZE + 8 * m and m <= MAX_SAMPLES
                      and 0.0 < rate <= MAX_SAMPLE_RATE_SPS and 0.0 <= freq <= MAX_CENTRE_FREQ_HZ
                      and (rate_wanted is None or rate == rate_wanted) and not frame.more)  # fmt: skip
            else:
                ok = False
            if not ok:
                self._malformed(self._why(frame))
                continue
            if flags & FLAG_END:
                self.counters.messages += 1
                self.ended = True
                return None
            self.ended = False
            if not m:
                continue  # an empty message: nothing to hand out
            self.counters.messages += 1
            samples = np.frombuffer(frame, _C64, m, HEADER_SIZE)
            behind = -1 if self.next_index is None else self.next_index - index
            if behind > 0 and not flags & FLAG_RESTART:  # a repeat of delivered samples
                self.counters.duplicates += 1
                self.counters.duplicate_samples += min(behind, m)
                if behind >= m:
                    continue
                index, samples = self.next_index, samples[behind:]
            return index, samples

    def _why(self, frame) -> MalformedMessage:
        """What is wrong with a frame the fast check refused (the checks of the protocol module)."""
        try:
            if frame.more:
                raise MalformedMessage("frames", "a stream message is one frame (this is version 1 or junk)")
            header = unpack_header(frame.buffer)
            check_payload(header, len(frame) - HEADER_SIZE)
            raise MalformedMessage(
                "rate", f"stream is {header.sample_rate_sps} S/s, this reader expects {self.sample_rate_sps}"
            )
        except MalformedMessage as err:
            return err

    def _drain(self) -> None:
        """Discard the rest of the current multipart message."""
        while self._sock.getsockopt(_RCVMORE):
            self._sock.recv(copy=False)

    def _malformed(self, err: MalformedMessage) -> None:
        self._drain()
        count = self.counters.malformed.get(err.kind, 0)
        self.counters.malformed[err.kind] = count + 1
        if count == 0:
            log.warning("%s: dropping %s (further ones of this kind are only counted)", self.name, err)

    def close(self) -> None:
        self._sock.close()


class RawTap:
    """PUB socket publishing bare complex64 payloads (no header) for GNU Radio's ZMQ SUB Source.

    Never blocks: a subscriber that falls behind loses messages (PUB semantics).
    """

    def __init__(
        self, ctx: zmq.Context, endpoint: str = LOCAL_ANY_PORT, curve: security.CurveKeys | None = None
    ):
        self._sock = ctx.socket(zmq.PUB)
        self._sock.linger = 0
        self._sock.setsockopt(_MAXMSGSIZE, _NO_INBOUND_BYTES)
        self.endpoint = security.bind(self._sock, endpoint, curve)

    def publish(self, samples: np.ndarray) -> None:
        self._sock.send(np.ascontiguousarray(samples, dtype=np.complex64), flags=zmq.NOBLOCK)

    def close(self) -> None:
        self._sock.close()


__all__ = ["StreamOut", "StreamIn", "RawTap", "StreamCounters", "LOCAL_ANY_PORT"]
