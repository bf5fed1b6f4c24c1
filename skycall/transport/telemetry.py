"""Telemetry: JSON events PUBlished by every process, collected into ``telemetry.jsonl``.

An event is one JSON object ``{"t": type, "proc": process name, "index": sample index, ...}``
(plus ``"wall": unix time``) sent as a single frame of at most :data:`~.wire.MAX_EVENT_BYTES`
(a larger one is dropped at the sender, counted in ``dropped``). :class:`Telemetry` binds its
own XPUB endpoint (anyone who can reach it may subscribe, e.g. a live plot); XPUB sees a
subscriber arrive, so :meth:`Telemetry.wait_subscribed` waits (bounded) until the collector
listens and no early event is lost.

:class:`TelemetryCollector` owns a SUB socket and appends every event to a JSON-lines file. In a
run the supervisor's collector binds nothing: it :meth:`~TelemetryCollector.subscribe`\\ s to the
telemetry endpoints that the run's own processes registered (with the run key), so nobody else can
publish into ``telemetry.jsonl``. Standalone, it may bind an endpoint that publishers
:meth:`~Telemetry.connect_collector` to. Inbound frames above the size limit are refused by libzmq,
the queue is bounded (``rcvhwm``; PUB drops beyond it), and a frame that is not an acceptable JSON
object is counted in ``bad`` and skipped: no event can stop the collector.
"""

import json
import logging
import time
from pathlib import Path

import zmq

from skycall.transport import security
from skycall.transport.security import LOCAL_ANY_PORT
from skycall.transport.wire import MAX_EVENT_BYTES, BadMessage, decode_object, limit_socket

log = logging.getLogger(__name__)
COLLECTOR_HWM = 10_000  # events queued per publisher: bounded memory under a flood


class Telemetry:
    """Event publisher of process ``proc``; ``emit`` never blocks (PUB drops for slow subscribers)."""

    def __init__(self, ctx: zmq.Context, proc: str, endpoint: str = LOCAL_ANY_PORT):
        self.proc = proc
        self._sock = ctx.socket(zmq.XPUB)
        self._sock.linger = 1000
        self._sock.sndhwm = 100_000
        limit_socket(self._sock, 4096, rcvhwm=1000)  # inbound: subscription messages only
        self.endpoint = security.bind(self._sock, endpoint)
        self.dropped = 0

    def connect_collector(self, endpoint: str, timeout_s: float = 10.0) -> bool:
        """Connect to a collector's bound SUB endpoint and wait until it has subscribed."""
        self._sock.connect(endpoint)
        return self.wait_subscribed(timeout_s, endpoint)

    def wait_subscribed(self, timeout_s: float = 10.0, who: str = "the collector") -> bool:
        """Wait until a subscriber has subscribed (True) or ``timeout_s`` passed (False, logged)."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            if self._sock.poll(int(left * 1000) + 1, zmq.POLLIN):
                if self._sock.recv(zmq.NOBLOCK) == b"\x01":  # the collector subscribes to everything; a
                    return True  # live viewer subscribing to a prefix (b"\x01{") first must not pass for it
        log.warning("%s: telemetry collector %s did not subscribe within %.1f s", self.proc, who, timeout_s)
        return False

    def emit(self, event_type: str, index: int, **fields) -> None:
        """Publish ``{"t": event_type, "proc": ..., "index": index, "wall": ..., **fields}``."""
        event = {"t": event_type, "proc": self.proc, "index": int(index), "wall": time.time(), **fields}
        raw = json.dumps(event, default=_jsonable).encode()
        if len(raw) > MAX_EVENT_BYTES:
            self.dropped += 1
            log.warning("%s: telemetry event %r of %d bytes exceeds %d: dropped",
                        self.proc, event_type, len(raw), MAX_EVENT_BYTES)  # fmt: skip
            return
        try:
            self._sock.send(raw, flags=zmq.NOBLOCK)
        except zmq.Again:
            self.dropped += 1

    def close(self) -> None:
        self._sock.close()


def _jsonable(value):
    """numpy scalars and arrays in events become plain JSON numbers/lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"telemetry field of type {type(value).__name__} is not JSON serialisable")


class TelemetryCollector:
    """SUB socket that receives every event; :meth:`drain` appends them to ``path``.

    ``endpoint``: where to bind (None: bind nothing, only :meth:`subscribe`). ``keep_events``: also
    keep the events in :attr:`events` (a caller that keeps its own copy passes False).
    """

    def __init__(
        self,
        ctx: zmq.Context,
        path: str | Path | None = None,
        endpoint: str | None = LOCAL_ANY_PORT,
        keep_events: bool = True,
        append: bool = True,
    ):
        self._sock = ctx.socket(zmq.SUB)
        self._sock.linger = 0
        limit_socket(self._sock, MAX_EVENT_BYTES, rcvhwm=COLLECTOR_HWM)
        self._sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.endpoint = security.bind(self._sock, endpoint) if endpoint is not None else None
        self._file = open(path, "a" if append else "w", encoding="utf-8") if path is not None else None  # noqa: SIM115
        self.keep_events = keep_events
        self.events: list[dict] = []
        self.bad = 0
        self._sources: set[str] = set()

    @property
    def socket(self) -> zmq.Socket:
        """The SUB socket (to register with a poller)."""
        return self._sock

    def subscribe(self, endpoint: str) -> None:
        """Also listen to a publisher bound at ``endpoint``."""
        if endpoint not in self._sources:
            self._sock.connect(endpoint)
            self._sources.add(endpoint)

    def unsubscribe(self, endpoint: str) -> None:
        """Stop listening to ``endpoint`` (a publisher that restarted elsewhere)."""
        if endpoint in self._sources:
            self._sources.discard(endpoint)
            try:
                self._sock.disconnect(endpoint)
            except zmq.ZMQError:
                pass

    def drain(self, timeout_s: float = 0.0) -> list[dict]:
        """Receive the events that arrived (waiting up to ``timeout_s`` for the first); return them."""
        got = []
        wait_ms = int(timeout_s * 1000)
        while self._sock.poll(wait_ms, zmq.POLLIN):
            wait_ms = 0
            try:
                event = decode_object(self._sock.recv(zmq.NOBLOCK), MAX_EVENT_BYTES)
            except zmq.Again:  # announced but dropped by libzmq: nothing to take
                break
            except BadMessage as err:
                self.bad += 1
                if self.bad == 1:
                    log.warning("telemetry: dropping a bad event (%s); further ones are only counted", err)
                continue
            got.append(event)
            if self._file is not None:
                self._file.write(json.dumps(event) + "\n")
        if self._file is not None and got:
            self._file.flush()
        if self.keep_events:
            self.events.extend(got)
        return got

    def close(self) -> None:
        self.drain()
        if self._file is not None:
            self._file.close()
        self._sock.close()


__all__ = ["Telemetry", "TelemetryCollector", "COLLECTOR_HWM"]
