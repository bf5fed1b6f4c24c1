"""Socket security: loopback by default, CURVE on any other interface, and per-run local authentication.

**Other hosts.** An endpoint is *local* when it is ``ipc://``, ``inproc://`` or ``tcp://`` on
127.0.0.0/8, ``::1`` or ``localhost``. :func:`check_bind` refuses to bind anything else unless
CURVE keys are given; :func:`make_server` / :func:`make_client` switch a socket to CURVE (Z85 keys
from ``zmq.curve_keypair()``).

**Other local users.** Loopback TCP is open to every user of the machine, so a run of ``skycall
run`` does not use it. Its design, two layers:

1. *The kernel keeps other users out.* Every socket of a run is an ``ipc://`` (Unix-domain)
   socket in a private socket directory (:func:`private_socket_dir`, mode 0700, owned by the
   run's user). ``connect(2)`` on a Unix socket needs search permission on its directory, so a
   process of another user (``nobody``) cannot connect to any of them — not the control, directory
   or telemetry sockets, and not an IQ stream's PUSH either (no stolen IQ, no injected IQ). The run
   directory is 0700 too, so ``endpoints.json`` and the key are unreadable to others. The socket
   directory lives under ``$XDG_RUNTIME_DIR`` or ``/tmp`` because ``sun_path`` holds at most
   :data:`MAX_IPC_PATH` bytes (a run directory under a pytest tmp path is longer); ``endpoints.json``
   in the run directory names every socket in it.
2. *A per-run secret binds messages to the run.* :func:`new_key_file` writes 32 random bytes (hex)
   to ``RUN/run.key`` with ``O_EXCL`` and mode 0600 inside the 0700 run directory. Every control
   and directory request carries it (``"key"``), compared in constant time (:func:`key_ok`); a
   request without it is refused with an error reply and counted. So even a process of the same
   user that is not part of this run (a second run, a stale ``endpoints.json``, a confused script)
   cannot register with the directory or change the call. Telemetry carries no key: the
   supervisor's collector *connects* to the telemetry endpoints that key-holding processes
   registered, and binds nothing anyone else could publish into.

Why not CURVE on loopback: it would authenticate messages too, but it encrypts every IQ message
(the stream protocol must run at ≥ 0.9× bare pyzmq) and still needs a key file and a ZAP handler
to refuse unknown clients; file-system permissions cost nothing per message and refuse a foreign
user before a single byte of theirs is parsed. Why a bearer key rather than an HMAC per message:
on a 0700 Unix socket nobody else can observe the key on the wire, and the same user can read
``run.key`` anyway; what matters is that a stranger to the run cannot produce it. Root is not
kept out (it never can be). The same user's tools work as before: ``skycall call``, the raw IQ tap
(GNU Radio's ZMQ SUB Source accepts the ``ipc://`` address from ``endpoints.json``) and any
telemetry subscriber.
"""

import hmac
import ipaddress
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import zmq

from skycall.errors import SkycallError

#: where a socket binds by default: loopback, a free port
LOCAL_ANY_PORT = "tcp://127.0.0.1:0"
#: name of the per-run secret in the run directory
KEY_FILE = "run.key"
#: longest ``ipc://`` path a Unix-domain socket can carry (``sizeof(sun_path) - 1`` on Linux)
MAX_IPC_PATH = 107
#: longest socket file name in a socket directory (``PROC.PORT.PID``: 32 + 1 + 10 + 1 + 7)
MAX_SOCKET_NAME = 51


class InsecureBind(SkycallError):
    """A socket was asked to bind a non-loopback interface without CURVE keys."""


@dataclass(frozen=True)
class CurveKeys:
    """A CURVE key pair (Z85 bytes, 40 characters each) and, for clients, the server's public key."""

    public: bytes
    secret: bytes
    server_public: bytes | None = None

    @staticmethod
    def generate() -> "CurveKeys":
        public, secret = zmq.curve_keypair()
        return CurveKeys(public, secret)


def is_local(endpoint: str) -> bool:
    """True when ``endpoint`` cannot be reached from another host."""
    scheme, _, rest = endpoint.partition("://")
    if scheme in ("ipc", "inproc"):
        return True
    host = rest.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # interface names ("eth0") and "*" are not local
        return False


