"""Control plane: JSON commands over REQ/REP.

A request is one frame holding a JSON object ``{"cmd": name, "key": run key, ...args}``; the reply is
``{"ok": true, ...result}`` or ``{"ok": false, "error": message}``. :class:`ControlServer` dispatches
to a handler table ``{name: handler(**args) -> dict}`` where ``args`` are the request's keys other
than ``"cmd"`` and ``"key"`` (wrong arguments give an error reply). :meth:`ControlServer.poll`
services pending requests without blocking, so a streaming loop can call it between chunks.

Every request is answered or dropped, never fatal: frames above :data:`~.wire.MAX_CONTROL_BYTES`
are refused by libzmq (``ZMQ_MAXMSGSIZE``); a request of several frames, bad UTF-8/JSON, a nesting
too deep, a wrong or missing key (when the server has one: see :mod:`.security`), an unknown
command, a :class:`CommandRefused` and any other exception of a handler become error replies,
counted in ``rejected`` by kind with one warning per kind; a socket error is counted too (the
ZeroMQ limit: a single message of very many small frames is buffered whole before it can be
refused). :class:`ControlClient` sends a command and raises
:class:`ControlTimeout` when nobody answers in time. :func:`connect_run` opens a client per process
of a running flowgraph from its run directory.
"""

import json
import logging
from collections.abc import Callable
from pathlib import Path

import zmq

from skycall.errors import SkycallError
from skycall.transport import security
from skycall.transport.security import LOCAL_ANY_PORT
from skycall.transport.wire import MAX_CONTROL_BYTES, BadMessage, decode_object, limit_socket

log = logging.getLogger(__name__)

Handler = Callable[..., dict]  # handler(**args) -> reply fields
#: the run directory's table ``{process: {port: endpoint}}`` (written by ``skycall run``)
ENDPOINTS_FILE = "endpoints.json"
_MAX_REPLY_BYTES = 1 << 20


class ControlTimeout(SkycallError):
    """No control server answered."""


class ControlError(SkycallError):
    """The control server answered with an error."""


class CommandRefused(SkycallError):
    """Raised by a handler to refuse a request: an error reply with this message, no traceback logged."""


class ControlServer:
    """REP server with a handler table; ``status`` is built in (lists the commands).

    ``key``: the run key every request must carry (None: no key required, for library use).
    """

    def __init__(
        self,
        ctx: zmq.Context,
        handlers: dict[str, Handler],
        endpoint: str = LOCAL_ANY_PORT,
        key: str | None = None,
    ):
        self.handlers = {"status": lambda **args: {}, **handlers}
        self._key = key
        self._sock = ctx.socket(zmq.REP)
        self._sock.linger = 0
        limit_socket(self._sock, MAX_CONTROL_BYTES, rcvhwm=100)
        self.endpoint = security.bind(self._sock, endpoint)
        self.served = 0
        self.rejected: dict[str, int] = {}  # kind -> count (bad, key, command, refused, handler, socket)

    @property
    def socket(self) -> zmq.Socket:
        """The REP socket (to register with a poller)."""
        return self._sock

    def poll(self, timeout_s: float = 0.0) -> int:
        """Answer every pending request (waiting up to ``timeout_s`` for the first); return how many."""
        n = 0
        wait_ms = int(timeout_s * 1000)
        try:
            while self._sock.poll(wait_ms, zmq.POLLIN):
                wait_ms = 0
                try:  # non-blocking: REP may report a message it then drops as malformed (no envelope)
                    frames = self._sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                self._sock.send(json.dumps(self._dispatch(frames), default=str).encode())
                n += 1
        except zmq.ZMQError as err:  # e.g. a peer vanished mid-exchange: count it, keep serving
            self._reject("socket", f"control socket error: {err}")
        self.served += n
        return n

    def _reject(self, kind: str, error: str) -> dict:
        count = self.rejected.get(kind, 0)
        self.rejected[kind] = count + 1
        if count == 0:
            log.warning("%s: rejected a control request (%s): %s (further ones are only counted)",
                        self.endpoint, kind, error)  # fmt: skip
        return {"ok": False, "error": error}

    def _dispatch(self, frames: list[bytes]) -> dict:
        if len(frames) != 1:
            return self._reject("bad", f"a request is one frame, got {len(frames)}")
        try:
            req = decode_object(frames[0], MAX_CONTROL_BYTES)
        except BadMessage as err:
            return self._reject("bad", f"bad request: {err}")
        if not security.key_ok(self._key, req.get("key")):
            return self._reject("key", "refused: the request does not carry this run's key (see RUN/run.key)")
        cmd = req.get("cmd")
        if not isinstance(cmd, str):
            return self._reject("bad", 'request must be a JSON object with a string "cmd"')
        handler = self.handlers.get(cmd)
        if handler is None:
            return self._reject("command", f"unknown command {cmd[:64]!r}; known: {sorted(self.handlers)}")
        args = {k: v for k, v in req.items() if k not in ("cmd", "key")}
        try:
            result = handler(**args) or {}
            if cmd == "status":
                result = {"commands": sorted(self.handlers), **result}
            return {"ok": True, **result}
        except CommandRefused as err:
            return self._reject("refused", f"{cmd} refused: {err}")
        except Exception as err:  # a handler bug must not kill the streaming process
            log.exception("control command %r failed", cmd)
            return self._reject("handler", f"{cmd} failed: {type(err).__name__}: {err}")

    def close(self) -> None:
        self._sock.close()


