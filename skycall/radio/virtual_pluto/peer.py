"""The cable between two virtual Plutos: each one's receiver asks the other's transmitter over ZeroMQ.

Each board runs one link: a REP service answering the peer's requests about its transmitter, and a
REQ client asking the peer. Two kinds, matching the two kinds of streams:

* :class:`PeerLink` (lock-step): the receiver asks for the next ``n`` samples within ``wait_s``
  seconds, and whether to await the transmitter's start (u64 + f64 + u8, little endian); the
  transmitter answers with its true TX LO (f64, Hz) and ``n`` complex64 samples taken from its
  queue. Pulling, not pushing, keeps both sides paced by sample index. ``n = 0`` with ``wait_s < 0``
  says the receiver closed: the transmitter stops holding its samples for it.
* :class:`AirLink` (free-running): the receiver asks what was on the air at its own sample times
  ``t0 + k·dt`` (wall time, ``time.monotonic()``), k < n (f64 + f64 + u32); the transmitter answers
  with its true TX LO and the ``n`` samples (:meth:`FreeRunningStreams.tx_signal`).

A peer that does not answer within the margin is heard as silence (logged once per outage), and
the next request reconnects. The service binds through :func:`skycall.transport.security.bind`
(loopback only, unless CURVE keys are given); requests are size-limited; a malformed one gets an
empty reply and is counted (:attr:`malformed`); if the service thread itself dies, ``on_fatal``
is called (the CLI stops the process with a non-zero exit code) instead of a silent half-dead link.
"""

import logging
import math
import struct
import threading
from collections.abc import Callable

import numpy as np
import zmq

from skycall.transport.security import CurveKeys, bind, make_client

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024
MAX_SAMPLES = 1 << 22
_LOCKSTEP_REQ = struct.Struct("<Qd?")
_AIR_REQ = struct.Struct("<ddI")
_HEADER = struct.Struct("<d")


class _Link:
    """REP service + REQ client sharing one ZeroMQ context (see the module docstring)."""

    name = "peer"

    def __init__(self, model, bind_endpoint: str, connect: str | None, margin_s: float, keys: CurveKeys | None,
                 on_fatal: Callable[[BaseException], None] | None):
        self.streams = model.streams
        self.margin_s, self.keys = float(margin_s), keys
        self.on_fatal = on_fatal or (lambda err: None)
        self.malformed = 0
        self.failed: str | None = None
        self._ctx = zmq.Context()
        self._rep = self._ctx.socket(zmq.REP)
        self._rep.setsockopt(zmq.MAXMSGSIZE, MAX_REQUEST_BYTES)
        self._rep.setsockopt(zmq.LINGER, 0)
        try:
            self.endpoint = bind(self._rep, bind_endpoint, keys)
        except BaseException:
            self._rep.close(linger=0)
            self._ctx.term()
            raise
        self._peer: str | None = None
        self._req: zmq.Socket | None = None
        self._req_lock = threading.Lock()
        self._silent = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"vpluto-{self.name}", daemon=False)
        self._thread.start()
        if connect:
            self.connect(connect)

    def connect(self, endpoint: str) -> None:
        with self._req_lock:
            self._peer = endpoint
            self._new_req()

    def _new_req(self) -> None:
        if self._req is not None:
            self._req.close(linger=0)
        self._req = self._ctx.socket(zmq.REQ)
        self._req.setsockopt(zmq.LINGER, 0)
        self._req.setsockopt(zmq.MAXMSGSIZE, 8 * MAX_SAMPLES + 64)
        if self.keys is not None:
            make_client(self._req, self.keys)
        self._req.connect(self._peer)

    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self._rep, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                if not poller.poll(100):
                    continue
                request = self._rep.recv_multipart()
                try:
                    reply = self.answer(request)
                except Exception as err:  # a bad request costs one empty reply, never the service
                    self.malformed += 1
                    log.warning("%s link: request dropped (%s)", self.name, err)
                    reply = [b""]
                self._rep.send_multipart(reply, copy=False)
        except BaseException as err:  # the service is dead: say so loudly, never limp on
            if self._stop.is_set():
                return
            self.failed = f"{self.name} link service died: {err!r}"
            log.critical("%s", self.failed)
            self.on_fatal(err)

    def answer(self, request: list[bytes]) -> list[bytes]:
        raise NotImplementedError

    def _ask(self, frames: bytes, wait_s: float) -> list[bytes] | None:
        """Send one request; the reply frames, or None (no peer, timeout, or an empty reply)."""
        with self._req_lock:
            if self._req is None:
                return None
            timeout_ms = int((wait_s + self.margin_s) * 1000)
            self._req.setsockopt(zmq.RCVTIMEO, timeout_ms)
            self._req.send(frames)
            try:
                reply = self._req.recv_multipart()
            except zmq.Again:
                if not self._silent:
                    log.warning("peer %s did not answer within %d ms: receiving silence", self._peer, timeout_ms)
                self._silent = True
                self._new_req()
                return None
        if self._silent:
            log.info("peer %s answers again", self._peer)
            self._silent = False
        return reply if len(reply) == 2 and len(reply[0]) == _HEADER.size else None

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._req_lock:
            if self._req is not None:
                self._req.close(linger=0)
                self._req = None
        self._rep.close(linger=0)
        self._ctx.term()


