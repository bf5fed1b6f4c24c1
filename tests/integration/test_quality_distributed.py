"""The campaign on a Dask cluster: the same bytes as the local pool, a killed worker, resume after SIGTERM.

A tiny suite (2.5 s calls: a two-seed sweep, and a call whose site never sees the satellite) runs
through ``skycall quality`` on the local pool once; every other run must reproduce its
``results.json``, ``results.csv`` and ``report.html`` byte for byte: on a ``LocalCluster`` of 2
worker processes (``--cluster``), with one of them killed mid-call, and on the pool interrupted
then resumed. The slow test does the same with the real ``--quick`` suite.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skycall.quality.cli import DEFAULT_SUITE
from skycall.quality.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = ("results.json", "results.csv", "report.html")


def _suite(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(f"""
[[scenario]]
name = "tiny"
flowgraph = "{ROOT / 'flowgraphs' / 'loopback_call.toml'}"
handset_offset_km = 5.0
call_offsets_s = [-100.0]
duration_s = 2.5
hold_s = 1.0
[scenario.sweep]
seed = [1, 10]

[[scenario]]
name = "never-visible"
flowgraph = "{ROOT / 'flowgraphs' / 'loopback_call.toml'}"
tle = "{ROOT / 'groundstation' / 'data' / 'skycall-1.tle'}"
observer_lat_deg = 89.0
call_offsets_s = [0.0]
duration_s = 2.5
hold_s = 1.0
""")
    return path


def _quality(*args, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "skycall.cli", "quality", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, **kw)


def _finish(proc: subprocess.Popen, timeout_s: float = 300.0) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout_s)
    return proc.returncode, out, err


def _same_outputs(a: Path, b: Path) -> None:
    for name in OUTPUTS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def pool_run(tmp_path_factory):
    """The reference: the tiny suite on the local pool (2 processes)."""
    tmp = tmp_path_factory.mktemp("pool")
    suite = _suite(tmp)
    rc, out, err = _finish(_quality(suite, "--out", tmp / "q", "--jobs", 2))
    assert rc == 1, err  # the never-visible call fails
    doc = json.loads((tmp / "q" / "results.json").read_text())
    assert doc["complete"] and len(doc["calls"]) == 3
    (bad,) = [r for r in doc["calls"] if r["error"]]
    assert bad["call"] == "never-visible@+0s" and bad["error"].startswith("NoPassError: the satellite never rises")
    assert all(r["passed"] for r in doc["calls"] if r is not bad)
    return suite, tmp / "q"


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
            Client(c) as client:
        yield c, client


def test_cluster_reproduces_the_pool_bit_for_bit(pool_run, cluster, tmp_path):
    suite, reference = pool_run
    rc, out, err = _finish(_quality(suite, "--out", tmp_path / "q", "--cluster", cluster[0].scheduler_address))
    assert rc == 1 and "Dask scheduler tcp://" in err and "2 worker(s), 2 thread(s)" in err, err
    _same_outputs(reference, tmp_path / "q")
    timings = json.loads((tmp_path / "q" / "timings.json").read_text())
    assert len(timings) == 3 and all(t["wall_s"] > 0 for t in timings.values())


def _reruns(dask_scheduler=None) -> int:
    """How many times the scheduler found a campaign call on a worker that died."""
    prefix = dask_scheduler.task_prefixes.get("skycall-call")
    return prefix.suspicious if prefix is not None else 0


def test_a_killed_worker_costs_one_rerun(pool_run, cluster, tmp_path):
    """SIGKILL the worker running a call: that call runs again elsewhere, every call is scored once."""
    suite, reference = pool_run
    local_cluster, client = cluster
    reruns_before = client.run_on_scheduler(_reruns)
    proc = _quality(suite, "--out", tmp_path / "q", "--cluster", local_cluster.scheduler_address)
    victim = None
    deadline = time.monotonic() + 120.0
    while victim is None and time.monotonic() < deadline:
        busy = [addr for addr, keys in client.processing().items() if any("skycall-call" in str(k) for k in keys)]
        if busy:
            time.sleep(0.4)  # mid-call
            victim = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(victim, signal.SIGKILL)
        time.sleep(0.02)
    rc, out, err = _finish(proc)
    assert victim is not None and rc == 1, err
    assert client.run_on_scheduler(_reruns) == reruns_before + 1  # the killed worker's call, once
    _same_outputs(reference, tmp_path / "q")  # the re-run call's numbers are the same bits


def _rows(out: Path) -> list[dict]:
    try:
        return json.loads((out / "results.json").read_text())["calls"]
    except (OSError, ValueError):
        return []


def test_interrupted_campaign_resumes_with_only_the_missing_calls(pool_run, tmp_path):
    """SIGTERM after the first call, the same command again: only the others run; then a changed scenario: its call.

    (One local worker: the calls finish in campaign order, so the interruption always leaves some to do.)
    """
    suite, reference = pool_run
    out = tmp_path / "q"
    command = (suite, "--out", out, "--jobs", 1)
    proc = _quality(*command)
    deadline = time.monotonic() + 120.0
    while not _rows(out) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    rc, _, err = _finish(proc, 60.0)
    doc = json.loads((out / "results.json").read_text())
    done = {r["call"]: (out / r["dir"] / "summary.json").stat() for r in doc["calls"]}
    assert rc == 130 and not doc["complete"] and 1 <= len(done) < 3, err
    assert "run the same command again" in err

    rc, _, err = _finish(_quality(*command))
    assert rc == 1 and f"{len(done)} already done" in err and f"{3 - len(done)} to run" in err, err
    assert sorted(_ran(err)) == sorted(set(r["call"] for r in _rows(reference)) - set(done))  # only the missing
    for name, before in done.items():  # the finished calls' outputs were not touched
        (row,) = [r for r in _rows(out) if r["call"] == name]
        after = (out / row["dir"] / "summary.json").stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    _same_outputs(reference, out)

    changed = tmp_path / "changed.toml"
    changed.write_text(suite.read_text().replace("observer_lat_deg = 89.0", "observer_lat_deg = 88.0"))
    rc, _, err = _finish(_quality(changed, *command[1:]))
    assert rc == 1 and "2 already done" in err and _ran(err) == ["never-visible@+0s"], err
    assert "(88, " in _rows(out)[-1]["error"]


def _ran(progress: str) -> list[str]:
    """The calls a campaign ran, from its progress lines."""
    return [line.rsplit("  ", 1)[1].split(":")[0] for line in progress.splitlines() if " ETA " in line]


@pytest.mark.slow
def test_quick_suite_cluster_matches_pool(cluster, tmp_path):
    """Done-when: the real --quick suite on a 2-worker LocalCluster and on the pool: identical bytes."""
    rc1, _, err1 = _finish(_quality("--quick", "--out", tmp_path / "pool", "--jobs", 2), 900.0)
    rc2, _, err2 = _finish(_quality("--quick", "--out", tmp_path / "dask", "--cluster", cluster[0].scheduler_address),
                           900.0)
    assert rc1 == rc2 == 0, err1 + err2
    assert len(_rows(tmp_path / "pool")) == sum(sc.quick for sc in load_scenario(DEFAULT_SUITE).scenario)  # one each
    _same_outputs(tmp_path / "pool", tmp_path / "dask")