class ControlClient:
    """REQ client; a fresh socket per timed-out request keeps the REQ state machine usable.

    ``key``: the run key sent with every request (:func:`connect_run` reads it from the run directory).
    """

    def __init__(self, ctx: zmq.Context, endpoint: str, timeout_s: float = 5.0, key: str | None = None):
        self._ctx, self.endpoint, self.timeout_s, self._key = ctx, endpoint, timeout_s, key
        self._sock = self._open()

    def _open(self) -> zmq.Socket:
        sock = self._ctx.socket(zmq.REQ)
        sock.linger = 0
        limit_socket(sock, _MAX_REPLY_BYTES, rcvhwm=10)
        sock.connect(self.endpoint)
        return sock

    def call(self, cmd: str, **args) -> dict:
        """Send ``{"cmd": cmd, **args}``; return the reply; raise ControlTimeout / ControlError."""
        request = {"cmd": cmd, **args}
        if self._key is not None:
            request["key"] = self._key
        self._sock.send(json.dumps(request).encode())
        if not self._sock.poll(int(self.timeout_s * 1000), zmq.POLLIN):
            self._sock.close()
            self._sock = self._open()
            raise ControlTimeout(
                f"nobody answered {cmd!r} at {self.endpoint} within {self.timeout_s:.1f} s; "
                "is the process running (skycall run ...)?"
            )
        try:
            reply = decode_object(self._sock.recv(zmq.NOBLOCK), _MAX_REPLY_BYTES)
        except zmq.Again:
            raise ControlError(f"{cmd}: {self.endpoint} sent no valid reply") from None
        except BadMessage as err:
            raise ControlError(f"{cmd}: unreadable reply from {self.endpoint}: {err}") from None
        if not reply.get("ok"):
            raise ControlError(f"{cmd}: {reply.get('error', 'unknown error')}")
        return reply

    def close(self) -> None:
        self._sock.close()


def run_endpoints(run_dir: str | Path) -> dict[str, dict[str, str]]:
    """``{process: {port: endpoint}}`` of the flowgraph running with output directory ``run_dir``."""
    path = Path(run_dir) / ENDPOINTS_FILE
    try:
        table = json.loads(path.read_text())
    except FileNotFoundError:
        raise SkycallError(f"{path} not found: is `skycall run ... --out {run_dir}` running?") from None
    except (OSError, ValueError) as err:
        raise SkycallError(f"cannot read {path}: {err}") from None
    if not isinstance(table, dict):
        raise SkycallError(f"{path} is not an endpoint table")
    return {str(p): dict(ports) for p, ports in table.items() if isinstance(ports, dict)}


def connect_run(
    run_dir: str | Path, ctx: zmq.Context | None = None, timeout_s: float = 5.0
) -> dict[str, ControlClient]:
    """A :class:`ControlClient` (carrying the run key) for every process of a running flowgraph that
    has a control socket, by name, in the order of ``endpoints.json``.

    ``run_dir`` is the ``skycall run --out`` directory; ``ctx`` defaults to ``zmq.Context.instance()``.
    The clients belong to the calling thread; close them when done. Raises :class:`SkycallError`
    when the directory holds no running flowgraph or its key is unreadable.
    """
    table = run_endpoints(run_dir)
    key = security.read_key_file(Path(run_dir) / security.KEY_FILE)
    ctx = ctx or zmq.Context.instance()
    return {
        proc: ControlClient(ctx, ports["control"], timeout_s=timeout_s, key=key)
        for proc, ports in table.items()
        if "control" in ports
    }


__all__ = [
    "ControlServer",
    "ControlClient",
    "ControlTimeout",
    "ControlError",
    "CommandRefused",
    "ENDPOINTS_FILE",
    "run_endpoints",
    "connect_run",
]
