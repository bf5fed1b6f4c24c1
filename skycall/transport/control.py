"""Control plane: JSON commands over REQ/REP.

A request is a JSON object ``{"cmd": name, ...args}``; the reply is ``{"ok": true, ...result}`` or
``{"ok": false, "error": message}``. :class:`ControlServer` dispatches to a handler table
``{name: handler(**args) -> dict}`` where ``args`` are the request's keys other than ``"cmd"``
(wrong arguments give an error reply). :meth:`ControlServer.poll` services pending requests
without blocking, so a streaming loop can call it between chunks. Bad JSON, unknown commands and
handler exceptions become error replies, never a crash. :class:`ControlClient` sends a command
and raises :class:`ControlTimeout` when nobody answers in time.
"""

import json
import logging
from collections.abc import Callable

import zmq

from skycall.errors import SkycallError
from skycall.transport import security
from skycall.transport.stream import LOCAL_ANY_PORT

log = logging.getLogger(__name__)

Handler = Callable[..., dict]  # handler(**args) -> reply fields


class ControlTimeout(SkycallError):
    """No control server answered."""


class ControlError(SkycallError):
    """The control server answered with an error."""


class ControlServer:
    """REP server with a handler table; ``status`` is built in (lists the commands)."""

    def __init__(self, ctx: zmq.Context, handlers: dict[str, Handler], endpoint: str = LOCAL_ANY_PORT):
        self.handlers = {"status": lambda **args: {}, **handlers}
        self._sock = ctx.socket(zmq.REP)
        self._sock.linger = 0
        self.endpoint = security.bind(self._sock, endpoint)
        self.served = 0

    def poll(self, timeout_s: float = 0.0) -> int:
        """Answer every pending request (waiting up to ``timeout_s`` for the first); return how many."""
        n = 0
        wait_ms = int(timeout_s * 1000)
        while self._sock.poll(wait_ms, zmq.POLLIN):
            wait_ms = 0
            self._sock.send(json.dumps(self._dispatch(self._sock.recv())).encode())
            n += 1
        self.served += n
        return n

    def _dispatch(self, raw: bytes) -> dict:
        try:
            req = json.loads(raw)
        except ValueError as err:
            return {"ok": False, "error": f"request is not JSON: {err}"}
        if not isinstance(req, dict) or not isinstance(req.get("cmd"), str):
            return {"ok": False, "error": 'request must be a JSON object with a string "cmd"'}
        handler = self.handlers.get(req["cmd"])
        if handler is None:
            return {"ok": False, "error": f"unknown command {req['cmd']!r}; known: {sorted(self.handlers)}"}
        args = {k: v for k, v in req.items() if k != "cmd"}
        try:
            result = handler(**args) or {}
            if req["cmd"] == "status":
                result = {"commands": sorted(self.handlers), **result}
            return {"ok": True, **result}
        except Exception as err:  # a handler bug must not kill the streaming process
            log.exception("control command %r failed", req["cmd"])
            return {"ok": False, "error": f"{req['cmd']} failed: {type(err).__name__}: {err}"}

    def close(self) -> None:
        self._sock.close()


class ControlClient:
    """REQ client; a fresh socket per timed-out request keeps the REQ state machine usable."""

    def __init__(self, ctx: zmq.Context, endpoint: str, timeout_s: float = 5.0):
        self._ctx, self.endpoint, self.timeout_s = ctx, endpoint, timeout_s
        self._sock = self._open()

    def _open(self) -> zmq.Socket:
        sock = self._ctx.socket(zmq.REQ)
        sock.linger = 0
        sock.connect(self.endpoint)
        return sock

    def call(self, cmd: str, **args) -> dict:
        """Send ``{"cmd": cmd, **args}``; return the reply; raise ControlTimeout / ControlError."""
        self._sock.send(json.dumps({"cmd": cmd, **args}).encode())
        if not self._sock.poll(int(self.timeout_s * 1000), zmq.POLLIN):
            self._sock.close()
            self._sock = self._open()
            raise ControlTimeout(
                f"nobody answered {cmd!r} at {self.endpoint} within {self.timeout_s:.1f} s; "
                "is the process running (skycall run ...)?"
            )
        reply = json.loads(self._sock.recv())
        if not reply.get("ok"):
            raise ControlError(f"{cmd}: {reply.get('error', 'unknown error')}")
        return reply

    def close(self) -> None:
        self._sock.close()


__all__ = ["ControlServer", "ControlClient", "ControlTimeout", "ControlError"]
