"""The REQ/REP forwarding loop of one direction of srsRAN's ZeroMQ radio.

srsRAN's ZMQ radio is lock-step by sample count: a receiver's REQ socket sends a one-byte request and
gets back one message of raw interleaved complex64 samples from the transmitter's REP socket (any
number of samples: a subframe, or zeros filling a transmit gap). A :class:`Forwarder` sits in the
middle: it binds a REP socket where the receiver connects, connects a REQ socket to the transmitter,
and for each request::

    receiver ──req──▶ [REP  Forwarder  REQ] ──req──▶ transmitter
    receiver ◀─y[n]── [    channel(x)     ] ◀─x[n]── transmitter

The channel (or nothing: bytes forwarded untouched, bit-exact) is keyed to the count of samples
forwarded so far, so the stream time is the sample count whatever the wall clock does.

Restarts: a restarted receiver reconnects to the REP socket (a reply to its dead predecessor is dropped
by ZeroMQ, the next request comes from the new one). A transmitter that dies with our request in flight
never answers: the REQ socket is ``REQ_RELAXED``/``REQ_CORRELATE``, and when its monitor reports the
disconnection the request is sent again, to be delivered when the transmitter is back (stale replies
are discarded by the correlation id). Either way the stream index continues: the pass goes on.
"""

import logging
import threading
from collections.abc import Callable

import numpy as np
import zmq

from skycall.transport import security

log = logging.getLogger(__name__)

_POLL_MS = 100
_SAMPLE_BYTES = 8  # complex64: the ZMQ radio's default fc32 format


class Forwarder:
    """One direction (see the module docstring); ``run()`` loops until ``stop`` is set.

    Parameters
    ----------
    ctx : zmq.Context
    name : str
        ``"dl"`` or ``"ul"`` (logs and counters).
    listen : str
        Endpoint to bind the REP socket on (the receiver's ``rx_port``).
    upstream : str
        The transmitter's ``tx_port`` (REP) to connect the REQ socket to.
    channel : callable or None
        ``channel(x) -> y`` on complex64 arrays; None forwards the bytes untouched.
    stop : threading.Event
    limit_samples : int or None
        Stop forwarding (and set ``done``) once this many samples went through.
    """

    def __init__(self, ctx: zmq.Context, name: str, listen: str, upstream: str,
                 channel: Callable[[np.ndarray], np.ndarray] | None, stop: threading.Event,
                 limit_samples: int | None = None):
        self.ctx, self.name, self.upstream, self.channel = ctx, name, upstream, channel
        self.stop, self.limit_samples = stop, limit_samples
        self.done = threading.Event()
        self.error: str | None = None  # set when the loop died of an exception (it also sets ``stop``)
        self.samples = 0  # forwarded so far: the absolute index of the next sample
        self.messages = 0
        self.resent = 0  # requests sent again after the transmitter went away
        self.malformed = 0
        self.energy_in = 0.0  # Σ|x|² of the transmitter's samples
        self.peak_message_power = 0.0  # largest mean |x|² of one message
        self._front = ctx.socket(zmq.REP)
        self._front.linger = 0
        self.endpoint = security.bind(self._front, listen)  # loopback only: srsRAN's radio has no CURVE
        self._back = ctx.socket(zmq.REQ)
        self._back.linger = 0
        self._back.setsockopt(zmq.REQ_RELAXED, 1)
        self._back.setsockopt(zmq.REQ_CORRELATE, 1)
        self._monitor = self._back.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        self._back.connect(upstream)

    def run(self) -> None:
        """Forward requests and replies until ``stop`` (or the sample limit); close the sockets."""
        try:
            while not self.stop.is_set() and not self.done.is_set():
                if not self._front.poll(_POLL_MS):
                    continue
                request = self._front.recv()
                reply = self._exchange(request)
                if reply is None:
                    return
                self._front.send(self._apply(reply), copy=False)
                if self.limit_samples is not None and self.samples >= self.limit_samples:
                    self.done.set()
        except Exception as err:  # a bug: end the whole bridge visibly rather than hang its peers
            log.exception("%s: forwarding failed", self.name)
            self.error = f"{type(err).__name__}: {err}"
            self.stop.set()
        finally:
            if not self._back.closed:
                self._back.disable_monitor()
            for sock in (self._monitor, self._back, self._front):
                sock.close(linger=0)

    def _exchange(self, request: bytes) -> zmq.Frame | None:
        """Send ``request`` upstream and wait for the reply (resent after a disconnection); None on stop."""
        while self._monitor.poll(0):  # a disconnection between exchanges: the new request finds the new peer
            self._monitor.recv_multipart()
        self._back.send(request)
        poller = zmq.Poller()
        poller.register(self._back, zmq.POLLIN)
        poller.register(self._monitor, zmq.POLLIN)
        while not self.stop.is_set():
            events = dict(poller.poll(_POLL_MS))
            if self._back in events:
                return self._back.recv(copy=False)
            if self._monitor in events:
                self._monitor.recv_multipart()  # event frame + endpoint: the transmitter went away
                log.info("%s: transmitter %s disconnected; request sent again", self.name, self.upstream)
                self.resent += 1
                self._back.send(request)
        return None

    def _apply(self, frame: zmq.Frame):
        """The channel applied to one message (counted); bytes untouched without a channel."""
        nbytes = len(frame.buffer)
        if nbytes % _SAMPLE_BYTES:
            self.malformed += 1
            if self.malformed == 1:
                log.error("%s: a %d-byte message is not whole complex64 samples: forwarded unchanged "
                          "(the bridge needs the ZMQ radio's default fc32 sample format)", self.name, nbytes)
            return frame
        x = np.frombuffer(frame.buffer, dtype=np.complex64)
        self.messages += 1
        self.samples += x.size
        if x.size:
            power = float(np.vdot(x, x).real)
            self.energy_in += power
            self.peak_message_power = max(self.peak_message_power, power / x.size)
        if self.channel is None:
            return frame
        return self.channel(x)

    def counters(self) -> dict:
        """Samples, messages, resent requests, malformed messages and the input power (JSON-ready)."""
        mean = self.energy_in / self.samples if self.samples else 0.0
        return {"samples": self.samples, "messages": self.messages, "resent": self.resent,
                "malformed": self.malformed, "mean_power": mean, "peak_message_power": self.peak_message_power}
