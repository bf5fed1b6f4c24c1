"""`skycall run`: validation first, telemetry and exit codes collected, Ctrl-C forwarded to children."""

import json
import signal
import subprocess
import sys

import pytest

from skycall.errors import SkycallError
from skycall.runner.node import Node
from skycall.runner.supervisor import Supervisor
from tests.integration.test_transport_runner import FS, PEER, _flowgraph


def _skycall(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "skycall.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def test_run_collects_telemetry_and_exit_codes(tmp_path):
    flow = _flowgraph(tmp_path, duration_s=0.1)
    out = tmp_path / "out"
    res = _skycall(
        "run", str(flow), "--out", str(out), "--entry", f"gs={PEER}", "--entry", f"hs={PEER}", "--logs"
    )
    assert res.returncode == 0, res.stderr + res.stdout
    assert "gs: exit 0" in res.stdout and "hs: exit 0" in res.stdout and str(out) in res.stdout
    events = [json.loads(line) for line in (out / "telemetry.jsonl").read_text().splitlines()]
    assert {e["proc"] for e in events if e["t"] == "done"} == {"gs", "hs"}


def test_run_refuses_an_invalid_flowgraph_before_starting_anything(tmp_path):
    flow = _flowgraph(tmp_path)
    flow.write_text(flow.read_text().replace('dst = "hs.rx"', 'dst = "nobody.rx"'))
    out = tmp_path / "out"
    res = _skycall("run", str(flow), "--out", str(out))
    assert res.returncode == 2
    assert "link[0].dst" in res.stderr and "nobody.rx" in res.stderr
    assert not out.exists()


def test_run_rejects_a_malformed_entry(tmp_path):
    res = _skycall("run", str(_flowgraph(tmp_path)), "--entry", "gs")
    assert res.returncode == 2 and "PROC=MODULE" in res.stderr


def test_interrupt_is_forwarded_and_children_stop_cleanly(tmp_path):
    flow = _flowgraph(tmp_path, realtime=True, duration_s=60.0)
    sup = Supervisor(flow, tmp_path / "out", entries={"gs": PEER, "hs": PEER}, capture_logs=True)
    with sup:
        for name in ("gs", "hs"):
            assert sup.wait_event(lambda e, n=name: e["proc"] == n and e["t"] == "rx", 60)
        sup.interrupt()
        codes = sup.wait(30)
        done = [
            sup.wait_event(lambda e, n=name: e["proc"] == n and e["t"] == "done", 10) for name in ("gs", "hs")
        ]
    assert codes == {"gs": 0, "hs": 0}
    assert all(d is not None and d["index"] < 60.0 * FS for d in done)  # stopped early, saved, exited 0


def test_node_outside_a_run_says_how_to_start_it(monkeypatch):
    monkeypatch.delenv("SKYCALL_PROC", raising=False)
    with pytest.raises(SkycallError, match="skycall run"):
        Node.from_env()


def test_ctrl_c_on_skycall_run_reaches_every_process(tmp_path):
    flow = _flowgraph(tmp_path, realtime=True, duration_s=60.0)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "skycall.cli", "run", str(flow), "--out", str(out), "--logs"]
    cmd += ["--entry", f"gs={PEER}", "--entry", f"hs={PEER}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("running gs, hs")  # blocks until both registered
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    for name in (
        "gs",
        "hs",
    ):  # each child caught the forwarded SIGINT (in its loop: 0, still setting up: 130)
        assert f"{name}: exit 0" in stdout or f"{name}: exit 130" in stdout, stdout
