"""The live source: a running flowgraph's telemetry and raw taps, decimated into frames.

:meth:`LiveSource.poll` is called ``fps`` times a second (by the server's loop, which owns every
socket): it re-reads ``endpoints.json`` when it changed (start, a process restarted) and rewires
its SUB sockets, takes in the telemetry events that arrived, the newest chunk of each raw tap
(CONFLATE: older chunks were dropped by ZeroMQ, never queued in a process), and returns one frame::

    {"type": "frame", "t_s": stream time, "events": [...], "spectra": {tap: spectrum_frame},
     "const": {role: constellation_frame}, "run_state": "waiting" | "running" | "finished"}

Stream time is the newest event's sample index / 240 kS/s. The run has finished when both side
records are newer than the dashboard (:mod:`.results`). Commands (:meth:`command`) run on one
worker thread with its own REQ sockets: dial and hang up go to the handset, ``precompensation`` to
the ground station, shutdown to every process.
"""

import json
import logging
import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import zmq

from skycall.config.flowgraph import BASEBAND_RATE_SPS
from skycall.dashboard.decimate import constellation_frame, spectrum_frame
from skycall.dashboard.links import ControlLink, read_endpoints, tap_socket, telemetry_socket
from skycall.dashboard.results import records_time
from skycall.errors import SkycallError

log = logging.getLogger(__name__)

#: raw tap -> what the page shows of it
SPECTRUM_TAPS = ("dl_mod", "dl_precomp", "rx")
CONSTELLATION_TAP = "const"
FINISHED_EVERY_S = 0.5  # how often the records are looked at (has the run finished?)
#: page command -> (role of the process it goes to, control command); None: every process
COMMANDS = {"dial": ("handset", "call"), "hangup": ("handset", "hangup"),
            "precompensation": ("groundstation", "precompensation"), "shutdown": (None, "shutdown")}


