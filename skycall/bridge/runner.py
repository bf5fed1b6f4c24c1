"""``skycall run`` of an srsRAN flowgraph: srsenb, ``skycall bridge`` and srsue as OS processes.

1. validate the flowgraph, find srsRAN (:mod:`.srsran`), make the run directory (flowgraph copy, plugin
   links), pick four free loopback ports, create the UE's network namespace;
2. start the bridge (``channel = "direct"``: none, the UE talks to the eNodeB), srsenb and srsue, each
   in its own session, their console read line by line into ``NAME.out`` and parsed into events
   (:mod:`.console`);
3. run until the bridge reports ``duration_s`` of stream time (its status events; direct: ``duration_s``
   of wall time once srsUE's PHY is up), or ``[srsran] stop_after_rach`` random accesses completed, or a
   process ended, or Ctrl-C; a stack that stops making progress ends the run after ``4·duration_s + 120 s`` of wall time
   (srsRAN plans its FFTs at start-up, which takes seconds to a minute on a loaded machine: the stream
   only starts once both are ready, so it costs wall time, not stream time);
4. end srsue, srsenb, then the bridge by PID (SIGINT, SIGKILL after a grace; srsUE often needs the
   latter): the bridge keeps forwarding while the stack shuts down; the namespace is removed;
5. write ``telemetry.jsonl`` (the bridge's events and the console's, each console event placed on the
   stream by the bridge's status events: index = DL samples forwarded at that wall time), ``run.json``
   and ``summary.json`` (:mod:`.summary`, which counts the events up to ``duration_s``).
"""

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from skycall.bridge.console import parse_line
from skycall.bridge.srsran import NetworkNamespace, enb_command, environment, find_srsran, line_buffered, ue_command
from skycall.config.flowgraph import SRSRAN_RATES_SPS, TOML_NAMES, Flowgraph, load_flowgraph, resolve_path
from skycall.config.schema import read_toml
from skycall.fileio import atomic_write

_GRACE_S = 10.0
_POLL_S = 0.2


def is_srsran_flowgraph(path: str | Path) -> bool:
    """True when the flowgraph file has an ``[srsran]`` table (then :func:`run_cli` runs it)."""
    return isinstance(read_toml(path).get("srsran"), dict)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is a JSON string
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    return repr(value)


