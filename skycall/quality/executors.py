"""Where a campaign's calls run: a local pool of worker processes, or a Dask distributed cluster.

Both run ``fn(job.payload, shared[job.shared])`` for every :class:`Job` and yield one
:class:`Outcome` per job, in completion order: its ``value``, or an ``error`` line when ``fn``
raised (``Type: message (file.py:line in func)``, never retried) or when the worker running it died
twice (a job on a lost worker is re-run once, on another or a fresh worker). Used as a context
manager; leaving it on an exception (Ctrl-C) stops the local workers / cancels the cluster's tasks.

* :class:`LocalPool`: ``jobs`` spawned processes, each fed one job at a time through its own pipe,
  so a dead process names exactly the job it was running (``ProcessPoolExecutor`` instead fails
  every pending future with ``BrokenProcessPool``, and cannot stop running workers before Python
  3.14). Workers ignore SIGINT: Ctrl-C is the client's, which kills them, then removes the pool's
  temporary directory (the workers' ``tempfile`` root) with whatever the stopped jobs left there.
* :class:`DaskCluster`: one ``client.submit`` per job, carrying its payload and shared value (no
  task depends on another: a scattered or shared-task value would fail every call after two
  unlucky losses of the workers holding it). As many tasks are in flight as the cluster has
  threads, so each runs on a thread of its own as soon as it is submitted (a call merely queued
  behind another on a dying worker would count as lost too), and the scheduler holds a bounded
  amount of speech whatever the campaign's size. For the campaign the scheduler's
  ``allowed-failures`` is 1 (a task on a lost worker is re-run once, then fails with
  ``KilledWorker``); it is restored at the end.
"""

import shutil
import signal
import sys
import tempfile
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from skycall.errors import MissingDependency, SkycallError

#: a task on a lost worker is re-run this many times, then reported as failed
ALLOWED_FAILURES = 1


@dataclass(frozen=True)
class Job:
    """One unit of work: ``key`` identifies it, ``shared`` names a value many jobs use (or None)."""

    key: str
    payload: Any
    shared: str | None = None
    name: str = ""  # for people (messages); the key when empty


@dataclass(frozen=True)
class Outcome:
    """A finished job: ``value`` when ``error`` is None."""

    job: Job
    value: Any = None
    error: str | None = None


def error_line(exc: BaseException) -> str:
    """``Type: message (file.py:123 in func)``: the exception and the innermost frame it came from."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    return f"{type(exc).__name__}: {str(exc).strip()}{where}".replace("\n", "; ")


def _serve(conn, tmp_dir: str) -> None:
    """A pool worker: run ``(fn, payload, shared)`` messages until ``None`` or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tempfile.tempdir = tmp_dir  # the pool's: removed with whatever a killed job leaves there
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        fn, payload, shared = msg
        try:
            reply = (True, fn(payload, shared))
        except Exception as exc:
            reply = (False, error_line(exc))
        try:
            conn.send(reply)
        except (BrokenPipeError, EOFError):
            return
        except Exception as exc:  # an unpicklable value
            conn.send((False, error_line(exc)))


class _Worker:
    def __init__(self, ctx, tmp_dir: str):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, tmp_dir), daemon=True, name="skycall-campaign-worker")
        self.proc.start()
        child.close()

    def exit_text(self) -> str:
        self.proc.join(1.0)
        code = self.proc.exitcode
        return f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"

    def stop(self, kill: bool) -> None:
        if not kill and self.proc.is_alive():
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.proc.join(5.0)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


class LocalPool:
    """``jobs`` worker processes on this machine (spawned: fresh interpreters, like remote workers)."""

    def __init__(self, jobs: int):
        if jobs < 1:
            raise ValueError(f"jobs={jobs} must be >= 1")
        self.jobs = jobs
        self._ctx = get_context("spawn")
        self._workers: list[_Worker] = []
        self._tmp_dir: str | None = None

    def describe(self) -> str:
        return f"{self.jobs} local worker process(es)"

    def __enter__(self) -> "LocalPool":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(kill=exc_type is not None)

    def close(self, kill: bool = True) -> None:
        """Stop every worker (``kill``: at once, even mid-call; else after its current job)."""
        for worker in self._workers:
            worker.stop(kill)
        self._workers.clear()
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            self._tmp_dir = None

    def run(self, fn: Callable, jobs: Iterable[Job], shared: dict[str, Any]) -> Iterator[Outcome]:
        queue, busy, idle, lost = deque(jobs), {}, [], set()
        while queue or busy:
            while queue and len(busy) < self.jobs:
                worker = idle.pop() if idle else self._spawn()
                job = queue.popleft()
                try:
                    worker.conn.send((fn, job.payload, shared.get(job.shared)))
                except OSError:  # died while idle: the job never started
                    queue.appendleft(job)
                    self._drop(worker)
                    continue
                busy[worker] = job
            wait([w.conn for w in busy] + [w.proc.sentinel for w in busy])
            for worker, job in list(busy.items()):
                reply = None
                if worker.conn.poll():
                    try:
                        reply = worker.conn.recv()
                    except (EOFError, OSError):
                        pass
                elif worker.proc.is_alive():
                    continue
                del busy[worker]
                if reply is not None:
                    idle.append(worker)
                    ok, value = reply
                    yield Outcome(job, value=value) if ok else Outcome(job, error=value)
                    continue
                why = worker.exit_text()
                self._drop(worker)
                if job.key in lost:
                    yield Outcome(job, error=f"the worker process running it died twice (last: {why})")
                else:
                    lost.add(job.key)
                    print(f"worker process died ({why}) running {job.name or job.key}: re-running it once",
                          file=sys.stderr)
                    queue.appendleft(job)

    def _spawn(self) -> _Worker:
        if self._tmp_dir is None:
            self._tmp_dir = tempfile.mkdtemp(prefix="skycall-pool-")
        worker = _Worker(self._ctx, self._tmp_dir)
        self._workers.append(worker)
        return worker

    def _drop(self, worker: _Worker) -> None:
        worker.stop(kill=True)
        self._workers.remove(worker)


