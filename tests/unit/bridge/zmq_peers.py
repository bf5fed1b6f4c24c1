"""Fake srsRAN ZMQ radio peers for the bridge tests: a transmitter (REP) and a receiver (REQ)."""

import threading
import time

import zmq

ANY = "tcp://127.0.0.1:0"
PEERS: list = []  # fake transmitters still serving, ended before their context


class FakeTransmitter:
    """srsRAN's transmitter side: a REP socket answering each request with the next message of ``messages``.

    ``die_after``: receive that many + 1 requests but answer only ``die_after``, then close (a crash with a
    request in flight)."""

    def __init__(self, ctx, endpoint, messages, die_after=None):
        self.sock = ctx.socket(zmq.REP)
        self.sock.linger = 0
        deadline = time.monotonic() + 10.0
        while True:  # a restarted transmitter binds its old port as soon as the OS has released it
            try:
                self.sock.bind(endpoint)
                break
            except zmq.ZMQError as err:
                if err.errno != zmq.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.endpoint = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.messages, self.die_after, self.sent = list(messages), die_after, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        PEERS.append(self)

    def _serve(self):
        while self.messages and not self.stop.is_set():
            if not self.sock.poll(50):
                continue
            self.sock.recv()
            if self.die_after is not None and self.sent == self.die_after:
                self.sock.close(linger=0)  # crash: the request in flight is never answered
                return
            self.sock.send(self.messages.pop(0))
            self.sent += 1
        self.sock.close(linger=5000)  # the last reply still goes out


class FakeReceiver:
    """srsRAN's receiver side: a REQ socket sending one-byte requests."""

    def __init__(self, ctx, endpoint):
        self.sock = ctx.socket(zmq.REQ)
        self.sock.linger = 0
        self.sock.connect(endpoint)

    def get(self, n: int) -> list[bytes]:
        out = []
        for _ in range(n):
            self.sock.send(b"\xff")
            assert self.sock.poll(10_000), "no reply from the bridge"
            out.append(self.sock.recv())
        return out
