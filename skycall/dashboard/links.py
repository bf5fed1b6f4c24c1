"""The dashboard's links to a running flowgraph: every socket it opens goes through :func:`open_socket`.

``DIR/endpoints.json`` (kept by ``skycall run``) names each process's ports: ``control`` (REQ/REP
commands), ``telemetry`` (XPUB of JSON events) and the raw taps ``NAME.raw`` (PUB of bare complex64).
The dashboard only ever *connects*: SUB sockets to telemetry (subscribed to the prefix ``{``, so a
process still recognises its collector's subscribe-all) and to taps (``CONFLATE``: only the newest
message is kept, so a slow dashboard drops IQ instead of queueing it and the processes never wait), and
REQ sockets for commands.
"""

import json
from pathlib import Path

import zmq

from skycall.transport.control import ControlClient

TELEMETRY_PREFIX = b"{"  # every event is a JSON object


def open_socket(ctx: zmq.Context, run_dir: Path, sock_type: int, endpoint: str,
                options: tuple[tuple[int, object], ...] = ()) -> zmq.Socket:
    """Open a ``sock_type`` socket with ``options`` (set before connecting) and connect it to ``endpoint``.

    The one place where the dashboard reaches a flowgraph: securing the link with the run's
    credentials (kept in ``run_dir``) belongs here.
    """
    sock = ctx.socket(sock_type)
    sock.linger = 0
    for option, value in options:
        sock.setsockopt(option, value)
    sock.connect(endpoint)
    return sock


def telemetry_socket(ctx: zmq.Context, run_dir: Path, endpoint: str) -> zmq.Socket:
    return open_socket(ctx, run_dir, zmq.SUB, endpoint,
                       ((zmq.RCVHWM, 100_000), (zmq.SUBSCRIBE, TELEMETRY_PREFIX)))


def tap_socket(ctx: zmq.Context, run_dir: Path, endpoint: str) -> zmq.Socket:
    return open_socket(ctx, run_dir, zmq.SUB, endpoint, ((zmq.CONFLATE, 1), (zmq.SUBSCRIBE, b"")))


class ControlLink(ControlClient):
    """A process's control client whose REQ sockets come from :func:`open_socket`."""

    def __init__(self, ctx: zmq.Context, run_dir: Path, endpoint: str, timeout_s: float = 3.0):
        self.run_dir = run_dir
        super().__init__(ctx, endpoint, timeout_s)

    def _open(self) -> zmq.Socket:
        return open_socket(self._ctx, self.run_dir, zmq.REQ, self.endpoint)


def read_endpoints(run_dir: Path) -> dict[str, dict[str, str]] | None:
    """``{process: {port: endpoint}}`` from ``run_dir/endpoints.json`` (None while there is none)."""
    try:
        return json.loads((run_dir / "endpoints.json").read_text())
    except (FileNotFoundError, ValueError):  # not written yet (the supervisor replaces it atomically)
        return None


__all__ = ["open_socket", "telemetry_socket", "tap_socket", "ControlLink", "read_endpoints"]
