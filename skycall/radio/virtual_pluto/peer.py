"""The wire between two virtual Plutos: each one's receiver pulls the other's transmit stream.

Lock-step by sample count over ZeroMQ REQ/REP: the receiver asks for ``n`` samples within
``wait_s`` seconds, and whether to await the transmitter's start (u64 + f64 + u8, little endian);
the transmitter answers with its true TX LO (f64, Hz) followed by ``n`` complex64 samples taken
from its transmit queue (see :meth:`VirtualPluto.take_tx`). Pulling, not pushing, keeps both sides
paced by sample index: a receiver never runs ahead of what the peer transmitted except by the
peer's zero padding (counted there as underflow). When the peer does not answer within
``wait_s + margin_s`` the receiver gets silence. When the receiver closes it sends ``n = 0`` with
``wait_s < 0``: the transmitter stops holding its samples for it (:meth:`VirtualPluto.unheard`).
"""

import logging
import struct
import threading

import numpy as np
import zmq

from skycall.radio.virtual_pluto.device import VirtualPluto

log = logging.getLogger(__name__)

_REQUEST = struct.Struct("<Qd?")
_HEADER = struct.Struct("<d")


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
        self._rep.bind(bind)
        self.endpoint = self._rep.getsockopt_string(zmq.LAST_ENDPOINT)
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
            n, wait_s, await_start = _REQUEST.unpack(self._rep.recv())
            if wait_s < 0:
                self.model.unheard()
                self._rep.send(b"")
                continue
            x, carrier_hz = self.model.take_tx(int(n), wait_s, await_start)
            self._rep.send_multipart([_HEADER.pack(carrier_hz), x.tobytes()], copy=False)

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
