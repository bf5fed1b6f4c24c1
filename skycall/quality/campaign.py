"""Run a campaign: every call of every scenario, in parallel across cores, then judge each one.

A call's row has the summary's numbers flattened (``dl_pesq_nb``, ``ul_fer``, ...) plus the
scenario, the call offset in the pass, the elevation, pass/fail and the reasons for a fail.
"""

import math
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from skycall.quality.scenario import CallSpec, Thresholds


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


def run_one(call: CallSpec, out_dir: str) -> dict:
    """One call in this (worker) process → its result row."""
    from skycall.call.inprocess import run_call_inprocess

    t0 = time.monotonic()
    call_dir = Path(out_dir) / "calls" / _safe(call.flow.name)
    summary = run_call_inprocess(call.flow, call_dir)
    reasons = judge(call.scenario.thresholds, summary)
    sc = summary["scenario"]
    row = {
        "scenario": call.scenario.name,
        "call": call.flow.name,
        "call_offset_s": call.call_offset_s,
        "speech": call.speech_path or "espeak-ng",
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
        "dir": str(call_dir),
        "wall_s": time.monotonic() - t0,
    }
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = round(width * done / total) if total else width
    return "[" + "#" * filled + "." * (width - filled) + f"] {done}/{total}"


def run_campaign(calls: list[CallSpec], out_dir: str | Path, jobs: int | None = None) -> list[dict]:
    """Run ``calls`` on ``jobs`` worker processes (default: all cores) with a progress bar on stderr."""
    from skycall.call.build import load_call_speech

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for call in calls:  # build the shared espeak speech once, before the workers race for it
        load_call_speech(call.flow, out / "calls" / "speech")
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(calls)))
    rows: list[dict] = []
    t0 = time.monotonic()
    print(f"{_bar(0, len(calls))} calls on {jobs} worker(s)", file=sys.stderr, flush=True)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(run_one, call, str(out)): call for call in calls}
        for fut in as_completed(futures):
            row = fut.result()
            rows.append(row)
            verdict = "PASS" if row["passed"] else f"FAIL ({row['fail_reasons']})"
            print(f"{_bar(len(rows), len(calls))} {time.monotonic() - t0:6.1f} s  {row['call']}: {verdict}",
                  file=sys.stderr, flush=True)
    order = {c.flow.name: i for i, c in enumerate(calls)}
    return sorted(rows, key=lambda r: order[r["call"]])
