"""A server speaking libiio's ``iiod`` text protocol (v0.2x) in front of a :class:`VirtualPluto`.

Wire format (what libiio 0.24's network backend sends and expects; one command per line, ``\\r\\n``):

=====================================================  ==========================================
command                                                reply
=====================================================  ==========================================
``PRINT``                                              ``<len>\\n`` + context XML + ``\\n``
``VERSION``                                            ``<major>.<minor>.<7-char tag>\\n``
``TIMEOUT <ms>`` / ``SET <dev> BUFFERS_COUNT <n>``     ``0\\n``
``OPEN <dev> <samples> <hex mask> [CYCLIC]``           ``0\\n`` (or ``-errno\\n``)
``CLOSE <dev>``                                        ``0\\n``
``READ <dev> [INPUT|OUTPUT <chn>|DEBUG|BUFFER] <a>``    ``<len>\\n`` + value + ``\\0\\n``
``WRITE <dev> [...] <a> <len>`` + ``len`` bytes        ``<len>\\n`` (or ``-errno\\n``)
``READBUF <dev> <bytes>``                              ``<bytes>\\n`` + mask hex + ``\\n`` + samples
``WRITEBUF <dev> <bytes>`` + ``bytes``                 ``0\\n`` … ``<bytes>\\n``
``GETTRIG <dev>`` / ``SETTRIG <dev> [<trig>]``         ``0\\n``
``EXIT``                                               (connection closed)
=====================================================  ==========================================

Errors are negative errno values. libiio opens one extra connection per streaming device, so the
server is threaded; each connection remembers which devices it opened. libiio sends ``TIMEOUT``
on its first connection only, so a new connection starts with the latest timeout any connection
set (how long a ``WRITEBUF`` may wait for the transmit queue to drain).

Hostile or broken clients are bounded: a command line longer than :data:`MAX_LINE_BYTES` gets
``-EINVAL`` and the connection is closed (it cannot be re-synchronised); ``TIMEOUT`` accepts
``0..2^31-1`` ms and leaves the shared timeout alone otherwise; ``OPEN`` takes at most
:data:`MAX_BUFFER_SAMPLES`; ``READBUF``/``WRITEBUF`` at most the opened buffer's bytes; ``WRITE``
at most :data:`MAX_ATTR_BYTES`. Anything else a command raises is answered ``-EINVAL`` (logged
once per kind), never a dead server thread.
"""

import errno
import logging
import socket
import socketserver
import threading

import numpy as np

from skycall.radio.virtual_pluto.context import RXADC, TXDAC
from skycall.radio.virtual_pluto.device import IioError, VirtualPluto

log = logging.getLogger(__name__)

IIOD_PORT = 30431
VERSION_LINE = b"0.24.skycall\n"
TX_QUEUE_BUFFERS = 4  # like the kernel's four DMA blocks
DEFAULT_TIMEOUT_S = 2.5  # what libiio 0.24 asks for by default (half its 5 s client timeout)
MAX_LINE_BYTES = 4096
MAX_TIMEOUT_MS = 2**31 - 1
MAX_BUFFER_SAMPLES = 1 << 22
MAX_ATTR_BYTES = 64 * 1024


