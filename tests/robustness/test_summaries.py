"""Issue 20 #14: summaries tell the truth — after a kill -9 the survivor's record is reported, an
interrupted run says so, a crashed side is never a clean "CONNECTED, exit 0", ``run.json`` says how
each process ended, and ``skycall call status`` asks every process even when one is dead."""

import dataclasses
import json
import os
import shutil
import signal

import pytest
from robust_helpers import ROOT, peer_entries, read_json, skycall, wait_streaming, write_flowgraph

from skycall.call.inprocess import run_call_inprocess
from skycall.call.report import summarise
from skycall.cli import main
from skycall.config.flowgraph import load_flowgraph

SIDES = ("groundstation", "handset")


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """Both records of a short call that connected (in one process: same files as two processes)."""
    out = tmp_path_factory.mktemp("call") / "rec"
    flow = dataclasses.replace(load_flowgraph(ROOT / "flowgraphs" / "loopback_call.toml"), duration_s=2.0)
    summary = run_call_inprocess(flow, out)
    assert summary["call_connected"] and summary["failure_reason"] is None
    return out


def _run_dir(records, dst, statuses: dict, drop=(), ended=None, interrupted_by=None):
    """A copy of the records as ``skycall run`` would leave them: ``run.json`` with ``statuses``."""
    dst.mkdir()
    for side in SIDES:
        if side not in drop:
            for ext in (".npz", ".json"):
                shutil.copy(records / f"{side}{ext}", dst / f"{side}{ext}")
            if ended:
                meta = json.loads((dst / f"{side}.json").read_text())
                meta.update(ended=ended, planned_slots=600)
                (dst / f"{side}.json").write_text(json.dumps(meta))
    procs = {side: {"role": side, "status": status, "exit_code": code, "log": f"{side}.log"}
             for side, (status, code) in statuses.items()}  # fmt: skip
    (dst / "run.json").write_text(json.dumps({"processes": procs, "interrupted_by": interrupted_by}))
    return dst


def test_after_a_kill_9_the_survivors_record_is_reported(records, tmp_path, capsys):
    out = _run_dir(records, tmp_path / "r", {"groundstation": ("completed", 0), "handset": ("killed by SIGKILL", -9)},
                   drop=("handset",))  # fmt: skip
    summary = summarise(out)  # was: SkycallError, no summary at all
    assert summary["call_connected"] is None and summary["complete"] is False
    assert "handset: no record (killed by SIGKILL)" in summary["failure_reason"]
    gs = summary["sides"]["groundstation"]
    assert gs["record"] and gs["connected"] is True and gs["frames_ok"] > 0
    assert json.loads((out / "summary.json").read_text())["problems"]["handset"].startswith("handset: no record")
    assert main(["report", str(out)]) == 1
    assert "UNKNOWN" in capsys.readouterr().out


def test_an_interrupted_run_says_so(records, tmp_path):
    out = _run_dir(records, tmp_path / "r", {s: ("interrupted", 130) for s in SIDES}, ended="interrupted",
                   interrupted_by="SIGINT")  # fmt: skip
    assert main(["report", str(out)]) == 1
    summary = read_json(out / "summary.json")
    assert summary["call_connected"] and summary["complete"] is False  # what happened, and that it was cut short
    assert "groundstation interrupted after 2.0 s of 24.0 s" in summary["failure_reason"]  # was: null


def test_a_crashed_handset_is_not_a_clean_call(records, tmp_path, capsys):
    out = _run_dir(records, tmp_path / "r", {"groundstation": ("completed", 0), "handset": ("crashed (exit 1)", 1)})
    assert main(["report", str(out)]) == 1  # was: CONNECTED, exit 0
    assert "BUT THE RUN DID NOT END NORMALLY" in capsys.readouterr().out
    reason = read_json(out / "summary.json")["failure_reason"]
    assert reason.startswith("handset crashed (exit 1)") and "handset.log" in reason


def test_a_clean_call_still_reports_connected_and_exits_0(records, tmp_path, capsys):
    out = _run_dir(records, tmp_path / "r", {s: ("completed", 0) for s in SIDES})
    assert main(["report", str(out)]) == 0
    summary = read_json(out / "summary.json")
    assert summary["complete"] and summary["problems"] == {} and summary["failure_reason"] is None
    assert "call: CONNECTED (" in capsys.readouterr().out


def test_status_asks_every_process_and_run_json_says_how_each_ended(tmp_path, runs):
    flow = write_flowgraph(tmp_path, duration_s=60.0, realtime=True)
    out = tmp_path / "out"
    run = runs(flow, "--out", out, "--logs", *peer_entries("gs", "hs"))
    run.wait_running()
    wait_streaming(out)
    gs_pid = int(read_json(out / "endpoints.json")["gs"]["control"].rsplit(".", 1)[1])
    os.kill(gs_pid, signal.SIGKILL)
    res = skycall("call", "--run-dir", out, "--timeout-s", "2", "status")
    assert res.returncode == 1, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("gs: ERROR nobody answered") and lines[1].startswith('hs: {"ok": true')  # both asked
    run.proc.send_signal(signal.SIGINT)
    code, stdout, _ = run.finish()
    assert code == 130 and "gs: exit -9 (killed by SIGKILL)" in stdout
    procs = read_json(out / "run.json")["processes"]
    assert procs["gs"]["status"] == "killed by SIGKILL" and procs["hs"]["status"] == "interrupted"
