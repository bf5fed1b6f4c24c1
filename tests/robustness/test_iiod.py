"""Issue 20 #6 (iiod side): hostile iiod commands are bounded — a huge TIMEOUT cannot break READBUF for
later clients, READBUF/WRITE sizes and line lengths are limited — and (what held) garbage and 250 idle
clients leave the server serving; fuzzed command lines never end a server thread."""

import errno
import socket
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skycall.radio.virtual_pluto import IiodServer, VirtualPluto
from skycall.radio.virtual_pluto.context import PHY, RXADC, TXDAC
from skycall.radio.virtual_pluto.iiod import MAX_LINE_BYTES


@pytest.fixture
def server():
    with IiodServer(VirtualPluto(), port=0) as srv:
        yield srv


class Client:
    def __init__(self, srv: IiodServer):
        self.sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        self.file = self.sock.makefile("rb")

    def ask(self, line: bytes) -> int:
        self.sock.sendall(line + b"\r\n")
        return int(self.file.readline())

    def readbuf(self, nbytes: int) -> bytes:
        n = self.ask(b"READBUF %s %d" % (RXADC.encode(), nbytes))
        if n < 0:
            return n
        self.file.readline()  # channel mask
        return self.file.read(n)

    def close(self):
        self.file.close()
        self.sock.close()


def _threads_ok(srv):
    """The server still answers on a fresh connection."""
    c = Client(srv)
    try:
        c.sock.sendall(b"VERSION\r\n")
        return c.file.readline().startswith(b"0.")
    finally:
        c.close()


def test_a_huge_timeout_is_refused_and_later_clients_still_read(server):
    attacker = Client(server)
    assert attacker.ask(b"TIMEOUT 99999999999999999999") == -errno.EINVAL
    assert attacker.ask(b"TIMEOUT -5") == -errno.EINVAL
    assert attacker.ask(b"TIMEOUT 50") == 0  # a sane one is taken (50 ms)
    attacker.close()
    c = Client(server)
    assert c.ask(b"OPEN %s 256 3" % RXADC.encode()) == 0
    assert len(c.readbuf(256 * 4)) == 256 * 4  # was: OverflowError for every later READBUF
    c.close()


def test_readbuf_and_write_sizes_are_bounded(server):
    c = Client(server)
    assert c.ask(b"TIMEOUT 50") == 0
    assert c.ask(b"OPEN %s 256 3" % RXADC.encode()) == 0
    assert c.readbuf(10**12) == -errno.EINVAL  # 1 TB: was a MemoryError in the server thread
    assert c.readbuf(256 * 4 + 4) == -errno.EINVAL  # more than the opened buffer
    assert c.ask(b"OPEN %s 99999999999 3" % TXDAC.encode()) == -errno.EINVAL
    assert c.ask(b"WRITE %s sampling_frequency 99999999999" % PHY.encode()) == -errno.EINVAL
    assert len(c.readbuf(256 * 4)) == 256 * 4  # the connection is still in sync
    c.close()
    assert _threads_ok(server)


def test_an_overlong_line_is_refused_and_its_connection_closed(server):
    c = Client(server)
    c.sock.sendall(b"READ " + b"x" * (4 * MAX_LINE_BYTES))  # no newline: would be buffered without limit
    assert int(c.file.readline()) == -errno.EINVAL
    assert c.file.readline() == b""  # closed: the stream cannot be re-synchronised
    c.close()
    assert _threads_ok(server)


def test_garbage_and_250_idle_clients_leave_the_server_serving(server):
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(250)]
    try:
        for junk in (b"\x00\xff" * 500 + b"\n", b"\n\n\n", b"OPEN\n", b"READBUF\n", b"WRITE a b c d\n", b"EXIT\n"):
            c = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            c.sendall(junk)
            c.close()
        assert _threads_ok(server)
    finally:
        for s in idle:
            s.close()


_word = st.sampled_from(["PRINT", "VERSION", "TIMEOUT", "OPEN", "CLOSE", "READ", "WRITE", "READBUF", "SET",
                         "GETTRIG", "SETTRIG", RXADC, TXDAC, PHY, "INPUT", "OUTPUT", "voltage0", "CYCLIC", "3",
                         "-1", "0", "99999999999999999999", "1e9", "nan", "ffffffffffffffffffff"])
_line = st.one_of(
    st.lists(_word, min_size=1, max_size=6).map(lambda ws: " ".join(ws).encode()),
    st.binary(max_size=100).filter(lambda b: b"\n" not in b),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_line, min_size=1, max_size=6))
def test_fuzzed_command_lines_never_end_a_server_thread(server, lines):
    errors = []
    original = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        c = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        c.sendall(b"TIMEOUT 20\r\n" + b"".join(line + b"\r\n" for line in lines) + b"EXIT\r\n")
        c.settimeout(5)
        try:
            while c.recv(65536):  # the server answers and closes at EXIT (or at a bad WRITE's body)
                pass
        except (TimeoutError, ConnectionError):
            pass
        c.close()
        assert _threads_ok(server)
    finally:
        threading.excepthook = original
    assert not errors
