"""Run a campaign: every call of every scenario as a task on an executor, judged as it finishes.

A call's row has the summary's numbers flattened (``dl_pesq_nb``, ``ul_fer``, ...) plus the
scenario, the call offset in the pass, the elevation, pass/fail and the reasons for a fail. A call
that raises is a failed row whose ``error`` is its traceback line (``Type: message (file.py:line in
func)``, the whole traceback in ``calls/NAME/error.txt``); the campaign goes on. The calls run on a
local pool or a Dask cluster (:mod:`skycall.quality.executors`), each in a private temporary
directory whose outputs come back as bytes, so rows, ``results.json``, ``results.csv`` and the
report are the same whichever executor ran them. Rows are stored as they arrive
(:mod:`skycall.quality.store`); on Ctrl-C the rows so far are written, the workers stop, and the
same command run again runs only the missing calls.
"""

import math
import os
import re
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skycall.call.build import Speech
from skycall.errors import ConfigError, SkycallError
from skycall.quality.executors import Job, error_line
from skycall.quality.scenario import CallSpec, Thresholds
from skycall.quality.store import ResultStore
from skycall.quality.task import CallTask, code_fingerprint, make_tasks, materialise

#: one call at a time per worker process (a Dask worker may run several threads; pyplot is not thread-safe)
_ONE_CALL = threading.Lock()


def judge(th: Thresholds, summary: dict) -> list[str]:
    """Reasons this call fails its thresholds (empty: it passes)."""
    reasons = []
    connected = bool(summary.get("call_connected"))
    if th.statistical and not connected:
        return reasons
    if th.expect_held is not None:
        held = bool(summary.get("call_held"))
        if held != th.expect_held:
            return [f"call {'held' if held else 'not held'}, expected {'held' if th.expect_held else 'not held'}"
                    + (f": {summary['not_held_reason']}" if summary.get("not_held_reason") else "")]
        if not held:
            return reasons
    elif connected != th.expect_connected:
        why = summary.get("failure_reason") or ""
        reasons.append(f"call {'connected' if connected else 'did not connect'}, expected "
                       f"{'connected' if th.expect_connected else 'no connection'} {why}".strip())
        return reasons
    if not connected:
        return reasons
    for d in ("dl", "ul"):
        r = summary.get(d)
        if not r:
            continue
        pesq, ceiling = r.get("pesq_nb"), r.get("codec_ceiling_pesq_nb")
        if th.min_pesq_nb is not None and not (pesq is not None and pesq >= th.min_pesq_nb):
            reasons.append(f"{d} PESQ-NB {pesq} < {th.min_pesq_nb}")
        if th.max_pesq_drop is not None and not (pesq is not None and ceiling - pesq <= th.max_pesq_drop):
            reasons.append(f"{d} PESQ-NB {pesq} more than {th.max_pesq_drop} below the codec's {ceiling}")
        if th.max_fer is not None and not (r.get("fer") is not None and r["fer"] <= th.max_fer):
            reasons.append(f"{d} FER {r.get('fer')} > {th.max_fer}")
    m2e = summary.get("mouth_to_ear_ms")
    if th.max_mouth_to_ear_ms is not None and not (m2e is not None and m2e <= th.max_mouth_to_ear_ms):
        reasons.append(f"mouth-to-ear {m2e} ms > {th.max_mouth_to_ear_ms} ms")
    setup = summary.get("setup_time_s")
    if th.max_setup_time_s is not None and not (setup is not None and setup <= th.max_setup_time_s):
        reasons.append(f"set-up time {setup} s > {th.max_setup_time_s} s")
    return reasons


def flatten(summary: dict) -> dict:
    """``{"dl": {"fer": x}}`` → ``{"dl_fer": x}`` (scenario block left out)."""
    row = {}
    for key, value in summary.items():
        if key == "scenario":
            continue
        if isinstance(value, dict):
            row.update({f"{key}_{k}": v for k, v in value.items()})
        else:
            row[key] = value
    return row


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name)


def call_dir(call: CallSpec) -> str:
    """Where a call's outputs go, relative to the campaign's output directory."""
    return f"calls/{_safe(call.flow.name)}"


def _head(call: CallSpec) -> dict:
    """The columns every row starts with (also a failed call's)."""
    return {
        "scenario": call.scenario.name,
        "call": call.flow.name,
        "call_offset_s": call.call_offset_s,
        "speech": call.speech_path or "espeak-ng",
        **{f"sweep_{k}": v for k, v in call.scenario.sweep_point},
    }


def run_one(call: CallSpec, out_dir: str | Path, speech: Speech | None = None) -> dict:
    """One call in this (worker) process, outputs under ``out_dir`` → its result row."""
    from skycall.call.inprocess import run_call_inprocess

    summary = run_call_inprocess(call.flow, Path(out_dir) / call_dir(call), speech)
    reasons = judge(call.scenario.thresholds, summary)
    sc = summary["scenario"]
    row = {
        **_head(call),
        "elevation_deg": float(np.mean(sc["elevation_deg"])),
        "esn0_db_min": sc["esn0_db_min"],
        "doppler_hz": float(np.mean(sc["doppler_hz"])),
        "residual_doppler_hz": float(np.mean(sc["residual_doppler_hz"])) if sc["precompensation"] else
        float(np.mean(sc["doppler_hz"])),
        "precompensation": sc["precompensation"],
        "receiver_profile": sc["receiver_profile"],
        "sinr_db_min": (summary.get("link") or {}).get("sinr_db_min"),
        "fading": sc.get("fading"),
        "interference": sc.get("interference"),
        "call_held": summary.get("call_held"),
        "tcxo_ppm": sc.get("tcxo_ppm"),
        "vocoder": sc["vocoder"],
        **flatten(summary),
        "passed": not reasons,
        "fail_reasons": "; ".join(reasons),
        "error": None,
        "dir": call_dir(call),
    }
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


