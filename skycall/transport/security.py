"""Socket security: loopback by default, CURVE encryption required on any other interface.

An endpoint is *local* when it is ``ipc://``, ``inproc://`` or ``tcp://`` on 127.0.0.0/8, ``::1`` or
``localhost``. :func:`check_bind` refuses to bind anything else unless CURVE keys are given;
:func:`make_server` / :func:`make_client` switch a socket to CURVE (Z85 keys from
``zmq.curve_keypair()``).
"""

import ipaddress
from dataclasses import dataclass

import zmq

from skycall.errors import SkycallError


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


__all__ = ["CurveKeys", "InsecureBind", "is_local", "check_bind", "make_server", "make_client", "bind"]