def _finite(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


def parse_event(raw: bytes) -> dict | None:
    """A telemetry event with NaN/±inf as null (the browser's JSON has no NaN); None if malformed."""
    try:
        event = json.loads(raw, parse_constant=lambda _: None, parse_float=_finite)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


class LiveSource:
    """Frames of a running flowgraph in ``run_dir`` (see module docstring)."""

    def __init__(self, run_dir: str | Path, ctx: zmq.Context | None = None):
        self.run_dir = Path(run_dir)
        self.ctx = ctx or zmq.Context()
        self.started_wall = time.time()
        self.endpoints: dict = {}
        self.roles: dict[str, str] = {}  # process -> "groundstation" / "handset"
        self.events: list[dict] = []  # every event so far (a page that connects late gets them all)
        self.t_s = 0.0
        self.run_state = "waiting"
        self.tap_messages = 0
        self._subs: dict[tuple[str, str], tuple[str, zmq.Socket]] = {}  # (proc, port) -> (endpoint, socket)
        self._endpoints_stamp: tuple | None = None  # (inode, mtime, size) of the endpoints.json last read
        self._next_finished_check = 0.0
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="dashboard-control")
        self._links: dict[str, ControlLink] = {}  # used on the worker thread only

    # -- sockets ---------------------------------------------------------------------------------
    def _wire(self) -> bool:
        """Follow ``endpoints.json`` (looked at every frame, read when replaced): True when it changed.

        Every frame, not every half second: a fast-mode call can stream its whole pass in under a
        second, and a tap subscribed late shows nothing of it."""
        try:
            info = (self.run_dir / "endpoints.json").stat()
        except FileNotFoundError:
            return False
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        if stamp == self._endpoints_stamp:
            return False
        table = read_endpoints(self.run_dir)
        if table is None:
            return False
        self._endpoints_stamp = stamp
        if table == self.endpoints:
            return False
        self.endpoints = table
        wanted = {}
        for proc, ports in table.items():
            for port, endpoint in ports.items():
                if port == "telemetry" or port in {f"{t}.raw" for t in (*SPECTRUM_TAPS, CONSTELLATION_TAP)}:
                    wanted[(proc, port)] = endpoint
                if port == "dl_precomp.raw":
                    self.roles.setdefault(proc, "groundstation")
                elif port == "rx.raw":
                    self.roles.setdefault(proc, "handset")
        for key in [k for k, (ep, _) in self._subs.items() if wanted.get(k) != ep]:
            self._subs.pop(key)[1].close()
        for key, endpoint in wanted.items():
            if key not in self._subs:
                opener = telemetry_socket if key[1] == "telemetry" else tap_socket
                self._subs[key] = (endpoint, opener(self.ctx, self.run_dir, endpoint))
        return True

    def poll(self) -> dict:
        """One frame (see module docstring)."""
        now = time.monotonic()
        self._wire()
        if now >= self._next_finished_check:
            self._next_finished_check = now + FINISHED_EVERY_S
            if self.run_state != "finished" and (records_time(self.run_dir) or 0.0) >= self.started_wall:
                self.run_state = "finished"
        events, spectra, const = [], {}, {}
        for (proc, port), (_, sock) in self._subs.items():
            if port == "telemetry":
                events.extend(self._drain(sock))
                continue
            try:
                raw = sock.recv(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                continue
            self.tap_messages += 1
            x = np.frombuffer(raw.buffer, np.complex64)
            tap = port.removesuffix(".raw")
            if tap == CONSTELLATION_TAP:
                const[self.roles.get(proc, proc)] = constellation_frame(x)
            else:
                row = spectrum_frame(x, BASEBAND_RATE_SPS)
                if row is not None:
                    spectra[tap] = row
        events.sort(key=lambda e: (e.get("index", 0), e.get("wall", 0.0)))
        for e in events:
            if e.get("role"):
                self.roles[e["proc"]] = e["role"]
            self.t_s = max(self.t_s, e.get("index", 0) / BASEBAND_RATE_SPS)
        if events and self.run_state == "waiting":
            self.run_state = "running"
        self.events.extend(events)
        return {"type": "frame", "t_s": self.t_s, "events": events, "spectra": spectra, "const": const,
                "run_state": self.run_state}

    @staticmethod
    def _drain(sock: zmq.Socket) -> list[dict]:
        got = []
        while True:
            try:
                event = parse_event(sock.recv(zmq.NOBLOCK))
            except zmq.Again:
                return got
            if event is not None:
                got.append(event)

    # -- commands (worker thread) ------------------------------------------------------------------
    def command(self, name: str, **args) -> Future:
        """Page command ``name`` on the worker thread; its future gives ``{process: reply}`` or raises
        :class:`~skycall.errors.SkycallError` (no such process, no answer, an error reply)."""
        return self._worker.submit(self._command, name, args)

    def _command(self, name: str, args: dict) -> dict:
        if name not in COMMANDS:
            raise SkycallError(f"unknown command {name!r}; known: {sorted(COMMANDS)}")
        role, cmd = COMMANDS[name]
        controls = {p: ports["control"] for p, ports in self.endpoints.items() if "control" in ports}
        for proc in controls:
            if proc not in self.roles:
                self.roles[proc] = self._link(proc, controls[proc]).call("status").get("role", proc)
        targets = [p for p in controls if role is None or self.roles.get(p) == role]
        if not targets:
            raise SkycallError(f"no running {role or 'process'} to send {name!r} to (is the flowgraph running?)")
        return {proc: self._link(proc, controls[proc]).call(cmd, **args) for proc in targets}

    def _link(self, proc: str, endpoint: str) -> ControlLink:
        link = self._links.get(proc)
        if link is None or link.endpoint != endpoint:
            if link is not None:
                link.close()
            link = self._links[proc] = ControlLink(self.ctx, self.run_dir, endpoint)
        return link

    def close(self) -> None:
        self._worker.submit(lambda: [link.close() for link in self._links.values()]).result()
        self._worker.shutdown()
        for _, sock in self._subs.values():
            sock.close()
        self._subs.clear()


__all__ = ["LiveSource", "COMMANDS", "SPECTRUM_TAPS", "parse_event"]