def flowgraph_toml(flow: Flowgraph) -> str:
    """``flow`` as TOML: its scalars and tables (an srsRAN flowgraph has no process or link lists)."""
    top, tables = [], []
    for f in dataclasses.fields(flow):
        value = getattr(flow, f.name)
        if "doc" not in f.metadata or value is None or isinstance(value, list):
            continue
        if dataclasses.is_dataclass(value):
            rows = [f"{g.name} = {_toml_value(getattr(value, g.name))}" for g in dataclasses.fields(value)
                    if getattr(value, g.name) is not None]  # None: the key's default (TOML has no null)
            tables.append(f"[{TOML_NAMES.get(f.name, f.name)}]\n" + "\n".join(rows))
        else:
            top.append(f"{f.name} = {_toml_value(value)}")
    return "\n".join(top) + "\n\n" + "\n\n".join(tables) + "\n"


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (bound once, then released for the processes)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class SrsranRun:
    """One run of an srsRAN flowgraph (see the module docstring); :meth:`run` returns the summary."""

    def __init__(self, flow: Flowgraph, out_dir: str | Path, echo: bool = True):
        self.flow = absolute_paths(flow)
        self.cfg = self.flow.srsran
        self.out = Path(out_dir).resolve()
        self.duration_s = float(self.flow.duration_s)
        self.echo = echo
        self.procs: dict[str, subprocess.Popen] = {}
        self.events: list[dict] = []
        self._lock = threading.Lock()
        self._readers: list[threading.Thread] = []
        self._interrupted = threading.Event()
        self._t0 = time.time()
        self._stream_s = 0.0  # the bridge's latest stream time
        self._tail = 0  # bytes of bridge.jsonl read so far

    # -- processes ---------------------------------------------------------------------------------
    def _start(self, name: str, command: list[str], env: dict) -> None:
        with (self.out / "commands.txt").open("a") as fh:
            fh.write(f"{name}: {' '.join(command)}\n")
        popen = subprocess.Popen(command, env=env, cwd=self.out, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = popen
        reader = threading.Thread(target=self._read, args=(name, popen), name=f"read-{name}", daemon=True)
        reader.start()
        self._readers.append(reader)

    def _read(self, name: str, popen: subprocess.Popen) -> None:
        with (self.out / f"{name}.out").open("w") as raw:
            for line_bytes in popen.stdout:
                line = line_bytes.decode(errors="replace").rstrip()
                raw.write(line + "\n")
                raw.flush()
                event = parse_line(name, line)
                if event is None:
                    continue
                event["wall"] = time.time()
                with self._lock:
                    self.events.append(event)
                if self.echo:
                    print(f"[{event['wall'] - self._t0:6.1f} s] {name}: {line.strip()}", flush=True)

    def _end(self, name: str) -> int | None:
        """SIGINT the process, SIGKILL it after the grace period; its exit code."""
        popen = self.procs.get(name)
        if popen is None:
            return None
        if popen.poll() is None:
            popen.send_signal(signal.SIGINT)
            try:
                popen.wait(_GRACE_S)
            except subprocess.TimeoutExpired:
                popen.kill()
        return popen.wait()

    def _count(self, event_type: str) -> int:
        with self._lock:
            return sum(e["t"] == event_type for e in self.events)

    def _stream_time(self) -> float:
        """The stream time of the bridge's latest status event (0 before the first)."""
        path = self.out / "bridge.jsonl"
        if path.exists():
            with path.open("rb") as fh:
                fh.seek(self._tail)
                chunk = fh.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._tail += len(complete)
            for line in complete.splitlines():
                self._stream_s = max(self._stream_s, json.loads(line).get("t_s", 0.0))
        return self._stream_s

    def _since_ue_ready(self) -> float:
        """Wall time since srsUE's PHY came up (direct runs have no stream count; 0 before)."""
        with self._lock:
            ready = [e["wall"] for e in self.events if e["t"] == "ue_ready"]
        return time.time() - ready[0] if ready else 0.0

    def _wait(self) -> str:
        """Block until the run should end; the reason."""
        wall_limit = 4.0 * self.duration_s + 120.0
        while True:
            elapsed = time.time() - self._t0
            if self._interrupted.is_set():
                return "interrupted"
            bridge = self.procs.get("bridge")
            if bridge is not None and bridge.poll() is not None:
                return f"bridge exited with {bridge.returncode}"
            if (self._stream_time() if bridge is not None else self._since_ue_ready()) >= self.duration_s:
                return "duration"
            for name in ("srsenb", "srsue"):
                if self.procs[name].poll() is not None:
                    return f"{name} exited with {self.procs[name].returncode}"
            if self.cfg.stop_after_rach and self._count("rach_complete") >= self.cfg.stop_after_rach:
                return f"{self.cfg.stop_after_rach} random accesses completed"
            if elapsed > wall_limit:
                return f"no end after {wall_limit:.0f} s of wall time (the stack stopped making progress)"
            time.sleep(_POLL_S)

    # -- the run -----------------------------------------------------------------------------------
    def run(self) -> dict:
        from skycall.bridge.summary import write_summary

        install = find_srsran(self.flow)
        self.out.mkdir(parents=True, exist_ok=True)
        for name in ("telemetry.jsonl", "bridge.jsonl", "commands.txt"):
            (self.out / name).unlink(missing_ok=True)
        atomic_write(self.out / "flowgraph.toml", flowgraph_toml(self.flow))  # what ran; the bridge reads it
        env = environment(install, self.out)
        direct = self.cfg.channel == "direct"
        enb_tx, enb_rx, ue_tx, ue_rx = (f"tcp://127.0.0.1:{p}" for p in free_ports(4))
        if direct:
            ue_tx, ue_rx = enb_rx, enb_tx
        load_before = os.getloadavg()
        previous = signal.signal(signal.SIGINT, lambda *_: self._interrupted.set())
        self._t0 = time.time()
        netns_name = f"skycall-{os.getpid()}-{int(self._t0 * 1000) % 100000}"
        try:
            with NetworkNamespace(netns_name) as netns:
                if not direct:
                    self._start("bridge", [sys.executable, "-m", "skycall.cli", "bridge",
                                           str(self.out / "flowgraph.toml"), "--dl-from", enb_tx, "--dl-to", ue_rx,
                                           "--ul-from", ue_tx, "--ul-to", enb_rx, "--tabulate-s", repr(self.duration_s),
                                           "--events", str(self.out / "bridge.jsonl"), "--quiet"], os.environ.copy())
                self._start("srsenb", line_buffered(enb_command(install, self.flow, self.out, enb_tx, enb_rx)), env)
                self._start("srsue", line_buffered(ue_command(install, self.flow, self.out, ue_tx, ue_rx, netns.name)),
                            env)
                reason = self._wait()
                codes = {name: self._end(name) for name in ("srsue", "srsenb", "bridge")}
        finally:
            for name in list(self.procs):
                if self.procs[name].poll() is None:
                    self.procs[name].kill()
                    self.procs[name].wait()
            signal.signal(signal.SIGINT, previous)
        for reader in self._readers:
            reader.join(5.0)
        run_info = {
            "flowgraph": self.flow.path, "srsran": str(install.root), "channel": self.cfg.channel,
            "n_prb": self.cfg.n_prb, "sample_rate_sps": SRSRAN_RATES_SPS[self.cfg.n_prb],
            "duration_s": self.duration_s, "netns": netns_name, "wall_start": self._t0,
            "wall_s": time.time() - self._t0, "end_reason": reason,
            "exit_codes": {k: v for k, v in codes.items() if v is not None},
            "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
        }
        atomic_write(self.out / "run.json", json.dumps(run_info, indent=1) + "\n")
        self._write_telemetry()
        return write_summary(self.out)

    def _write_telemetry(self) -> None:
        """``telemetry.jsonl``: bridge and console events in wall-time order, console events on the stream."""
        path = self.out / "bridge.jsonl"
        bridge = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        status = [e for e in bridge if e["t"] in ("bridge_status", "bridge_stop")]
        fs = SRSRAN_RATES_SPS[self.cfg.n_prb]
        for event in self.events:
            if status:
                index = int(np.interp(event["wall"], [e["wall"] for e in status], [e["index"] for e in status]))
                event["index"], event["t_s"] = index, index / fs
        merged = sorted(bridge + self.events, key=lambda e: e["wall"])
        atomic_write(self.out / "telemetry.jsonl", "".join(json.dumps(e) + "\n" for e in merged))


def absolute_paths(flow: Flowgraph) -> Flowgraph:
    """``flow`` with the paths it names made absolute (its copy lives in the run directory)."""
    pass_, srsran = flow.pass_, flow.srsran
    if pass_.tle:
        pass_ = dataclasses.replace(pass_, tle=str(resolve_path(flow, pass_.tle).resolve()))
    if srsran is not None and srsran.dir:
        srsran = dataclasses.replace(srsran, dir=str(resolve_path(flow, srsran.dir).resolve()))
    return dataclasses.replace(flow, pass_=pass_, srsran=srsran)


def run_cli(args) -> int:
    """``skycall run`` for an srsRAN flowgraph (``--out``, ``--duration-s``; the other options do not apply)."""
    from skycall.bridge.summary import print_summary

    flow = load_flowgraph(args.flowgraph)
    if args.duration_s is not None:
        flow = dataclasses.replace(flow, duration_s=float(args.duration_s))
    summary = SrsranRun(flow, args.out).run()
    print_summary(summary, args.out)
    return 130 if summary["run"]["end_reason"] == "interrupted" else 0
