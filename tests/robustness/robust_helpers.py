"""Helpers of the reliability suite (hostile inputs, other local users, signals and faults).

Runs use the light test peers (``tests/integration/peers/lockstep_peer.py``, ``tests/robustness/peers``)
instead of the call processes, so each run starts in about a second.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEER = "tests.integration.peers.lockstep_peer"
FAIL_PEER = "tests.robustness.peers.fail_peer"
BAD_TELEMETRY_PEER = "tests.robustness.peers.bad_telemetry_peer"


def write_flowgraph(directory: Path, *, names=("gs", "hs"), duration_s=0.3, realtime=False, body="",
                    links=((0, 1), (1, 0))) -> Path:
    """A loopback flowgraph of two processes (``links``: ``tx`` of process i → ``rx`` of process j)."""
    gs, hs = names
    text = textwrap.dedent(f"""\
        name = "robustness"
        seed = 7
        duration_s = {duration_s}
        realtime = {str(realtime).lower()}
        [[process]]
        name = "{gs}"
        role = "groundstation"
        [[process]]
        name = "{hs}"
        role = "handset"
        """)
    for i, j in links:
        text += f'[[link]]\nsrc = "{names[i]}.tx"\ndst = "{names[j]}.rx"\n'
    path = directory / "flow.toml"
    path.write_text(text + body)
    return path


def peer_entries(*names, module=PEER) -> list[str]:
    return [arg for name in names for arg in ("--entry", f"{name}={module}")]


def skycall(*args, timeout=60, **kw) -> subprocess.CompletedProcess:
    """``skycall ARGS`` in a fresh interpreter (the way a user runs it)."""
    return subprocess.run([sys.executable, "-m", "skycall.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, **kw)  # fmt: skip


class Run:
    """``skycall run`` in the background; :meth:`wait_running` reads its first line. Its stderr (where
    the children log too) goes to a file, so a chatty run can never block on a full pipe."""

    def __init__(self, *args):
        cmd = [sys.executable, "-m", "skycall.cli", "run", *map(str, args)]
        self._err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._err, text=True, cwd=ROOT)
        self.children: list[int] = []

    def stderr(self) -> str:
        self._err.seek(0)
        return self._err.read()

    def wait_running(self) -> str:
        line = self.proc.stdout.readline()  # "running gs, hs; ..." once every process registered
        assert line.startswith("running"), line + self.proc.stdout.read() + self.stderr()
        self.children = children_of(self.proc.pid)
        return line

    def finish(self, timeout=60) -> tuple[int, str, str]:
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            raise AssertionError(f"skycall run did not end within {timeout} s:\n{out}\n{self.stderr()}") from None
        return self.proc.returncode, out, self.stderr()

    def kill(self) -> None:
        """Leave nothing behind, whatever the test found (also orphans of a runner that died)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in self.children:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        self._err.close()


def children_of(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(predicate, timeout_s: float, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return predicate()


def read_json(path: Path):
    return json.loads(Path(path).read_text())


def wait_ports(out: Path, port: str = "control", names=("gs", "hs"), timeout_s: float = 30.0) -> dict:
    """``endpoints.json`` once every process in ``names`` registered ``port``."""

    def ready():
        try:
            table = read_json(out / "endpoints.json")
        except (OSError, ValueError):
            return False
        return all(port in table.get(name, {}) for name in names)

    assert wait_until(ready, timeout_s), f"{names} did not register {port!r}"
    return read_json(out / "endpoints.json")


def events(out: Path) -> list[dict]:
    """The run's telemetry so far (a line being written is skipped)."""
    got = []
    try:
        lines = (out / "telemetry.jsonl").read_text().splitlines()
    except OSError:
        return got
    for line in lines:
        try:
            got.append(json.loads(line))
        except ValueError:
            pass
    return got


def wait_streaming(out: Path, names=("gs", "hs"), timeout_s: float = 30.0) -> None:
    """Until each test peer in ``names`` reported receiving (``rx`` telemetry): past its set-up."""
    assert wait_until(lambda: {e["proc"] for e in events(out) if e["t"] == "rx"} >= set(names), timeout_s)