class _Handler(socketserver.StreamRequestHandler):
    server: "IiodServer"

    def handle(self) -> None:
        self.opened: dict[str, tuple[int, list[int], bool]] = {}
        self.timeout_s = self.server.timeout_s
        self.server.track(self.connection, True)
        try:
            while True:
                line = self.rfile.readline(MAX_LINE_BYTES + 1)
                if not line:
                    break
                if len(line) > MAX_LINE_BYTES:
                    log.warning("iiod: closing a connection that sent a line over %d bytes", MAX_LINE_BYTES)
                    self._reply(-errno.EINVAL)
                    break
                words = line.decode("ascii", "replace").split()
                if not words:
                    continue
                if words[0] == "EXIT":
                    break
                self._dispatch(words)
        except (ConnectionError, OSError, ValueError):
            pass
        finally:
            for dev in list(self.opened):
                self._close(dev)
            self.server.track(self.connection, False)

    def _reply(self, value: int, payload: bytes = b"") -> None:
        self.wfile.write(b"%d\n" % value + payload)
        self.wfile.flush()

    def _dispatch(self, words: list[str]) -> None:
        cmd, args = words[0], words[1:]
        model = self.server.model
        try:
            if cmd == "PRINT":
                xml = model.xml.encode()
                self._reply(len(xml), xml + b"\n")
            elif cmd == "VERSION":
                self.wfile.write(VERSION_LINE)
                self.wfile.flush()
            elif cmd == "TIMEOUT":
                timeout_ms = _bounded_int(args[0], 0, MAX_TIMEOUT_MS)
                self.timeout_s = self.server.timeout_s = max(timeout_ms, 1) / 1000.0
                self._reply(0)
            elif cmd in ("GETTRIG", "SET"):
                dev = model.device(args[0])
                if cmd == "SET" and args[1:2] == ["BUFFERS_COUNT"]:
                    model.set_kernel_buffers(dev.name, int(args[2]))
                self._reply(0)
            elif cmd == "SETTRIG":
                model.device(args[0])
                self._reply(-errno.EINVAL if len(args) > 1 else 0)
            elif cmd == "OPEN":
                self._open(args)
            elif cmd == "CLOSE":
                self._close(model.device(args[0]).name)
                self._reply(0)
            elif cmd == "READ":
                dev, attr, chan, output, kind = self._attr_address(args)
                value = model.read_attr(dev, attr, chan, output, kind).encode() + b"\x00"
                self._reply(len(value), value + b"\n")
            elif cmd == "WRITE":
                nbytes = _bounded_int(args[-1], 0, MAX_ATTR_BYTES)
                data = self.rfile.read(nbytes).decode("ascii", "replace")
                dev, attr, chan, output, kind = self._attr_address(args[:-1])
                model.write_attr(dev, attr, data, chan, output, kind)
                self._reply(nbytes)
            elif cmd == "READBUF":
                self._readbuf(model.device(args[0]).name, int(args[1]))
            elif cmd == "WRITEBUF":
                self._writebuf(model.device(args[0]).name, int(args[1]))
            else:
                self._reply(-errno.EINVAL)
        except IioError as err:
            log.debug("%s refused: %s", " ".join(words)[:200], err)
            self._reply(-err.code)
        except (IndexError, ValueError):
            self._reply(-errno.EINVAL)
        except (OSError, ConnectionError):
            raise
        except Exception as err:  # noqa: BLE001 - a command must never end the server thread
            if self.server.note_failure(type(err).__name__):
                log.warning("iiod: %r failed (%s: %s); answering -EINVAL", cmd[:40], type(err).__name__, err)
            self._reply(-errno.EINVAL)

    @staticmethod
    def _attr_address(args: list[str]) -> tuple:
        """``dev [INPUT|OUTPUT chn | DEBUG | BUFFER] attr`` → ``(dev, attr, chan, output, kind)``."""
        dev, rest = args[0], args[1:]
        if rest and rest[0] in ("INPUT", "OUTPUT"):
            return dev, rest[2], rest[1], rest[0] == "OUTPUT", "chan"
        if rest and rest[0] in ("DEBUG", "BUFFER"):
            return dev, rest[1], None, False, rest[0].lower()
        return dev, rest[0], None, False, "dev"

    def _open(self, args: list[str]) -> None:
        dev = self.server.model.device(args[0])
        if len(args[2]) > 16:
            raise IioError(errno.EINVAL, "channel mask too long")
        samples, mask = _bounded_int(args[1], 1, MAX_BUFFER_SAMPLES), int(args[2], 16)
        cyclic = len(args) > 3 and args[3] == "CYCLIC"
        if dev.name not in (RXADC, TXDAC):
            raise IioError(errno.ENODEV, f"{dev.name} has no buffer")
        scan = [i for i, chn in enumerate(dev.channels) if chn.scan]
        enabled = [i for i in scan if mask >> i & 1]
        if not enabled or samples <= 0 or mask >> len(dev.channels):
            raise IioError(errno.EINVAL, "bad OPEN")
        if not self.server.claim(dev.name, self):
            raise IioError(errno.EBUSY, f"{dev.name} is open on another connection")
        self.opened[dev.name] = (samples, enabled, cyclic)
        if dev.name == TXDAC:
            self.server.model.open_tx(cyclic, samples)
        else:
            self.server.model.open_rx(samples)
        self._reply(0)

    def _close(self, dev_name: str) -> None:
        if self.opened.pop(dev_name, None) is not None:
            if dev_name == TXDAC:
                self.server.model.close_tx()
            else:
                self.server.model.close_rx()
            self.server.release(dev_name, self)

    def _stream(self, dev_name: str) -> tuple[int, list[int], bool]:
        if dev_name not in self.opened:
            raise IioError(errno.EBADF, f"{dev_name} is not open on this connection")
        return self.opened[dev_name]

    def _readbuf(self, dev_name: str, nbytes: int) -> None:
        samples, enabled, _ = self._stream(dev_name)
        if dev_name != RXADC:
            raise IioError(errno.EINVAL, "READBUF on a transmit device")
        if not 0 < nbytes <= samples * 2 * len(enabled):
            raise IioError(errno.EINVAL, f"READBUF of {nbytes} bytes: the open buffer holds {samples} samples")
        n = nbytes // (2 * len(enabled))
        iq = self.server.model.read_rx(n, self.timeout_s)
        words = (len(self.server.model.device(dev_name).channels) + 31) // 32
        mask = sum(1 << i for i in enabled)
        data = np.ascontiguousarray(iq[:, enabled]).astype("<i2").tobytes()
        self._reply(len(data), b"%0*x\n" % (8 * words, mask) + data)

    def _writebuf(self, dev_name: str, nbytes: int) -> None:
        samples, enabled, cyclic = self._stream(dev_name)
        if dev_name != TXDAC:
            raise IioError(errno.EINVAL, "WRITEBUF on a receive device")
        if not 0 <= nbytes <= samples * 2 * len(enabled):
            raise IioError(errno.EINVAL, f"WRITEBUF of {nbytes} bytes: the open buffer holds {samples} samples")
        self._reply(0)
        raw = np.frombuffer(self.rfile.read(nbytes), "<i2")
        per_sample = len(enabled)
        frames = raw[: len(raw) // per_sample * per_sample].reshape(-1, per_sample)
        iq = np.zeros((len(frames), 2), np.int16)
        for col, chn in enumerate(enabled):
            iq[:, chn] = frames[:, col]
        self.server.model.write_tx(iq, cyclic, self.timeout_s, TX_QUEUE_BUFFERS * samples)
        self._reply(nbytes)


def _bounded_int(text: str, lo: int, hi: int) -> int:
    """``int(text)`` within ``[lo, hi]``; IioError(EINVAL) otherwise (never a huge or negative size)."""
    if len(text) > 20:
        raise IioError(errno.EINVAL, f"number {text[:24]!r}... is too long")
    value = int(text)
    if not lo <= value <= hi:
        raise IioError(errno.EINVAL, f"{value} is outside {lo}..{hi}")
    return value


class IiodServer(socketserver.ThreadingTCPServer):
    """Serve ``model`` on ``host:port`` (port 0 picks a free one; see :attr:`port`).

    Use as a context manager, or ``start()`` / ``stop()``; ``stop`` closes every client
    connection and joins every thread.
    """

    allow_reuse_address = True
    request_queue_size = 128  # listen backlog: a burst of clients is accepted, not left retrying SYNs
    daemon_threads = False
    block_on_close = True

    def __init__(self, model: VirtualPluto, host: str = "127.0.0.1", port: int = IIOD_PORT):
        self.model = model
        self.timeout_s = DEFAULT_TIMEOUT_S
        self._lock = threading.Lock()
        self._clients: set[socket.socket] = set()
        self._owners: dict[str, object] = {}
        self._failures: set[str] = set()
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def uri(self) -> str:
        return f"ip:{self.server_address[0]}:{self.port}"

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._clients.add if add else self._clients.discard)(conn)

    def note_failure(self, kind: str) -> bool:
        """True the first time a command failed with ``kind`` (so it is logged once)."""
        with self._lock:
            first = kind not in self._failures
            self._failures.add(kind)
            return first

    def claim(self, dev_name: str, owner) -> bool:
        with self._lock:
            return self._owners.setdefault(dev_name, owner) is owner

    def release(self, dev_name: str, owner) -> None:
        with self._lock:
            if self._owners.get(dev_name) is owner:
                del self._owners[dev_name]

    def start(self) -> "IiodServer":
        self._thread = threading.Thread(target=self.serve_forever, name=f"iiod:{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close every connection, wake blocked streams, join all threads."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.model.shutdown()
        with self._lock:
            for conn in self._clients:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.server_close()

    def __enter__(self) -> "IiodServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
