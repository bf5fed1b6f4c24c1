"""The supervisor's endpoint directory: processes register the endpoints they bound, peers look them up.

Requests are control-plane JSON (``skycall.transport.control``) on a REP socket:

* ``{"cmd": "register", "proc": name, "endpoints": {port: endpoint}, "pid": pid}`` → ``{"generation": g}``
  (g counts registrations of that process; a restarted process starts a new incarnation with
  ``"restart": true``)
* ``{"cmd": "lookup", "proc": name}`` → ``{"endpoints": {...} or null, "generation": g}``

Every registration is also announced on a PUB socket as ``{"proc", "endpoints", "generation"}`` so a
process learns at once that a peer restarted and reconnects to its new endpoints.
"""

import json

import zmq

from skycall.transport import security
from skycall.transport.control import ControlServer
from skycall.transport.stream import LOCAL_ANY_PORT


class Directory:
    """Directory server; call :meth:`poll` from one thread (it owns the sockets)."""

    def __init__(self, ctx: zmq.Context, endpoint: str = LOCAL_ANY_PORT, on_register=None):
        self.entries: dict[str, dict] = {}  # proc -> {"endpoints", "generation", "pid"}
        self.on_register = on_register
        self._server = ControlServer(ctx, {"register": self._register, "lookup": self._lookup}, endpoint)
        self._pub = ctx.socket(zmq.PUB)
        self._pub.linger = 0
        self.endpoint = self._server.endpoint
        self.announce_endpoint = security.bind(self._pub, LOCAL_ANY_PORT)

    def _register(self, proc: str, endpoints: dict, pid: int | None = None, restart: bool = False) -> dict:
        proc = str(proc)
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

    def _lookup(self, proc: str) -> dict:
        entry = self.entries.get(str(proc))
        if entry is None:
            return {"endpoints": None, "generation": 0}
        return {"endpoints": entry["endpoints"], "generation": entry["generation"]}

    def poll(self, timeout_s: float = 0.0) -> int:
        return self._server.poll(timeout_s)

    def close(self) -> None:
        self._server.close()
        self._pub.close()
