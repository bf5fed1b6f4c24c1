"""How one process joins a flowgraph run by the supervisor.

``Node.from_env()`` reads what the supervisor passes in the environment:

============================  ==============================================================
``SKYCALL_PROC``              this process's name (a ``[[process]]`` of the flowgraph)
``SKYCALL_FLOWGRAPH``         path of the flowgraph TOML
``SKYCALL_OUT``               output directory of the run
``SKYCALL_DIRECTORY``         REP endpoint of the supervisor's directory (optional)
``SKYCALL_ANNOUNCE``          PUB endpoint of the directory's announcements (optional)
``SKYCALL_KEY_FILE``          the run key (``OUT/run.key``), sent with every directory request
                              and required on this process's control socket (optional)
``SKYCALL_SOCKET_DIR``        private directory for this run's ``ipc://`` sockets (optional)
``SKYCALL_COLLECTOR``         ``1``: the supervisor's collector subscribes to this process's
                              telemetry; wait (bounded) for it so no early event is lost
``SKYCALL_SUPERVISOR_PID``    the supervisor: this process ends (SIGTERM) when it dies
``SKYCALL_REALTIME``          ``1``/``0``: override the flowgraph's ``realtime``
``SKYCALL_DURATION_S``        override the flowgraph's ``duration_s`` (checked like it)
``SKYCALL_STREAM_TIMEOUT_S``  how long a stream waits for its peer before reporting it absent
                              (default 10 s fast, 1 s real time; raise it on a loaded machine)
============================  ==============================================================

Every socket binds ``ipc://SOCKET_DIR/PROC.PORT.PID`` (without a socket directory:
``tcp://127.0.0.1:0``) and its resolved endpoint is registered with the directory under its
port name (``tx``, ``tx.raw``, ``telemetry``, ``control``); see :mod:`skycall.transport.security`
for why a run uses private Unix sockets and a key. ``stream_in("rx")``
follows the flowgraph's ``[[link]] dst = "NAME.rx"`` to the sending process, waits until that
process has registered (start order does not matter), connects, and while a read waits it
watches the directory's announcements: when the sender re-registers (restart) the stream
reconnects to its new endpoint. An announcement or lookup that is malformed, or an endpoint the
stream cannot connect to, is logged and ignored: the process keeps its current peer.

API used by the process mains::

    node = Node.from_env()
    tx = node.stream_out("tx")            # StreamOut at the process's sample rate and tx frequency
    rx = node.stream_in("rx")             # StreamIn from the linked sender
    node.telemetry.emit("sync", index, cfo_hz=12.0)
    ctl = node.control({"call": on_call}) # ControlServer; ctl.poll() between chunks
    node.flow, node.proc, node.seed, node.out_dir, node.realtime, node.duration_s
"""

import ctypes
import logging
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import zmq

from skycall.config.flowgraph import Flowgraph, ProcessConfig, load_flowgraph
from skycall.config.schema import check_value
from skycall.errors import SkycallError
from skycall.rng import make_rng
from skycall.transport import security
from skycall.transport.control import ControlClient, ControlServer
from skycall.transport.stream import LOCAL_ANY_PORT, RawTap, StreamIn, StreamOut
from skycall.transport.telemetry import Telemetry
from skycall.transport.wire import MAX_CONTROL_BYTES, BadMessage, decode_object, limit_socket

log = logging.getLogger(__name__)


def process_rng(seed: int, process_index: int, purpose: int = 0) -> np.random.Generator:
    """The generator of (flowgraph seed, process index, purpose): reproducible, independent streams."""
    return make_rng(int(np.random.SeedSequence([seed, process_index, purpose]).generate_state(1)[0]))


class PeerNotFound(SkycallError):
    """A linked peer process never registered with the directory."""


