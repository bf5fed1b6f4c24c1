"""Supervisor: runs every ``[[process]]`` of a flowgraph as its own OS process.

``Supervisor(flowgraph_path, out_dir)``: ``start()`` validates the flowgraph and the overrides
(``duration_s`` through the same schema check as the file) before anything is created, prepares
the run directory (:mod:`.rundir`: 0700, locked, cleared, a fresh key, a private socket
directory), starts a service thread that owns the directory (:mod:`.directory`) and the telemetry
collector (``OUT/telemetry.jsonl``; it subscribes to each registered process's telemetry socket;
every process's registered endpoints are kept in ``OUT/endpoints.json`` (0600) as
``{process: {port: endpoint}}``, rewritten atomically on each (re)registration, which ``skycall
call`` reads), then spawns each process — in its own process group — with the environment
:meth:`skycall.runner.node.Node.from_env` reads. The program of a process is ``python -m
groundstation.main`` or ``python -m handset_emu.main`` by role, unless ``entries`` maps its name to
another module (test peers, custom mains).

A reaper thread per child notes its exit at once (``wait_running`` and ``wait`` wake on it).
``interrupt(sig)`` signals every child's process group, ``restart(name)`` kills one process and
starts it again (it re-registers; its peers reconnect), ``wait()`` collects exit codes, ``stop()``
sends SIGINT, SIGKILLs the process groups of whatever ignored it for ``grace_s``, stops the service
thread, writes ``OUT/run.json`` (how each process ended: ``completed``, ``interrupted``, ``crashed
(exit N)``, ``failed (exit 2)``, ``killed by SIGKILL``) and closes the run directory.

The service thread cannot die silently: anything it did not expect is logged, kept in
:attr:`service_error`, stops the children and wakes every waiter; ``skycall run`` then exits 1.
Children end with the thread that spawned them (``PR_SET_PDEATHSIG``, so a killed runner leaves no
orphans): call :meth:`start` and :meth:`restart` from a thread that outlives the run.
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
from skycall.config.schema import check_value
from skycall.fileio import atomic_write
from skycall.runner.directory import Directory
from skycall.runner.rundir import TELEMETRY_FILE, RunDir
from skycall.transport import security
from skycall.transport.control import ENDPOINTS_FILE
from skycall.transport.telemetry import TelemetryCollector

log = logging.getLogger(__name__)

ROLE_MODULES = {"groundstation": "groundstation.main", "handset": "handset_emu.main"}
ROOT = Path(__file__).resolve().parents[2]
EXIT_FAILED = 2  # what a process main returns for a SkycallError (one-line message in its log)


def describe_exit(code: int | None, interrupted: bool, killed: bool) -> str:
    """How a process ended, in words, from its exit code (negative: the signal that killed it)."""
    if code is None:
        return "still running"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else f"signal {-code}"
        return f"killed by {name}" + (" (it ignored SIGINT)" if killed else "")
    if interrupted and code in (0, 130):
        return "interrupted"
    if code == 0:
        return "completed"
    return f"failed (exit {code})" if code == EXIT_FAILED else f"crashed (exit {code})"


class Supervisor:
    """Run a flowgraph's processes (see module docstring).

    Parameters
    ----------
    flowgraph : path
        Flowgraph TOML; validated by :meth:`start` before any process is spawned.
    out_dir : path
        Output directory (telemetry.jsonl, per-process logs when ``capture_logs``).
    duration_s, realtime : optional overrides of the flowgraph's values (checked like them).
    entries : {process name: python module}
        Run ``python -m MODULE`` for that process instead of its role's main.
    capture_logs : bool
        Send each child's stdout/stderr to ``OUT/NAME.log`` instead of the supervisor's terminal.
    append : bool
        Append to an existing ``telemetry.jsonl`` instead of starting it afresh.
    max_events : int
        Telemetry events kept in :attr:`events` for :meth:`wait_event` (the file keeps them all).
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
        append: bool = False,
        max_events: int = 100_000,
    ):
        self.flow_path = Path(flowgraph).resolve()
        self.out_dir = Path(out_dir).resolve()
        self.duration_s, self.realtime = duration_s, realtime
        self.entries = dict(entries or {})
        self.capture_logs, self.append, self.max_events = capture_logs, append, max_events
        self.extra_env = dict(env or {})
        self.flow: Flowgraph | None = None
        self.procs: dict[str, subprocess.Popen] = {}
        self.exit_codes: dict[str, int] = {}
        self.events: list[dict] = []
        self.events_dropped = 0
        self.registrations: dict[str, int] = {}  # proc -> generation
        self.endpoints: dict[str, dict] = {}  # proc -> {port: endpoint} of its latest incarnation
        self.service_error: str | None = None
        self.interrupted_by: str | None = None
        self.run_dir = RunDir(self.out_dir)
        self._interrupted: set[str] = set()  # signalled to stop while running
        self._killed: set[str] = set()  # SIGKILLed by stop() after ignoring SIGINT
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._endpoints: dict[str, str] = {}
        self._closed = False
        self._twins = None

    # -- service thread (owns every socket) ------------------------------------------------------
    def _serve(self) -> None:
        ctx = zmq.Context()
        try:
            self._service_loop(ctx)
        except BaseException as err:  # noqa: BLE001 - reported, never silent
            log.critical("supervisor service thread failed: %s: %s", type(err).__name__, err, exc_info=True)
            with self._cond:
                self.service_error = f"{type(err).__name__}: {err}"
                self._cond.notify_all()
            self._ready.set()
            self.interrupt(reason="service thread failure")
        finally:
            ctx.destroy(linger=0)

    def _service_loop(self, ctx: zmq.Context) -> None:
        sock_dir = self.run_dir.sock_dir
        directory = Directory(
            ctx,
            security.ipc_endpoint(sock_dir, "directory"),
            self._on_register,
            key=self.run_dir.key,
            authorize=self._authorize,
            announce_endpoint=security.ipc_endpoint(sock_dir, "announce"),
        )
        self._collector = TelemetryCollector(
            ctx, self.out_dir / TELEMETRY_FILE, endpoint=None, keep_events=False, append=self.append
        )
        try:
            self._endpoints = {"SKYCALL_DIRECTORY": directory.endpoint, "SKYCALL_ANNOUNCE": directory.announce_endpoint}
            self._ready.set()
            poller = zmq.Poller()
            for sock in (directory.socket, self._collector.socket):
                poller.register(sock, zmq.POLLIN)
            while not self._stop.is_set():
                poller.poll(50)
                directory.poll()
                self._keep(self._collector.drain())
        finally:
            self._collector.close()
            directory.close()

    def _keep(self, got: list[dict]) -> None:
        if not got:
            return
        with self._cond:
            room = max(0, self.max_events - len(self.events))
            self.events.extend(got[:room])
            if len(got) > room:
                if not self.events_dropped and self.max_events:
                    log.warning("more than %d telemetry events: keeping only the file", self.max_events)
                self.events_dropped += len(got) - room
            self._cond.notify_all()

    def _authorize(self, proc: str, pid, endpoints: dict) -> str | None:
        """Refuse registrations that do not come from the process of this run named ``proc``."""
        popen = self.procs.get(proc)
        if popen is None:
            return f"{proc!r} is not a process of this run"
        if pid != popen.pid:
            return f"pid {pid} is not the run's process {proc!r}"
        prefix = f"ipc://{self.run_dir.sock_dir}/"
        if not all(ep.startswith(prefix) for ep in endpoints.values()):
            return f"endpoints must be sockets in the run's socket directory {self.run_dir.sock_dir}"
        return None

    def _on_register(self, proc: str, entry: dict) -> None:
        old = self.endpoints.get(proc, {}).get("telemetry")
        new = entry["endpoints"].get("telemetry")
        if old and old != new:
            self._collector.unsubscribe(old)
        if new:
            self._collector.subscribe(new)
        with self._cond:
            self.registrations[proc] = entry["generation"]
            self.endpoints[proc] = dict(entry["endpoints"])
            table = json.dumps(self.endpoints, indent=1, sort_keys=True) + "\n"
            atomic_write(self.out_dir / ENDPOINTS_FILE, table, mode=0o600)  # readers never see half a file
            self._cond.notify_all()

    # -- processes -----------------------------------------------------------------------------
    def start(self) -> None:
        """Validate, prepare the run directory, start the directory/collector and every process."""
        self.flow = load_flowgraph(self.flow_path)
        if self.duration_s is not None:
            self.duration_s = check_value(Flowgraph, "duration_s", self.duration_s, "<cli>", "--duration-s")
        unknown = set(self.entries) - {p.name for p in self.flow.process}
        if unknown:
            raise ValueError(f"entries name processes not in {self.flow_path}: {sorted(unknown)}")
        self.run_dir.open([p.name for p in self.flow.process], append=self.append)
        try:
            from skycall.radio.twins import prepare_radios  # hardware twins, radio serials, calibration

            self._twins, radio_env = prepare_radios(self.flow, self.out_dir, self.extra_env)
            self.extra_env.update(radio_env)
            self._thread = threading.Thread(target=self._serve, name="skycall-supervisor", daemon=True)
            self._thread.start()
            self._ready.wait(10)
            if self.service_error or not self._endpoints:
                raise RuntimeError(f"the supervisor's service thread did not start: {self.service_error}")
            for p in self.flow.process:
                self._spawn(p.name)
        except BaseException:
            self.stop()
            raise

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
            "SKYCALL_KEY_FILE": str(self.out_dir / security.KEY_FILE),
            "SKYCALL_SOCKET_DIR": str(self.run_dir.sock_dir),
            "SKYCALL_COLLECTOR": "1",
            "SKYCALL_SUPERVISOR_PID": str(os.getpid()),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        }
        if self.realtime is not None:
            env["SKYCALL_REALTIME"] = "1" if self.realtime else "0"
        if self.duration_s is not None:
            env["SKYCALL_DURATION_S"] = repr(float(self.duration_s))
        out = open(self.out_dir / f"{name}.log", "ab") if self.capture_logs else None  # noqa: SIM115
        popen = subprocess.Popen(
            [sys.executable, "-m", module],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,  # its own process group: Ctrl-C reaches the supervisor only, which forwards it
        )
        if out is not None:
            out.close()
        with self._cond:
            self.procs[name] = popen
            self.exit_codes.pop(name, None)
            self._interrupted.discard(name)
        threading.Thread(target=self._reap, args=(name, popen), name=f"reap-{name}", daemon=True).start()
        log.info("started %s (pid %d): python -m %s", name, popen.pid, module)

    def _reap(self, name: str, popen: subprocess.Popen) -> None:
        code = popen.wait()
        with self._cond:
            if self.procs.get(name) is popen:  # not an incarnation replaced by restart()
                self.exit_codes[name] = code
            self._cond.notify_all()

    def restart(self, name: str, timeout_s: float = 10.0) -> None:
        """Kill process ``name`` (SIGKILL, like a crash) and start it again."""
        popen = self.procs[name]
        _signal_group(popen, signal.SIGKILL)
        popen.wait(timeout_s)
        log.info("%s killed for restart (exit %s)", name, popen.returncode)
        self._spawn(name)

    def wait_registered(self, name: str, generation: int = 1, timeout_s: float = 30.0) -> bool:
        """Wait until ``name`` has registered its ``generation``-th incarnation."""
        with self._cond:
            return self._cond.wait_for(lambda: self.registrations.get(name, 0) >= generation, timeout_s)

    def wait_running(self, timeout_s: float = 60.0) -> bool:
        """Wait until every process has registered, or one has exited, or the service thread failed,
        or the timeout; True if all run."""
        names = list(self.procs)

        def registered() -> bool:
            return all(self.registrations.get(n, 0) >= 1 for n in names)

        with self._cond:
            self._cond.wait_for(lambda: registered() or self.exit_codes or self.service_error, timeout_s)
            return registered() and not self.exit_codes and not self.service_error

    def wait_event(self, predicate, timeout_s: float = 30.0) -> dict | None:
        """Wait for a telemetry event matching ``predicate(event)``; return it (None on timeout)."""
        with self._cond:
            found = []

            def match() -> bool:
                found[:] = [e for e in self.events if predicate(e)][:1]
                return bool(found)

            self._cond.wait_for(match, timeout_s)
            return found[0] if found else None

    def interrupt(self, sig: int = signal.SIGINT, reason: str | None = None) -> None:
        """Send ``sig`` to the process group of every running process (``reason``: noted in run.json)."""
        if reason and self.interrupted_by is None:
            self.interrupted_by = reason
        for name, popen in list(self.procs.items()):
            if popen.poll() is None:
                self._interrupted.add(name)
                _signal_group(popen, sig)

    def wait(self, timeout_s: float | None = None) -> dict[str, int]:
        """Wait for every process to exit (or the timeout, or a service failure); return
        ``{name: exit code}`` of the exited."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.exit_codes) == len(self.procs) or self.service_error, timeout_s)
            return dict(self.exit_codes)

    def stop(self, grace_s: float = 5.0) -> dict[str, int]:
        """SIGINT, then SIGKILL after ``grace_s``, whatever still runs; stop the service thread; write
        ``run.json``; close the run directory. Idempotent."""
        if self._closed:
            return dict(self.exit_codes)
        self._closed = True
        if any(p.poll() is None for p in self.procs.values()):
            self.interrupt()
            self._wait_exited(grace_s)
        for name, popen in self.procs.items():
            if popen.poll() is None:
                log.warning("%s ignored SIGINT for %.0f s: killing it", name, grace_s)
                self._killed.add(name)
                _signal_group(popen, signal.SIGKILL)
        self._wait_exited(10.0)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self._twins is not None:
            self._twins.stop()
        if self.flow is not None and self.run_dir.key is not None:
            self.run_dir.write_run_file(self.run_info())
        self.run_dir.close()
        return dict(self.exit_codes)

    def _wait_exited(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for popen in self.procs.values():
            try:
                popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        with self._cond:  # the reapers record the codes
            self._cond.wait_for(lambda: len(self.exit_codes) == len(self.procs), max(0.0, deadline - time.monotonic()))

    def run_info(self) -> dict:
        """What ``run.json`` holds: the flowgraph, why the run stopped, how each process ended."""
        procs = {}
        for name, popen in self.procs.items():
            code = self.exit_codes.get(name, popen.returncode)
            procs[name] = {
                "role": self.flow.proc(name).role,
                "pid": popen.pid,
                "exit_code": code,
                "status": describe_exit(code, name in self._interrupted, name in self._killed),
                "log": f"{name}.log" if self.capture_logs else None,
            }
        return {
            "flowgraph": str(self.flow_path),
            "interrupted_by": self.interrupted_by,
            "service_error": self.service_error,
            "processes": procs,
        }

    def __enter__(self) -> "Supervisor":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _signal_group(popen: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the process group a child leads (itself and anything it started)."""
    try:
        os.killpg(popen.pid, sig)
    except (ProcessLookupError, PermissionError):  # already gone (a zombie's group may be empty)
        pass


__all__ = ["Supervisor", "ROLE_MODULES", "describe_exit"]
