"""The wire between two virtual Plutos: each one's receiver pulls the other's transmit stream.

Lock-step by sample count over ZeroMQ REQ/REP: the receiver asks for ``n`` samples within
``wait_s`` seconds, and whether to await the transmitter's start (u64 + f64 + u8, little endian);
the transmitter answers with its true TX LO (f64, Hz) followed by ``n`` complex64 samples taken
from its transmit queue (see :meth:`VirtualPluto.take_tx`). Pulling, not pushing, keeps both sides
paced by sample index: a receiver never runs ahead of what the peer transmitted except by the
peer's zero padding (counted there as underflow). When the peer does not answer within
``wait_s + margin_s`` the receiver gets silence. When the receiver closes it sends ``n = 0`` with
``wait_s < 0``: the transmitter stops holding its samples for it (:meth:`VirtualPluto.unheard`).

The transmit stream binds through :func:`skycall.transport.security.bind` (loopback unless CURVE
keys are given). A request that is not one 17-byte frame, asks for more than :data:`MAX_PULL`
samples or waits a NaN or over-long time gets an empty reply and is counted
in :attr:`PeerLink.rejected`; the serving thread never dies of a request.
"""

import logging
import math
import struct
import threading

import numpy as np
import zmq

from skycall.radio.virtual_pluto.device import VirtualPluto
from skycall.transport import security

log = logging.getLogger(__name__)

_REQUEST = struct.Struct("<Qd?")
_HEADER = struct.Struct("<d")
MAX_PULL = 1 << 22  # samples one request may ask for (32 MiB of complex64)
MAX_WAIT_S = 3600.0


class PeerLink:
    """Serve ``model``'s transmit stream at ``bind`` and feed its receiver from the peer at ``connect``.

    ``bind`` may use port 0 (``tcp://127.0.0.1:0``): :attr:`endpoint` tells the bound address.
    ``connect`` may be set later with :meth:`connect` (start order does not matter).
    """

    def __init__(self, model: VirtualPluto, bind: str, connect: str | None = None, margin_s: float = 1.0):
        self.model = model
        self.margin_s = float(margin_s)
        self._ctx = zmq.Context()
        self._rep = self._ctx.socket(zmq.REP)
        self._rep.setsockopt(zmq.MAXMSGSIZE, 4096)  # requests are 17 bytes
        self.endpoint = security.bind(self._rep, bind)
        self.rejected = 0
        self._peer: str | None = None
        self._req: zmq.Socket | None = None
        self._req_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="vpluto-peer", daemon=False)
        self._thread.start()
        model.source = self.pull
        model.on_rx_close = self.unheard
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
        self._req.connect(self._peer)

    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self._rep, zmq.POLLIN)
        while not self._stop.is_set():
            if not poller.poll(100):
                continue
            frames = self._rep.recv_multipart(zmq.NOBLOCK)
            try:
                reply = self._answer(frames)
            except Exception as err:  # noqa: BLE001 - a request must never end the link
                self.rejected += 1
                if self.rejected == 1:
                    log.warning("peer link %s: refusing a bad request (%s); further ones are only counted",
                                self.endpoint, err)  # fmt: skip
                reply = [b""]
            self._rep.send_multipart(reply, copy=False)

    def _answer(self, frames: list[bytes]) -> list:
        if len(frames) != 1 or len(frames[0]) != _REQUEST.size:
            raise ValueError(f"{len(frames)} frame(s) of {[len(f) for f in frames]} bytes, not one of {_REQUEST.size}")
        n, wait_s, await_start = _REQUEST.unpack(frames[0])
        if wait_s < 0:
            self.model.unheard()
            return [b""]
        if n > MAX_PULL or not math.isfinite(wait_s) or wait_s > MAX_WAIT_S:
            raise ValueError(f"asks for {n} samples within {wait_s} s (at most {MAX_PULL} within {MAX_WAIT_S:g} s)")
        x, carrier_hz = self.model.take_tx(int(n), wait_s, await_start)
        return [_HEADER.pack(carrier_hz), x.tobytes()]

    def pull(self, n: int, wait_s: float = 0.0, await_start: bool = False) -> tuple[np.ndarray, float]:
        """``n`` samples of the peer's transmission and its true TX LO (silence if no peer answers)."""
        with self._req_lock:
            if self._req is None:
                return np.zeros(n, np.complex64), 0.0
            timeout_ms = int((wait_s + self.margin_s) * 1000)
            self._req.setsockopt(zmq.RCVTIMEO, timeout_ms)
            self._req.send(_REQUEST.pack(n, wait_s, await_start))
            try:
                header, payload = self._req.recv_multipart()
            except zmq.Again:
                log.warning("peer %s did not answer within %d ms: receiving silence", self._peer, timeout_ms)
                self._new_req()
                return np.zeros(n, np.complex64), 0.0
        return np.frombuffer(payload, np.complex64).copy(), _HEADER.unpack(header)[0]

    def unheard(self, timeout_s: float = 1.0) -> None:
        """Tell the peer this receiver closed (best effort: an absent peer is not waited for)."""
        with self._req_lock:
            if self._req is None:
                return
            self._req.setsockopt(zmq.RCVTIMEO, int(timeout_s * 1000))
            self._req.send(_REQUEST.pack(0, -1.0, False))
            try:
                self._req.recv()
            except zmq.Again:
                self._new_req()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._req_lock:
            if self._req is not None:
                self._req.close(linger=0)
                self._req = None
        self._rep.close(linger=0)
        self._ctx.term()
