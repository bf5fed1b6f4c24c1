"""The campaign under Ctrl-C, SIGTERM, a call that raises and a killed worker (issue #20, item 8).

Before: Ctrl-C ran on silently for 72 s and wrote nothing; one failing call or one killed worker
aborted the whole campaign with a traceback and threw away every finished result. Now: a signal
writes the rows so far (``complete: false``) and stops the workers at once; a call that raises is a
failed row with its traceback line; a call whose worker dies is re-run once; rows land in
``results.json`` as calls finish.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]


def _suite(tmp_path: Path, offsets: list[float], never_visible: bool = False) -> Path:
    flow = ROOT / "flowgraphs" / "loopback_call.toml"
    text = f"""
[[scenario]]
name = "short"
flowgraph = "{flow}"
handset_offset_km = 5.0
call_offsets_s = {offsets}
duration_s = 3.0
hold_s = 1.5
"""
    if never_visible:  # a real per-call failure: this site never sees the satellite (NoPassError in the worker)
        text += f"""
[[scenario]]
name = "never-visible"
flowgraph = "{flow}"
tle = "{ROOT / 'groundstation' / 'data' / 'skycall-1.tle'}"
observer_lat_deg = 89.0
duration_s = 3.0
hold_s = 1.5
"""
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def _start(suite: Path, out: Path, tmp: Path) -> subprocess.Popen:
    tmp.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "skycall.cli", "quality", str(suite), "--out", str(out), "--jobs", "2"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "TMPDIR": str(tmp)})  # the workers' temporary directories


def _wait(condition, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _workers(proc: subprocess.Popen) -> list[psutil.Process]:
    return [p for p in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(p.cmdline())]


def _rows(out: Path) -> list[dict]:
    try:
        return json.loads((out / "results.json").read_text())["calls"]
    except (OSError, ValueError):
        return []


def test_ctrl_c_writes_partial_results_and_stops_workers(tmp_path):
    """(SIGTERM takes the same path: tests/integration/test_quality_distributed.py interrupts a campaign with it.)"""
    out = tmp_path / "q"
    proc = _start(_suite(tmp_path, [-150.0, -100.0, -50.0, 0.0, 50.0, 100.0]), out, tmp_path / "tmp")
    _wait(lambda: len(_rows(out)) >= 1)  # rows are written as calls finish, not at the end
    workers = _workers(proc)
    assert len(workers) == 2
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and time.monotonic() - t0 < 15.0, err
    assert "interrupted: stopping the workers" in err and "run the same command again" in err
    assert "Traceback" not in err
    doc = json.loads((out / "results.json").read_text())
    assert doc["complete"] is False and doc["passed"] is False and 1 <= len(doc["calls"]) < 6
    for row in doc["calls"]:  # every row written has its whole outputs
        assert row["passed"] and (out / row["dir"] / "summary.json").exists() and (out / row["dir"] / "handset.npz")
    alive = psutil.wait_procs(workers, timeout=5.0)[1]
    assert not alive, alive  # no worker left running
    assert not list((tmp_path / "tmp").iterdir())  # nothing left of the stopped calls' temporary directories


def test_failing_call_and_killed_worker_do_not_abort_the_campaign(tmp_path):
    out, tmp = tmp_path / "q", tmp_path / "tmp"
    proc = _start(_suite(tmp_path, [-100.0, 0.0], never_visible=True), out, tmp)
    _wait(lambda: len(list(tmp.glob("skycall-pool-*/skycall-call-*/calls/*"))) == 2)  # both workers mid-call
    time.sleep(0.2)
    _workers(proc)[0].kill()
    stdout, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err  # the failing call fails the campaign's verdict, not the campaign
    assert re.search(r"worker process died \(killed by SIGKILL\) running short@[-+0-9]+s: re-running it once", err)
    assert "Traceback" not in err
    doc = json.loads((out / "results.json").read_text())
    assert doc["complete"] and sorted(r["call"] for r in doc["calls"]) == sorted(
        ["short@-100s", "short@+0s", "never-visible@-100s"])  # each call exactly once
    bad = doc["calls"][-1]
    assert bad["error"].startswith("NoPassError: the satellite never rises above 10 deg")
    assert "(passes.py:" in bad["error"]  # the traceback line: where it was raised
    assert bad["fail_reasons"] == f"error: {bad['error']}" and not bad["passed"]
    assert "Traceback (most recent call last)" in (out / bad["dir"] / "error.txt").read_text()
    assert all(r["passed"] for r in doc["calls"][:-1])
    assert not list(tmp.iterdir())  # the killed worker's temporary directory went with the pool
    assert "FAIL never-visible@-100s: error: NoPassError" in stdout
    assert "never-visible@-100s" in (out / "report.html").read_text()  # the report lists the failed row