def _allow_failures(n: int, dask_scheduler=None) -> int:
    """Set the scheduler's allowed-failures; return the previous value."""
    old = dask_scheduler.allowed_failures
    dask_scheduler.allowed_failures = n
    return old


class DaskCluster:
    """Calls as tasks of a running Dask scheduler (``--cluster tcp://HOST:PORT`` or ``--scheduler-file``)."""

    def __init__(self, address: str | None = None, scheduler_file: str | None = None, timeout_s: float = 10.0):
        try:
            from distributed import Client
        except ImportError as err:
            raise MissingDependency("package 'distributed' is missing: rerun scripts/bootstrap.sh "
                                    "(or pip install 'dask[distributed]==2026.8.0')") from err
        if scheduler_file and not Path(scheduler_file).exists():
            raise SkycallError(f"scheduler file {scheduler_file} does not exist: start the scheduler with "
                               f"`dask scheduler --scheduler-file {scheduler_file}` first")
        where = address or scheduler_file
        try:
            self.client = Client(address, scheduler_file=scheduler_file, timeout=f"{timeout_s}s",
                                 set_as_default=False)
        except Exception as err:
            raise SkycallError(f"cannot reach the Dask scheduler at {where} ({error_line(err)}): start one with "
                               "`dask scheduler` and workers with `dask worker tcp://HOST:PORT` "
                               "(docs/campaigns.md)") from None
        self._futures: dict = {}
        self._restore: int | None = None
        try:
            old = self.client.run_on_scheduler(_allow_failures, ALLOWED_FAILURES)
        except Exception as err:
            print(f"note: cannot set the scheduler's allowed-failures ({error_line(err)}); start it with "
                  f"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES={ALLOWED_FAILURES}", file=sys.stderr)
        else:
            if old != ALLOWED_FAILURES:
                self._restore = old
                print(f"scheduler allowed-failures {old} -> {ALLOWED_FAILURES} for this campaign (a call on a lost "
                      "worker is re-run once; restored at the end)", file=sys.stderr)

    def describe(self) -> str:
        threads = self.client.nthreads()
        try:
            dashboard = self.client.dashboard_link
        except KeyError:  # a scheduler started with --no-dashboard
            dashboard = None
        text = (f"Dask scheduler {self.client.scheduler.address}: {len(threads)} worker(s), "
                f"{sum(threads.values())} thread(s); dashboard {dashboard or 'none'}")
        multi = sorted(addr for addr, n in threads.items() if n > 1)
        if multi:
            text += (f"\nnote: {len(multi)} worker(s) have several threads ({multi[0]}, ...): a call is not "
                     "thread-safe, so each runs its calls one at a time; start workers with "
                     "`dask worker ADDRESS --nworkers N --nthreads 1`")
        if not threads:
            text += "\nnote: no worker yet; calls wait until `dask worker ADDRESS` joins"
        return text

    def __enter__(self) -> "DaskCluster":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def close(self) -> None:
        """Cancel this campaign's tasks (running ones finish on their workers), restore the scheduler."""
        try:
            if self._futures:
                self.client.cancel(list(self._futures), force=True)
            if self._restore is not None:
                self.client.run_on_scheduler(_allow_failures, self._restore)
        except OSError:  # the scheduler is gone: nothing to cancel or restore
            pass
        finally:
            self._futures.clear()
            self.client.close()

    def run(self, fn: Callable, jobs: Iterable[Job], shared: dict[str, Any]) -> Iterator[Outcome]:
        from distributed import as_completed

        run_id, pending = uuid.uuid4().hex[:8], deque(jobs)
        done = as_completed(loop=self.client.loop)

        def top_up() -> None:
            try:
                window = max(1, sum(self.client.nthreads().values()))
                while pending and len(self._futures) < window:
                    job = pending.popleft()
                    fut = self.client.submit(fn, job.payload, shared.get(job.shared),
                                             key=f"skycall-call-{run_id}-{job.key}", retries=0)
                    self._futures[fut] = job
                    done.add(fut)
            except OSError as err:
                raise self._lost(err) from None

        top_up()
        for fut in done:
            job = self._futures.pop(fut)
            top_up()  # the freed thread's next call starts while this result is stored
            try:
                outcome = Outcome(job, value=fut.result())
            except Exception as exc:
                outcome = Outcome(job, error=self._why(fut, exc))
            fut.release()
            yield outcome

    def _lost(self, err: OSError) -> SkycallError:
        return SkycallError(f"lost the Dask scheduler {self.client.scheduler.address} ({error_line(err)}); run the "
                            "same command again when it is back")

    @staticmethod
    def _why(fut, exc: BaseException) -> str:
        from distributed import KilledWorker

        if isinstance(exc, KilledWorker):
            return (f"the worker running it died {exc.allowed_failures + 1} times "
                    f"(last: {exc.last_worker.address}; distributed.KilledWorker)")
        if fut.status == "cancelled":
            return "the cluster cancelled it (the scheduler restarted or the client lost its connection)"
        return error_line(exc)