class Node:
    """One process of a flowgraph (see module docstring)."""

    def __init__(
        self,
        name: str,
        flowgraph: str | Path | Flowgraph,
        out_dir: str | Path,
        *,
        directory: str | None = None,
        announce: str | None = None,
        collector: bool = False,
        key: str | None = None,
        sock_dir: str | Path | None = None,
        realtime: bool | None = None,
        duration_s: float | None = None,
        peer_timeout_s: float = 60.0,
        stream_timeout_s: float | None = None,
        ctx: zmq.Context | None = None,
    ):
        self.flow = flowgraph if isinstance(flowgraph, Flowgraph) else load_flowgraph(flowgraph)
        try:
            self.proc: ProcessConfig = self.flow.proc(name)
        except KeyError:
            names = [p.name for p in self.flow.process]
            raise SkycallError(
                f"process {name!r} is not in flowgraph {self.flow.path} (has {names})"
            ) from None
        self.name = name
        self.index = [p.name for p in self.flow.process].index(name)
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.seed = self.flow.seed
        self.realtime = self.flow.realtime if realtime is None else bool(realtime)
        self.duration_s = self.flow.duration_s if duration_s is None else float(
            check_value(Flowgraph, "duration_s", duration_s, "<env>", "SKYCALL_DURATION_S"))
        self.peer_timeout_s = peer_timeout_s
        self.stream_timeout_s = (
            (1.0 if self.realtime else 10.0) if stream_timeout_s is None else stream_timeout_s
        )
        self._own_ctx = ctx is None
        self.ctx = ctx or zmq.Context()
        self.endpoints: dict[str, str] = {}
        self._peers: dict[str, dict] = {}  # proc -> endpoints, kept current from announcements
        self._collector = collector
        self._key = key
        self._sock_dir = sock_dir
        self._telemetry: Telemetry | None = None
        self._directory = ControlClient(self.ctx, directory, timeout_s=10.0, key=key) if directory else None
        self._announce = None
        if announce:
            self._announce = self.ctx.socket(zmq.SUB)
            self._announce.linger = 0
            limit_socket(self._announce, MAX_CONTROL_BYTES)
            self._announce.subscribe(b"")
            self._announce.connect(announce)
        self._registered = False
        self._closeables: list = []

    @classmethod
    def from_env(cls, **overrides) -> "Node":
        """A node configured by the supervisor's environment variables (see module docstring)."""
        env = os.environ
        missing = [k for k in ("SKYCALL_PROC", "SKYCALL_FLOWGRAPH") if not env.get(k)]
        if missing:
            raise SkycallError(
                f"{', '.join(missing)} not set: start this process with `skycall run FLOWGRAPH.toml`"
            )
        if env.get("SKYCALL_SUPERVISOR_PID"):
            _end_with_parent(int(env["SKYCALL_SUPERVISOR_PID"]))
        rt = env.get("SKYCALL_REALTIME")
        dur = env.get("SKYCALL_DURATION_S")
        stream_timeout = env.get("SKYCALL_STREAM_TIMEOUT_S")
        key_file = env.get("SKYCALL_KEY_FILE")
        kwargs = {
            "directory": env.get("SKYCALL_DIRECTORY") or None,
            "announce": env.get("SKYCALL_ANNOUNCE") or None,
            "collector": env.get("SKYCALL_COLLECTOR") == "1",
            "key": security.read_key_file(key_file) if key_file else None,
            "sock_dir": env.get("SKYCALL_SOCKET_DIR") or None,
            "realtime": None if rt in (None, "") else rt == "1",
            "duration_s": None if dur in (None, "") else _env_float("SKYCALL_DURATION_S", dur),
            "stream_timeout_s": None if stream_timeout in (None, "") else _env_float(
                "SKYCALL_STREAM_TIMEOUT_S", stream_timeout),
            **overrides,
        }
        return cls(env["SKYCALL_PROC"], env["SKYCALL_FLOWGRAPH"], env.get("SKYCALL_OUT", "out"), **kwargs)

    # -- random sources -------------------------------------------------------------------------
    def rng(self, purpose: int = 0) -> np.random.Generator:
        """A generator for this process and ``purpose``: see :func:`process_rng`."""
        return process_rng(self.seed, self.index, purpose)

    # -- directory --------------------------------------------------------------------------------
    def _endpoint(self, port: str) -> str:
        """Where this process binds its ``port``: a private Unix socket in a run, else loopback TCP."""
        if self._sock_dir is None:
            return LOCAL_ANY_PORT
        return security.ipc_endpoint(self._sock_dir, f"{self.name}.{port}.{os.getpid()}")

    def _register(self, port: str, endpoint: str) -> None:
        self.endpoints[port] = endpoint
        if self._directory is not None:
            self._directory.call(
                "register",
                proc=self.name,
                endpoints={port: endpoint},
                pid=os.getpid(),
                restart=not self._registered,
            )
            self._registered = True

    def poll_directory(self) -> None:
        """Take in pending announcements (peers registering or restarting)."""
        if self._announce is None:
            return
        while self._announce.poll(0, zmq.POLLIN):
            try:
                msg = decode_object(self._announce.recv(zmq.NOBLOCK))
                if not isinstance(msg.get("proc"), str) or not isinstance(msg.get("endpoints"), dict):
                    raise BadMessage("an announcement names a process and its endpoints")
            except zmq.Again:
                return
            except BadMessage as err:
                log.warning("%s: ignoring a bad directory announcement: %s", self.name, err)
                continue
            self._peers[msg["proc"]] = msg["endpoints"]

    def peer_endpoint(self, proc: str, port: str, timeout_s: float | None = None) -> str:
        """Endpoint ``port`` of process ``proc``, waiting (bounded) until it has registered it."""
        if self._directory is None:
            raise SkycallError(f"no directory to find {proc}.{port}: start processes with `skycall run`")
        deadline = time.monotonic() + (self.peer_timeout_s if timeout_s is None else timeout_s)
        while True:
            self.poll_directory()
            endpoint = self._peers.get(proc, {}).get(port)
            if endpoint is None:
                found = self._directory.call("lookup", proc=proc).get("endpoints") or {}
                if isinstance(found, dict):
                    self._peers[proc] = {**self._peers.get(proc, {}), **found}
                    endpoint = found.get(port)
            if isinstance(endpoint, str):
                return endpoint
            left = deadline - time.monotonic()
            if left <= 0:
                raise PeerNotFound(f"{self.name}: peer {proc} did not register port {port!r}; is it running?")
            if self._announce is not None:
                self._announce.poll(int(min(left, 0.2) * 1000) + 1, zmq.POLLIN)
            else:
                time.sleep(min(left, 0.05))  # no announcement channel: poll the directory

    def link_source(self, port: str = "rx") -> tuple[str, str] | None:
        """``(process, port)`` feeding this process's ``port`` through a [[link]], or None."""
        for link in self.flow.link:
            if link.dst == f"{self.name}.{port}":
                proc, _, src_port = link.src.partition(".")
                return proc, src_port
        return None

    def has_link_from(self, port: str = "tx") -> bool:
        """True when a [[link]] takes this process's ``port`` somewhere."""
        return any(link.src == f"{self.name}.{port}" for link in self.flow.link)

    # -- sockets ----------------------------------------------------------------------------------
    def stream_out(
        self,
        port: str = "tx",
        sample_rate_sps: float | None = None,
        centre_freq_hz: float | None = None,
        **kw,
    ) -> StreamOut:
        """A bound, registered StreamOut (defaults: the process's sample rate and tx frequency)."""
        kw.setdefault("realtime", self.realtime)
        kw.setdefault("send_timeout_s", self.stream_timeout_s)
        kw.setdefault("endpoint", self._endpoint(port))
        stream = StreamOut(
            self.ctx,
            sample_rate_sps=sample_rate_sps or self.proc.sample_rate_sps,
            centre_freq_hz=self.proc.tx_freq if centre_freq_hz is None else centre_freq_hz,
            name=f"{self.name}.{port}",
            **kw,
        )
        self._closeables.append(stream)
        self._register(port, stream.endpoint)
        return stream

    def stream_in(self, port: str = "rx", **kw) -> StreamIn:
        """A StreamIn connected to whatever the flowgraph links into ``port``; follows peer restarts."""
        source = self.link_source(port)
        if source is None:
            raise SkycallError(f'flowgraph {self.flow.path} has no [[link]] with dst = "{self.name}.{port}"')
        proc, src_port = source
        stream = StreamIn(
            self.ctx, sample_rate_sps=self.proc.sample_rate_sps, name=f"{self.name}.{port}", **kw
        )

        def follow() -> None:
            self.poll_directory()
            endpoint = self._peers.get(proc, {}).get(src_port)
            if isinstance(endpoint, str):
                self._connect(stream, endpoint)

        self._connect(stream, self.peer_endpoint(proc, src_port))
        stream.on_idle = follow
        self._closeables.append(stream)
        return stream

    def _connect(self, stream: StreamIn, endpoint: str) -> None:
        """Connect ``stream`` to ``endpoint``; an endpoint ZeroMQ refuses is logged, not fatal."""
        try:
            stream.connect(endpoint)
        except zmq.ZMQError as err:
            log.warning("%s: cannot connect %s to %r (%s); keeping the current peer", self.name, stream.name,
                        endpoint, err)  # fmt: skip

    def raw_tap(self, port: str = "tx") -> RawTap:
        """A registered raw tap (bare complex64 PUB) named ``PORT.raw``."""
        tap = RawTap(self.ctx, self._endpoint(f"{port}.raw"))
        self._closeables.append(tap)
        self._register(f"{port}.raw", tap.endpoint)
        return tap

    @property
    def telemetry(self) -> Telemetry:
        """This process's telemetry publisher (connected to the supervisor's collector)."""
        if self._telemetry is None:
            self._telemetry = Telemetry(self.ctx, self.name, self._endpoint("telemetry"))
            self._closeables.append(self._telemetry)
            self._register("telemetry", self._telemetry.endpoint)  # the collector subscribes to it
            if self._collector:
                self._telemetry.wait_subscribed(10.0)
        return self._telemetry

    def control(self, handlers: dict) -> ControlServer:
        """A registered control server with ``handlers`` (call ``.poll()`` between chunks); it
        requires the run key."""
        server = ControlServer(self.ctx, handlers, self._endpoint("control"), key=self._key)
        self._closeables.append(server)
        self._register("control", server.endpoint)
        return server

    def close(self) -> None:
        """Close every socket, inputs first (a sender's close waits for its reader to hang up, so two
        peers closing together must not both wait); a context of the node's own is terminated, which
        waits (each socket's linger, bounded) until a reader still there took the last messages and END."""
        inputs_first = sorted(reversed(self._closeables), key=lambda item: not isinstance(item, StreamIn))
        for item in inputs_first:
            item.close()
        self._closeables.clear()
        if self._directory is not None:
            self._directory.close()
            self._directory = None
        if self._announce is not None:
            self._announce.close()
            self._announce = None
        if self._own_ctx and not self.ctx.closed:
            self.ctx.destroy()  # per-socket linger: a process exit without it drops what is still queued


def _env_float(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SkycallError(f"{name}={text!r} is not a number") from None


def _end_with_parent(supervisor_pid: int) -> None:
    """Have the kernel send SIGTERM when the supervisor dies (``PR_SET_PDEATHSIG``, Linux), so a
    killed runner leaves no orphan; exit at once if it already died before this call."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
    if os.getppid() != supervisor_pid:
        raise SkycallError(f"the supervisor (pid {supervisor_pid}) is gone: not starting")


__all__ = ["Node", "PeerNotFound", "process_rng"]
