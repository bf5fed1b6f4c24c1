"""Supervisor: runs every ``[[process]]`` of a flowgraph as its own OS process.

``Supervisor(flowgraph_path, out_dir)``: ``start()`` validates the flowgraph (before anything is
spawned), starts a service thread that owns the directory (:mod:`.directory`) and the telemetry
collector (appending to ``OUT/telemetry.jsonl``; every process's registered endpoints are kept
in ``OUT/endpoints.json`` as ``{process: {port: endpoint}}``, rewritten on each (re)registration,
which ``skycall call`` reads), then spawns each process with the environment
:meth:`skycall.runner.node.Node.from_env` reads. The program of a process is
``python -m groundstation.main`` or ``python -m handset_emu.main`` by role, unless ``entries``
maps its name to another module (test peers, custom mains). ``interrupt()`` forwards SIGINT,
``restart(name)`` kills one process and starts it again (it re-registers; its peers reconnect),
``wait()`` collects exit codes, ``stop()`` ends whatever is left and the service thread.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import zmq

from skycall.config.flowgraph import Flowgraph, load_flowgraph
from skycall.runner.directory import Directory
from skycall.transport.telemetry import TelemetryCollector

log = logging.getLogger(__name__)

ROLE_MODULES = {"groundstation": "groundstation.main", "handset": "handset_emu.main"}
ROOT = Path(__file__).resolve().parents[2]


class Supervisor:
    """Run a flowgraph's processes (see module docstring).

    Parameters
    ----------
    flowgraph : path
        Flowgraph TOML; validated by :meth:`start` before any process is spawned.
    out_dir : path
        Output directory (telemetry.jsonl, per-process logs when ``capture_logs``).
    duration_s, realtime : optional overrides of the flowgraph's values.
    entries : {process name: python module}
        Run ``python -m MODULE`` for that process instead of its role's main.
    capture_logs : bool
        Send each child's stdout/stderr to ``OUT/NAME.log`` instead of the supervisor's terminal.
    """

    def __init__(
        self,
        flowgraph: str | Path,
        out_dir: str | Path,
        *,
        duration_s: float | None = None,
        realtime: bool | None = None,
        entries: dict[str, str] | None = None,
        capture_logs: bool = False,
        env: dict[str, str] | None = None,
    ):
        self.flow_path = Path(flowgraph).resolve()
        self.out_dir = Path(out_dir).resolve()
        self.duration_s, self.realtime = duration_s, realtime
        self.entries = dict(entries or {})
        self.capture_logs = capture_logs
        self.extra_env = dict(env or {})
        self.flow: Flowgraph | None = None
        self.procs: dict[str, subprocess.Popen] = {}
        self.exit_codes: dict[str, int] = {}
        self.events: list[dict] = []
        self.registrations: dict[str, int] = {}  # proc -> generation
        self.endpoints: dict[str, dict] = {}  # proc -> {port: endpoint} of its latest incarnation
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._endpoints: dict[str, str] = {}
        self._twins = None

    # -- service thread (owns every socket) ------------------------------------------------------
    def _serve(self) -> None:
        ctx = zmq.Context()
        directory = Directory(ctx, on_register=self._on_register)
        collector = TelemetryCollector(ctx, self.out_dir / "telemetry.jsonl")
        self._endpoints = {
            "SKYCALL_DIRECTORY": directory.endpoint,
            "SKYCALL_ANNOUNCE": directory.announce_endpoint,
            "SKYCALL_TELEMETRY": collector.endpoint,
        }
        self._ready.set()
        poller = zmq.Poller()
        for sock in (directory._server._sock, collector._sock):
            poller.register(sock, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                poller.poll(50)
                directory.poll()
                got = collector.drain()
                if got:
                    with self._cond:
                        self.events.extend(got)
                        self._cond.notify_all()
        finally:
            collector.close()
            directory.close()
            ctx.destroy(linger=0)

    def _on_register(self, proc: str, entry: dict) -> None:
        with self._cond:
            self.registrations[proc] = entry["generation"]
            self.endpoints[proc] = dict(entry["endpoints"])
            tmp = self.out_dir / "endpoints.json.tmp"
            tmp.write_text(json.dumps(self.endpoints, indent=1, sort_keys=True) + "\n")
            tmp.replace(self.out_dir / "endpoints.json")  # atomic: readers never see half a file
            self._cond.notify_all()

    # -- processes -----------------------------------------------------------------------------
    def start(self) -> None:
        """Validate the flowgraph, start the directory/collector and every process."""
        self.flow = load_flowgraph(self.flow_path)
        unknown = set(self.entries) - {p.name for p in self.flow.process}
        if unknown:
            raise ValueError(f"entries name processes not in {self.flow_path}: {sorted(unknown)}")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        from skycall.radio.twins import prepare_radios  # hardware twins, radio serials, calibration

        self._twins, radio_env = prepare_radios(self.flow, self.out_dir, self.extra_env)
        self.extra_env.update(radio_env)
        self._thread = threading.Thread(target=self._serve, name="skycall-supervisor", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        for p in self.flow.process:
            self._spawn(p.name)

    def _spawn(self, name: str) -> None:
        proc = self.flow.proc(name)
        module = self.entries.get(name, ROLE_MODULES[proc.role])
        env = {
            **os.environ,
            **self.extra_env,
            **self._endpoints,
            "SKYCALL_PROC": name,
            "SKYCALL_FLOWGRAPH": str(self.flow_path),
            "SKYCALL_OUT": str(self.out_dir),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        }
        if self.realtime is not None:
            env["SKYCALL_REALTIME"] = "1" if self.realtime else "0"
        if self.duration_s is not None:
            env["SKYCALL_DURATION_S"] = repr(float(self.duration_s))
        out = open(self.out_dir / f"{name}.log", "ab") if self.capture_logs else None  # noqa: SIM115
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", module],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it forwards SIGINT once
        )
        if out is not None:
            out.close()
        log.info("started %s (pid %d): python -m %s", name, self.procs[name].pid, module)

    def restart(self, name: str, timeout_s: float = 10.0) -> None:
        """Kill process ``name`` (SIGKILL, like a crash) and start it again."""
        popen = self.procs[name]
        popen.kill()
        popen.wait(timeout_s)
        log.info("%s killed for restart (exit %s)", name, popen.returncode)
        self._spawn(name)

    def wait_registered(self, name: str, generation: int = 1, timeout_s: float = 30.0) -> bool:
        """Wait until ``name`` has registered its ``generation``-th incarnation."""
        with self._cond:
            return self._cond.wait_for(lambda: self.registrations.get(name, 0) >= generation, timeout_s)

    def wait_running(self, timeout_s: float = 60.0) -> bool:
        """Wait until every process has registered, or one has exited, or the timeout; True if all run."""
        names = list(self.procs)

        def settled() -> bool:
            registered = all(self.registrations.get(n, 0) >= 1 for n in names)
            return registered or any(self.procs[n].poll() is not None for n in names)

        with self._cond:
            self._cond.wait_for(settled, timeout_s)
            return all(self.registrations.get(n, 0) >= 1 for n in names)

    def wait_event(self, predicate, timeout_s: float = 30.0) -> dict | None:
        """Wait for a telemetry event matching ``predicate(event)``; return it (None on timeout)."""
        with self._cond:
            found = []

            def match() -> bool:
                found[:] = [e for e in self.events if predicate(e)][:1]
                return bool(found)

            self._cond.wait_for(match, timeout_s)
            return found[0] if found else None

    def interrupt(self) -> None:
        """Forward SIGINT to every running process."""
        for popen in self.procs.values():
            if popen.poll() is None:
                popen.send_signal(signal.SIGINT)

    def wait(self, timeout_s: float | None = None) -> dict[str, int]:
        """Wait for every process to exit (or the timeout); return ``{name: exit code}`` of the exited."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for name, popen in self.procs.items():
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                self.exit_codes[name] = popen.wait(left)
            except subprocess.TimeoutExpired:
                pass
        return dict(self.exit_codes)

    def stop(self, grace_s: float = 5.0) -> dict[str, int]:
        """SIGINT, then SIGKILL after ``grace_s``, whatever still runs; stop the service thread."""
        self.interrupt()
        self.wait(grace_s)
        for name, popen in self.procs.items():
            if popen.poll() is None:
                log.warning("%s ignored SIGINT for %.0f s: killing it", name, grace_s)
                popen.kill()
                self.exit_codes[name] = popen.wait()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self._twins is not None:
            self._twins.stop()
        return dict(self.exit_codes)

    def __enter__(self) -> "Supervisor":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


__all__ = ["Supervisor", "ROLE_MODULES"]
