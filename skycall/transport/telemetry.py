"""Telemetry: JSON events PUBlished by every process, collected into ``telemetry.jsonl``.

An event is one JSON object ``{"t": type, "proc": process name, "index": sample index, ...}``
(plus ``"wall": unix time``) sent as a single frame. :class:`Telemetry` binds its own XPUB
endpoint (anyone may subscribe, e.g. a live plot) and can also *connect* to a collector's SUB:
XPUB sees the collector's subscription, so :meth:`Telemetry.connect_collector` waits (bounded)
until the collector is listening and no early event is lost. :class:`TelemetryCollector` binds
a SUB socket and appends every event it receives to a JSON-lines file.
"""

import json
import logging
import time
from pathlib import Path

import zmq

from skycall.transport import security
from skycall.transport.stream import LOCAL_ANY_PORT

log = logging.getLogger(__name__)


class Telemetry:
    """Event publisher of process ``proc``; ``emit`` never blocks (PUB drops for slow subscribers)."""

    def __init__(self, ctx: zmq.Context, proc: str, endpoint: str = LOCAL_ANY_PORT):
        self.proc = proc
        self._sock = ctx.socket(zmq.XPUB)
        self._sock.linger = 1000
        self._sock.sndhwm = 100_000
        self.endpoint = security.bind(self._sock, endpoint)
        self.dropped = 0

    def connect_collector(self, endpoint: str, timeout_s: float = 10.0) -> bool:
        """Connect to a collector's SUB endpoint and wait until it has subscribed (True) or time out."""
        self._sock.connect(endpoint)
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            if self._sock.poll(int(left * 1000) + 1, zmq.POLLIN):
                if self._sock.recv() == b"\x01":  # the collector subscribes to everything; a live viewer
                    return True  # subscribing to a prefix (b"\x01{") first must not pass for it
        log.warning(
            "%s: telemetry collector %s did not subscribe within %.1f s", self.proc, endpoint, timeout_s
        )
        return False

    def emit(self, event_type: str, index: int, **fields) -> None:
        """Publish ``{"t": event_type, "proc": ..., "index": index, "wall": ..., **fields}``."""
        event = {"t": event_type, "proc": self.proc, "index": int(index), "wall": time.time(), **fields}
        try:
            self._sock.send(json.dumps(event, default=_jsonable).encode(), flags=zmq.NOBLOCK)
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
    """SUB socket (bound) that receives every event; :meth:`drain` appends them to ``path``."""

    def __init__(self, ctx: zmq.Context, path: str | Path | None = None, endpoint: str = LOCAL_ANY_PORT):
        self._sock = ctx.socket(zmq.SUB)
        self._sock.linger = 0
        self._sock.rcvhwm = 0
        self._sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.endpoint = security.bind(self._sock, endpoint)
        self._file = open(path, "a", encoding="utf-8") if path is not None else None  # noqa: SIM115
        self.events: list[dict] = []
        self.bad = 0

    def subscribe(self, endpoint: str) -> None:
        """Also listen to a publisher bound elsewhere."""
        self._sock.connect(endpoint)

    def drain(self, timeout_s: float = 0.0) -> list[dict]:
        """Receive the events that arrived (waiting up to ``timeout_s`` for the first); return them."""
        got = []
        wait_ms = int(timeout_s * 1000)
        while self._sock.poll(wait_ms, zmq.POLLIN):
            wait_ms = 0
            raw = self._sock.recv()
            try:
                event = json.loads(raw)
            except ValueError:
                self.bad += 1
                continue
            got.append(event)
            if self._file is not None:
                self._file.write(json.dumps(event) + "\n")
        if self._file is not None and got:
            self._file.flush()
        self.events.extend(got)
        return got

    def close(self) -> None:
        self.drain()
        if self._file is not None:
            self._file.close()
        self._sock.close()


__all__ = ["Telemetry", "TelemetryCollector"]
