#!/usr/bin/env python3
"""Campaign executors on this machine: Dask's per-task overhead against the local pool, and scaling.

* ``overhead``: jobs that carry a real call's task and speech and return a real call's worth of
  output bytes, but do no work, on the local pool and on a Dask ``LocalCluster`` (1 worker process,
  1 thread each), rounds interleaved, best round kept; Dask's extra time per task is compared with
  the wall time of a real call of the same suite, measured in the same run on the pool.
* ``scaling``: the same real calls (``--calls`` offsets of the quick suite's overhead pass) on a
  ``LocalCluster`` of 1 and on one of 2 worker processes (workers warmed up first), rounds
  interleaved, best round kept: calls per minute and the ratio. Other load on the machine shows in
  it: the load average is printed with every round.

Usage: ``scripts/campaign_bench.py [--only overhead|scaling] [--calls N] [--jobs M] [--rounds R]``.
"""

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "scenarios" / "default.toml"


def _null(payload, shared):
    """A job with a real job's transfer sizes and no work: the bytes of a call's outputs come back."""
    task, n_bytes = payload
    return {"key": task.key, "files": {"outputs": bytes(n_bytes)}}


def _calls(n: int):
    from skycall.quality.scenario import expand, load_scenario

    (sc,) = [s for s in load_scenario(SUITE).scenario if s.name == "overhead-centre-opus"]
    return expand(sc)[:n]


def _cluster(workers: int):
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)


def _time_jobs(executor, jobs, shared) -> float:
    t0 = time.perf_counter()
    n = sum(1 for o in executor.run(_null, jobs, shared) if o.error is None)
    assert n == len(jobs)
    return time.perf_counter() - t0


def overhead(n_jobs: int, rounds: int) -> None:
    from skycall.quality.campaign import run_campaign
    from skycall.quality.executors import DaskCluster, Job, LocalPool
    from skycall.quality.task import make_tasks

    calls = _calls(2)
    with tempfile.TemporaryDirectory() as tmp:
        with LocalPool(1) as pool:
            t0 = time.perf_counter()
            rows = run_campaign(calls[:1], Path(tmp) / "warm", pool)  # imports, numba caches
            warm_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            run_campaign(calls[1:], Path(tmp) / "call", pool)
            call_s = time.perf_counter() - t0
        out_bytes = sum(p.stat().st_size for p in (Path(tmp) / "warm" / rows[0]["dir"]).iterdir())
        tasks, speeches = make_tasks(calls[:1], Path(tmp) / "speech")
    jobs = [Job(f"j{i}", (dataclasses.replace(tasks[0], key=f"j{i}"), out_bytes), tasks[0].speech)
            for i in range(n_jobs)]
    best = {"pool": float("inf"), "dask": float("inf")}
    with _cluster(1) as cluster, DaskCluster(cluster.scheduler_address) as dask, LocalPool(1) as pool:
        executors = {"pool": pool, "dask": dask}
        for ex in executors.values():
            _time_jobs(ex, jobs[:3], speeches)  # warm-up
        for _ in range(rounds):
            for name, ex in executors.items():
                best[name] = min(best[name], _time_jobs(ex, jobs, speeches) / n_jobs)
    extra = best["dask"] - best["pool"]
    print(f"overhead: a call moves {sum(s.dl.nbytes + s.ul.nbytes for s in speeches.values()) / 1e3:.0f} kB of "
          f"speech out and {out_bytes / 1e6:.2f} MB of outputs back")
    print(f"overhead: per task (best of {rounds} rounds of {n_jobs}): pool {best['pool'] * 1e3:.1f} ms, "
          f"Dask {best['dask'] * 1e3:.1f} ms; Dask's extra {extra * 1e3:.1f} ms = {100 * extra / call_s:.2f} % "
          f"of a call's {call_s:.1f} s (first call with imports: {warm_s:.1f} s)")


def scaling(n_calls: int, rounds: int) -> None:
    from skycall.quality.campaign import run_campaign
    from skycall.quality.executors import DaskCluster

    calls = _calls(n_calls)
    best = {1: 0.0, 2: 0.0}
    with tempfile.TemporaryDirectory() as tmp, _cluster(1) as c1, _cluster(2) as c2, \
            DaskCluster(c1.scheduler_address) as d1, DaskCluster(c2.scheduler_address) as d2:
        clusters = {1: d1, 2: d2}
        for workers, dask in clusters.items():
            run_campaign(calls[:workers], Path(tmp) / f"warm{workers}", dask)  # every worker imports first
        for r in range(rounds):  # interleaved: the other helpers' load hits both alike
            for workers, dask in clusters.items():
                t0 = time.perf_counter()
                run_campaign(calls, Path(tmp) / f"r{r}w{workers}", dask)
                rate = len(calls) / (time.perf_counter() - t0) * 60.0
                best[workers] = max(best[workers], rate)
                print(f"scaling: round {r}, {workers} worker(s): {rate:.2f} calls/min (load average "
                      f"{os.getloadavg()[0]:.2f})", flush=True)
    print(f"scaling: best of {rounds}: 1 worker {best[1]:.2f}, 2 workers {best[2]:.2f} calls/min: "
          f"{best[2] / best[1]:.2f}x on {os.cpu_count()} cores")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("overhead", "scaling"))
    parser.add_argument("--calls", type=int, default=4, help="real calls per scaling run")
    parser.add_argument("--jobs", type=int, default=40, help="jobs per overhead round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each measurement (best kept)")
    args = parser.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    if args.only in (None, "overhead"):
        overhead(args.jobs, args.rounds)
    if args.only in (None, "scaling"):
        scaling(args.calls, args.rounds)
    return 0


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    sys.exit(main())