def check_bind(endpoint: str, keys: CurveKeys | None) -> None:
    """Raise :class:`InsecureBind` when ``endpoint`` is not local and no CURVE keys are given."""
    if keys is None and not is_local(endpoint):
        raise InsecureBind(
            f"refusing to bind {endpoint}: it is reachable from other hosts; bind tcp://127.0.0.1:0 "
            "or pass CURVE keys (skycall.transport.security.CurveKeys.generate()) to encrypt the link"
        )


def make_server(sock: zmq.Socket, keys: CurveKeys | None) -> None:
    """Make ``sock`` a CURVE server with ``keys`` (no-op for ``None``)."""
    if keys is not None:
        sock.curve_secretkey = keys.secret
        sock.curve_publickey = keys.public
        sock.curve_server = True


def make_client(sock: zmq.Socket, keys: CurveKeys | None) -> None:
    """Make ``sock`` a CURVE client of the server whose public key is ``keys.server_public``."""
    if keys is not None:
        if keys.server_public is None:
            raise InsecureBind("a CURVE client needs the server's public key (CurveKeys.server_public)")
        sock.curve_secretkey = keys.secret
        sock.curve_publickey = keys.public
        sock.curve_serverkey = keys.server_public


def bind(sock: zmq.Socket, endpoint: str, keys: CurveKeys | None = None) -> str:
    """Check, secure and bind ``sock``; return the actual endpoint (port 0 resolved)."""
    check_bind(endpoint, keys)
    make_server(sock, keys)
    sock.bind(endpoint)
    return sock.getsockopt_string(zmq.LAST_ENDPOINT)


def new_key_file(run_dir: str | Path) -> str:
    """Create ``run_dir/run.key`` (mode 0600, ``O_EXCL``: never an existing file) holding a fresh
    random key; return the key. An old key file is replaced."""
    path = Path(run_dir) / KEY_FILE
    path.unlink(missing_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def read_key_file(path: str | Path) -> str:
    """The key in ``path``; refuse a file other users could read or write (the key may have leaked)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as err:
        raise SkycallError(f"cannot read the run key {path} ({err.strerror}): is this your run's directory?") from None
    with os.fdopen(fd) as fh:
        info = os.fstat(fh.fileno())
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO) or info.st_uid != os.getuid():
            raise SkycallError(f"{path} is readable by other users or not yours: refusing to use it as a run key")
        return fh.read().strip()


def key_ok(expected: str | None, got) -> bool:
    """True when no key is required, or ``got`` is the key (constant-time comparison)."""
    if expected is None:
        return True
    return isinstance(got, str) and hmac.compare_digest(got.encode(), expected.encode())


def private_socket_dir() -> Path:
    """A fresh directory for a run's ``ipc://`` sockets (mode 0700), short enough for ``sun_path``."""
    for base in (os.environ.get("XDG_RUNTIME_DIR"), tempfile.gettempdir(), "/tmp"):
        if base and os.path.isdir(base) and len(base) + 18 + MAX_SOCKET_NAME <= MAX_IPC_PATH:
            return Path(tempfile.mkdtemp(prefix="skycall-", dir=base))  # mkdtemp: mode 0700
    raise SkycallError("no directory with a short enough path for Unix sockets (set TMPDIR=/tmp)")


def ipc_endpoint(sock_dir: str | Path, name: str) -> str:
    """``ipc://SOCK_DIR/NAME``; refuse a path longer than a Unix socket can carry."""
    path = f"{sock_dir}/{name}"
    if len(path.encode()) > MAX_IPC_PATH:
        raise SkycallError(f"socket path {path} is longer than {MAX_IPC_PATH} bytes (sun_path limit)")
    return f"ipc://{path}"


__all__ = [
    "LOCAL_ANY_PORT",
    "CurveKeys",
    "InsecureBind",
    "is_local",
    "check_bind",
    "make_server",
    "make_client",
    "bind",
    "KEY_FILE",
    "new_key_file",
    "read_key_file",
    "key_ok",
    "private_socket_dir",
    "ipc_endpoint",
]