def failed_row(call: CallSpec, error: str) -> dict:
    """The row of a call that has no result: it raised, or its worker died twice."""
    return {**_head(call), "passed": False, "fail_reasons": f"error: {error}", "error": error, "dir": call_dir(call)}


@dataclass(frozen=True)
class CallResult:
    """What a worker returns: the row, the call's outputs (relative name → bytes), where and how long."""

    row: dict
    files: dict[str, bytes]
    wall_s: float | None
    worker: str


def execute(task: CallTask, speech: Speech) -> CallResult:
    """Worker side: run the task's call in a private temporary directory; any error becomes a failed row."""
    t0 = time.monotonic()
    with _ONE_CALL, tempfile.TemporaryDirectory(prefix="skycall-call-") as tmp:
        outputs = Path(tmp) / call_dir(task.call)
        try:
            if task.code != code_fingerprint():
                raise SkycallError(f"this worker runs other skycall code (sources {code_fingerprint()[:12]}) than the "
                                   f"client ({task.code[:12]}): install the client's version in the worker's venv")
            row = run_one(materialise(task, Path(tmp)), tmp, speech)
        except Exception as exc:
            row = failed_row(task.call, error_line(exc))
            outputs.mkdir(parents=True, exist_ok=True)
            (outputs / "error.txt").write_text(traceback.format_exc())
        files = {p.relative_to(outputs).as_posix(): p.read_bytes() for p in sorted(outputs.rglob("*")) if p.is_file()}
    return CallResult({**row, "key": task.key}, files, time.monotonic() - t0, f"{socket.gethostname()}:{os.getpid()}")


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = round(width * done / total) if total else width
    return "[" + "#" * filled + "." * (width - filled) + f"] {done}/{total}"


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Progress:
    """``[####....] done/total  elapsed  ETA  call: verdict`` on stderr, one line per finished call."""

    def __init__(self, total: int, done: int):
        self.total, self.done, self._resumed, self._t0 = total, done, done, time.monotonic()

    def update(self, row: dict) -> None:
        self.done += 1
        elapsed = time.monotonic() - self._t0
        eta = elapsed / (self.done - self._resumed) * (self.total - self.done)
        verdict = "PASS" if row["passed"] else f"{'ERROR' if row.get('error') else 'FAIL'} ({row['fail_reasons']})"
        print(f"{_bar(self.done, self.total)} {_hms(elapsed)} ETA {_hms(eta)}  {row['call']}: {verdict}",
              file=sys.stderr, flush=True)


def run_campaign(calls: list[CallSpec], out_dir: str | Path, executor, fresh: bool = False) -> list[dict]:
    """Run the ``calls`` not already done in ``out_dir`` on ``executor``; return every call's row."""
    dirs = Counter(call_dir(c) for c in calls)
    if max(dirs.values(), default=1) > 1:
        clash = next(d for d, n in dirs.items() if n > 1)
        raise ConfigError("<campaign>", "scenario", f"several calls are named like {clash!r}: scenario names must "
                                                    "be unique across the suites of one campaign")
    out = Path(out_dir)
    tasks, speeches = make_tasks(calls, out / "calls" / "speech")
    with ResultStore(out, [(t.key, call_dir(t.call)) for t in tasks], fresh) as store:
        todo = [Job(t.key, t, t.speech, t.call.flow.name) for t in tasks if t.key not in store]
        progress = Progress(len(tasks), len(store))
        print(f"{_bar(len(store), len(tasks))} calls: {len(store)} already done in {out}, {len(todo)} to run on "
              f"{executor.describe()}", file=sys.stderr, flush=True)
        try:
            for outcome in executor.run(execute, todo, speeches):
                result = outcome.value
                if outcome.error is not None:
                    task = outcome.job.payload
                    row = {**failed_row(task.call, outcome.error), "key": task.key}
                    result = CallResult(row, {"error.txt": outcome.error.encode() + b"\n"}, None, "")
                store.add(result.row, result.files, {"wall_s": result.wall_s, "worker": result.worker})
                progress.update(result.row)
        except BaseException as exc:  # Ctrl-C, SIGTERM, a lost scheduler: keep every finished row
            store.flush()
            what = "interrupted" if isinstance(exc, KeyboardInterrupt) else "stopped"  # the error itself follows
            print(f"\n{what}: stopping the workers; {len(store)} of {len(tasks)} calls are in "
                  f"{out / 'results.json'}; run the same command again to run the {len(tasks) - len(store)} "
                  "missing", file=sys.stderr, flush=True)
            raise
        store.flush()
        if not store.complete:
            raise SkycallError(f"the executor returned {len(store)} of {len(tasks)} calls")
        return store.rows