def _samples(reply: list[bytes] | None, n: int) -> tuple[np.ndarray, float]:
    if reply is None or len(reply[1]) != 8 * n:
        return np.zeros(n, np.complex64), 0.0
    return np.frombuffer(reply[1], np.complex64).copy(), _HEADER.unpack(reply[0])[0]


def _unpack(request: list[bytes], layout: struct.Struct) -> tuple:
    """The fields of a one-frame request (ValueError/struct.error for anything else)."""
    if len(request) != 1:
        raise ValueError(f"{len(request)} frames")
    return layout.unpack(request[0])


def _check_request(n: int, *times: float) -> None:
    if n > MAX_SAMPLES or not all(math.isfinite(t) for t in times):
        raise ValueError(f"request for {n} samples at {times} refused")


class PeerLink(_Link):
    """Lock-step: serve ``model``'s transmit queue at ``bind`` and feed its receiver from ``connect``.

    ``bind`` may use port 0 (``tcp://127.0.0.1:0``): :attr:`endpoint` tells the bound address.
    ``connect`` may be set later with :meth:`connect` (start order does not matter).
    """

    name = "lock-step peer"

    def __init__(self, model, bind: str, connect: str | None = None, margin_s: float = 1.0, keys=None,
                 on_fatal=None):
        super().__init__(model, bind, connect, margin_s, keys, on_fatal)
        self.streams.source, self.streams.on_rx_close = self.pull, self.unheard

    def answer(self, request: list[bytes]) -> list[bytes]:
        n, wait_s, await_start = _unpack(request, _LOCKSTEP_REQ)
        _check_request(n, wait_s)
        if wait_s < 0:
            self.streams.unheard()
            return [b""]
        x, carrier_hz = self.streams.take_tx(int(n), min(wait_s, 60.0), await_start)
        return [_HEADER.pack(carrier_hz), x.tobytes()]

    def pull(self, n: int, wait_s: float = 0.0, await_start: bool = False) -> tuple[np.ndarray, float]:
        """``n`` samples of the peer's transmission and its true TX LO (silence if no peer answers)."""
        return _samples(self._ask(_LOCKSTEP_REQ.pack(n, wait_s, await_start), wait_s), n)

    def unheard(self, timeout_s: float = 1.0) -> None:
        """Tell the peer this receiver closed (best effort: an absent peer is not waited for)."""
        self._ask(_LOCKSTEP_REQ.pack(0, -1.0, False), timeout_s - self.margin_s)


class AirLink(_Link):
    """Free-running: serve what ``model`` transmits at given times; ask the peer what it transmits."""

    name = "air"

    def __init__(self, model, bind: str, connect: str | None = None, margin_s: float = 0.2, keys=None,
                 on_fatal=None):
        super().__init__(model, bind, connect, margin_s, keys, on_fatal)
        self.streams.source = self.signal

    def answer(self, request: list[bytes]) -> list[bytes]:
        t0, dt, n = _unpack(request, _AIR_REQ)
        _check_request(n, t0, dt)
        if not 0.0 < dt < 1e-3:
            raise ValueError(f"sample period {dt} s")
        x, carrier_hz = self.streams.tx_signal(t0, dt, n)
        return [_HEADER.pack(carrier_hz), x.tobytes()]

    def signal(self, t0: float, dt: float, n: int) -> tuple[np.ndarray, float]:
        """The peer's transmission at wall times ``t0 + k·dt`` and its true TX LO (silence if it is absent)."""
        return _samples(self._ask(_AIR_REQ.pack(t0, dt, n), 0.0), n)
