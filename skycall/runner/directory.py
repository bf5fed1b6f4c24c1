"""The supervisor's endpoint directory: processes register the endpoints they bound, peers look them up.

Requests are control-plane JSON (``skycall.transport.control``, carrying the run key) on a REP socket:

* ``{"cmd": "register", "proc": name, "endpoints": {port: endpoint}, "pid": pid}`` → ``{"generation": g}``
  (g counts registrations of that process; a restarted process starts a new incarnation with
  ``"restart": true``)
* ``{"cmd": "lookup", "proc": name}`` → ``{"endpoints": {...} or null, "generation": g}``

A registration is checked before it is believed: the key (by the control server), a safe process
name, at most :data:`MAX_PORTS` string endpoints that are local (``ipc://`` or loopback ``tcp://``)
and, when the supervisor passes ``authorize(proc, pid, endpoints)``, that it comes from a process of
this run (its name and pid; ``authorize`` returns why not, or None). A refused registration gets an
error reply and changes nothing: a forged ``bogus://`` or foreign endpoint never reaches a peer.

Every registration is also announced on a PUB socket as ``{"proc", "endpoints", "generation"}`` so a
process learns at once that a peer restarted and reconnects to its new endpoints.
"""

import json
import re
from collections.abc import Callable

import zmq

from skycall.config.flowgraph import PROCESS_NAME_PATTERN
from skycall.transport import security
from skycall.transport.control import CommandRefused, ControlServer
from skycall.transport.security import LOCAL_ANY_PORT

MAX_PORTS = 16
_MAX_ENDPOINT_CHARS = 200
_PORT_PATTERN = r"[a-z][a-z0-9_.]{0,31}"


def check_registration(proc, endpoints, pid) -> None:
    """Raise :class:`CommandRefused` unless ``proc``/``endpoints``/``pid`` make a well-formed registration."""
    if not isinstance(proc, str) or re.fullmatch(PROCESS_NAME_PATTERN, proc) is None:
        raise CommandRefused(f"process name must match {PROCESS_NAME_PATTERN}")
    if not isinstance(endpoints, dict) or not 0 < len(endpoints) <= MAX_PORTS:
        raise CommandRefused(f"endpoints must be a table of 1 to {MAX_PORTS} ports")
    for port, endpoint in endpoints.items():
        if re.fullmatch(_PORT_PATTERN, port) is None:
            raise CommandRefused(f"port name {port[:40]!r} must match {_PORT_PATTERN}")
        ok = isinstance(endpoint, str) and len(endpoint) <= _MAX_ENDPOINT_CHARS
        if not ok or endpoint.partition("://")[0] not in ("ipc", "tcp") or not security.is_local(endpoint):
            raise CommandRefused(f"endpoint of {port!r} must be a local ipc:// or tcp:// address")
    if pid is not None and (isinstance(pid, bool) or not isinstance(pid, int)):
        raise CommandRefused("pid must be an integer")


class Directory:
    """Directory server; call :meth:`poll` from one thread (it owns the sockets).

    ``key``: the run key every request must carry; ``authorize(proc, pid, endpoints) -> str | None``:
    why a registration is refused (None: accepted); ``on_register(proc, entry)``: after each one.
    """

    def __init__(
        self,
        ctx: zmq.Context,
        endpoint: str = LOCAL_ANY_PORT,
        on_register=None,
        *,
        key: str | None = None,
        authorize: Callable[[str, int | None, dict], str | None] | None = None,
        announce_endpoint: str = LOCAL_ANY_PORT,
    ):
        self.entries: dict[str, dict] = {}  # proc -> {"endpoints", "generation", "pid"}
        self.on_register = on_register
        self.authorize = authorize
        handlers = {"register": self._register, "lookup": self._lookup}
        self._server = ControlServer(ctx, handlers, endpoint, key=key)
        self._pub = ctx.socket(zmq.PUB)
        self._pub.linger = 0
        self._pub.setsockopt(zmq.MAXMSGSIZE, 4096)  # a PUB receives no messages
        self.endpoint = self._server.endpoint
        self.announce_endpoint = security.bind(self._pub, announce_endpoint)

    @property
    def socket(self) -> zmq.Socket:
        """The request socket (to register with a poller)."""
        return self._server.socket

    @property
    def rejected(self) -> dict[str, int]:
        """Refused requests by kind (see :class:`~skycall.transport.control.ControlServer`)."""
        return self._server.rejected

    def _register(self, proc=None, endpoints=None, pid=None, restart: bool = False) -> dict:
        check_registration(proc, endpoints, pid)
        if self.authorize is not None:
            why = self.authorize(proc, pid, endpoints)
            if why:
                raise CommandRefused(why)
        entry = self.entries.get(proc, {"generation": 0, "pid": None})
        if restart or entry["pid"] != pid:
            entry = {"generation": entry["generation"] + 1, "pid": pid, "endpoints": {}}
        entry["endpoints"] = {**entry.get("endpoints", {}), **endpoints}
        self.entries[proc] = entry
        announcement = {"proc": proc, "endpoints": entry["endpoints"], "generation": entry["generation"]}
        self._pub.send(json.dumps(announcement).encode())
        if self.on_register is not None:
            self.on_register(proc, entry)
        return {"generation": entry["generation"]}

    def _lookup(self, proc=None) -> dict:
        entry = self.entries.get(proc) if isinstance(proc, str) else None
        if entry is None:
            return {"endpoints": None, "generation": 0}
        return {"endpoints": entry["endpoints"], "generation": entry["generation"]}

    def poll(self, timeout_s: float = 0.0) -> int:
        return self._server.poll(timeout_s)

    def close(self) -> None:
        self._server.close()
        self._pub.close()
