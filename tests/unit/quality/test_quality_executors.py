"""Executors: every job once; an error is a line, a lost worker's job re-runs once; Ctrl-C stops the workers.

The same job mix runs on the local pool and on a Dask ``LocalCluster`` of 2 worker processes. The job
function is this module's :func:`_work` (spawned workers import it by name).
"""

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from skycall.quality.executors import ALLOWED_FAILURES, DaskCluster, Job, LocalPool


def _work(payload, shared):
    kind, arg = payload
    if kind == "square":
        return arg * arg + shared
    if kind == "raise":
        raise ValueError(f"bad input {arg}")
    if kind == "die_once":  # the first attempt dies with its worker, the re-run succeeds
        marker = Path(arg)
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return int(marker.read_text()), os.getpid()
    if kind == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "sleep":
        time.sleep(arg)
        return arg
    raise AssertionError(kind)


def _run_mix(executor, tmp_path) -> dict:
    """Squares, a job that raises and one whose first worker dies; then alone, one that always kills its worker.

    (Alone: a job waiting on a worker when it dies counts that death too, so the killer runs by itself.)
    """
    jobs = [Job(f"sq{i}", ("square", i), "offset") for i in range(5)]
    jobs += [Job("raise", ("raise", 7)), Job("die_once", ("die_once", str(tmp_path / "marker")))]
    outcomes = list(executor.run(_work, jobs, {"offset": 100}))
    outcomes += list(executor.run(_work, [Job("die", ("die", 0))], {}))
    by_key = {o.job.key: o for o in outcomes}
    assert len(outcomes) == len(by_key) == 8  # every job exactly once
    assert {k: by_key[k].value for k in by_key if k.startswith("sq")} == {f"sq{i}": i * i + 100 for i in range(5)}
    assert all(by_key[k].error is None for k in by_key if k.startswith("sq"))
    err = by_key["raise"].error
    assert err.startswith("ValueError: bad input 7 (test_quality_executors.py:") and err.endswith("in _work)")
    first_pid, rerun_pid = by_key["die_once"].value
    assert by_key["die_once"].error is None and first_pid != rerun_pid  # re-run once, in another process
    assert by_key["die"].value is None
    return by_key


def test_local_pool(tmp_path):
    with LocalPool(2) as pool:
        error = _run_mix(pool, tmp_path)["die"].error
    assert error == "the worker process running it died twice (last: killed by SIGKILL)"


@pytest.fixture(scope="module")
def local_cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster


def test_dask_cluster(tmp_path, local_cluster):
    scheduler = local_cluster.scheduler
    before = scheduler.allowed_failures
    with DaskCluster(local_cluster.scheduler_address) as dask:
        assert scheduler.allowed_failures == ALLOWED_FAILURES
        assert "2 worker(s), 2 thread(s)" in dask.describe()
        error = _run_mix(dask, tmp_path)["die"].error
    assert error.startswith("the worker running it died 2 times (last: tcp://") and "KilledWorker" in error
    assert scheduler.allowed_failures == before  # restored for the scheduler's other users


def test_unreachable_scheduler_is_one_clear_error(tmp_path):
    from skycall.errors import SkycallError

    with pytest.raises(SkycallError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        DaskCluster("tcp://127.0.0.1:9", timeout_s=1.0)
    with pytest.raises(SkycallError, match="dask scheduler --scheduler-file"):
        DaskCluster(scheduler_file=str(tmp_path / "missing.json"))


def _workers(proc: psutil.Process) -> list[psutil.Process]:
    """The live spawned worker processes under ``proc`` (not multiprocessing's resource tracker)."""
    found = []
    for p in proc.children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(p.cmdline()):
                found.append(p)
        except psutil.NoSuchProcess:
            pass
    return found


def test_interrupt_stops_local_workers_mid_job():
    me, busy = psutil.Process(), []
    others = {p.pid for p in _workers(me)}  # e.g. the LocalCluster's

    def ctrl_c():  # while both workers are mid-job
        busy.extend(p for p in _workers(me) if p.pid not in others)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with LocalPool(2) as pool:
            threading.Timer(3.0, ctrl_c).start()
            list(pool.run(_work, [Job(f"s{i}", ("sleep", 60.0)) for i in range(4)], {}))
    assert time.monotonic() - t0 < 10.0
    assert len(busy) == 2 and not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE
                                                           for p in busy)
