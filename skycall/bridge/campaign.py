"""``skycall interop``: the envelope of the unmodified srsRAN stack, then a pass with compensation on and off.

1. **Sweeps** (``channel = "static"``: no pass, one impairment at a time, everything else ideal): a
   constant DL offset, a DL Doppler rate (a triangle wave of ±``RATE_SPAN_HZ`` whose slope is the rate, so
   the offset itself stays small), a constant UL offset at the eNodeB, a one-way delay added each way
   (with the install's PRACH configuration, and again with one for a large cell).
   Each point is one run that ends at the first completed random access or after ``point_s`` of stream
   time. Two envelopes per sweep, each its largest value reached through passing points only (from 0 up):
   *sync* (srsUE found the cell and decoded SIB1: its PLMN) and *access* (it also completed random access).
   A DL offset δ reaches the eNodeB's PRACH receiver as δ·f_UL/f_DL (srsUE locks its uplink to the DL it
   receives), so the DL access envelope is the UL one seen through the UE.
2. **Pass**: the base flowgraph's pass over ``pass_s`` of stream time centred on the culmination, in
   windows of a minute (a UE switched on at the start of each), with beam-centre compensation on and off, at
   the beam centre and at the cell edge (``EDGE_KM`` from the centre, across the track): when along the
   pass the stack finds the cell and completes random access.

Outputs in ``OUT``: one run directory per point (``skycall report`` works on each), ``results.json``,
and a self-contained ``report.html`` (tables and plots).
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

from skycall.bridge.runner import SrsranRun, absolute_paths, flowgraph_toml
from skycall.bridge.summary import write_summary
from skycall.config.flowgraph import Flowgraph
from skycall.fileio import atomic_write

RATE_SPAN_HZ = 200.0  # the ramp's offset stays where random access is reliable (< 250 Hz at the eNodeB)
EDGE_KM = 30.0
EDGE_BEARING_DEG = 90.0
#: name -> (SrsranConfig key, values, unit, scale to the unit, other [srsran] settings of the sweep)
SWEEPS = {
    "dl_offset": ("dl_offset_hz", [0, 250, 500, 1e3, 2e3, 3e3, 5e3, 6e3, 7e3, 7.5e3, 8e3, 10e3, 15e3, 20e3], "kHz",
                  1e-3, {}),
    "dl_rate": ("dl_rate_hz_s", [0, 100, 300, 1e3, 3e3, 10e3, 30e3, 100e3], "Hz/s", 1.0,
                {"dl_rate_span_hz": RATE_SPAN_HZ}),
    "ul_offset": ("ul_offset_hz", [0, 100, 200, 250, 300, 400, 500, 600, 750, 1e3, 1.5e3, 2e3, 5e3], "Hz", 1.0, {}),
    "delay": ("delay_s", [0, 5e-6, 10e-6, 15e-6, 20e-6, 30e-6, 50e-6, 100e-6, 300e-6, 1e-3], "µs", 1e6, {}),
    # the same eNodeB configured for a large cell: PRACH N_CS = 419 (round trips up to ~400 µs) and preambles
    # accepted up to 500 µs late (srsenb's expert option, 30 µs by default)
    "delay_large_cell": ("delay_s", [0, 50e-6, 100e-6, 150e-6, 200e-6, 250e-6, 300e-6, 500e-6], "µs", 1e6,
                         {"prach_zero_correlation_zone": 15, "enb_args": ["--expert.max_prach_offset_us=500"]}),
}
QUICK = {"dl_offset": [0, 3e3, 8e3], "dl_rate": [0, 1e3, 10e3], "ul_offset": [0, 200, 1e3], "delay": [0, 10e-6, 50e-6],
         "delay_large_cell": [0, 150e-6, 500e-6]}


def _point_flow(base: Flowgraph, key: str, value: float, point_s: float, settings: dict) -> Flowgraph:
    cfg = dataclasses.replace(base.srsran, channel="static", stop_after_rach=1, **{key: float(value)}, **settings)
    return dataclasses.replace(base, srsran=cfg, duration_s=point_s)


def _run(flow: Flowgraph, run_dir: Path, resume: bool = False) -> dict:
    """One run's summary; Ctrl-C during a run ends the whole campaign. ``resume``: a finished run of the same
    flowgraph in ``run_dir`` is summarised again instead of run again."""
    done = run_dir / "run.json"
    if resume and done.exists() and (run_dir / "flowgraph.toml").read_text() == flowgraph_toml(absolute_paths(flow)):
        print(f"  (resumed from {run_dir})", flush=True)
        return write_summary(run_dir)
    summary = SrsranRun(flow, run_dir, echo=False).run()
    if summary["run"]["end_reason"] == "interrupted":
        raise KeyboardInterrupt
    return summary


def _row(summary: dict, run_dir: Path, **extra) -> dict:
    s, run = summary["srsran"], summary["run"]
    synced = bool(s["cells_found"] and s["plmn_found"])
    return {**extra, "synced": synced, "passed": synced and bool(s["rach_complete"]), "cells_found": s["cells_found"],
            "plmn_found": s["plmn_found"], "rach_attempts": s["rach_attempts"], "rach_complete": s["rach_complete"],
            "first_cell_found_s": s["first_cell_found_s"], "first_rach_complete_s": s["first_rach_complete_s"],
            "cfo_estimates_hz": s["cfo_estimates_hz"], "end_reason": run["end_reason"], "wall_s": run["wall_s"],
            "stream_per_wall": run["stream_per_wall"], "loadavg": run["loadavg_before"], "diagnosis": s["diagnosis"],
            "dir": str(run_dir)}


def envelope(rows: list[dict], key: str = "passed") -> float | None:
    """The largest value reached through values whose every run has ``key`` true, from the smallest value up
    (None: the first value fails)."""
    best = None
    for value in sorted({r["value"] for r in rows}):
        if not all(r[key] for r in rows if r["value"] == value):
            break
        best = value
    return best


def run_sweeps(base: Flowgraph, out: Path, names: list[str], point_s: float, quick: bool, repeats: int = 1,
               resume: bool = False) -> dict:
    """Each sweep's points, ``repeats`` runs each (the seed changes the noise and srsUE draws its preambles)."""
    results = {}
    for name in names:
        key, values, unit, scale, settings = SWEEPS[name]
        rows = []
        for value in (QUICK[name] if quick else values):
            for rep in range(repeats):
                tag = f"{value * scale:g}{unit.replace('/', '_').replace('µ', 'u')}" + (f"_{rep}" if rep else "")
                print(f"interop: {name} = {value * scale:g} {unit}" + (f" (run {rep + 1})" if rep else ""), flush=True)
                flow = dataclasses.replace(_point_flow(base, key, value, point_s, settings), seed=base.seed + rep)
                summary = _run(flow, out / name / tag, resume)
                rows.append(_row(summary, out / name / tag, sweep=name, value=float(value), shown=value * scale,
                                 unit=unit, repeat=rep))
                print(f"  -> {'pass' if rows[-1]['passed'] else 'FAIL'}: {rows[-1]['diagnosis']}", flush=True)
        failures = sorted(r["value"] for r in rows if not r["passed"])
        results[name] = {"key": key, "unit": unit, "scale": scale, "settings": settings, "rows": rows,
                         "envelope": envelope(rows), "sync_envelope": envelope(rows, "synced"),
                         "first_failure": failures[0] if failures else None,
                         "last_success": max((r["value"] for r in rows if r["passed"]), default=None)}
    return results


def run_pass(base: Flowgraph, out: Path, pass_s: float, resume: bool = False, window_s: float = 60.0) -> list[dict]:
    """The pass from −pass_s/2 to +pass_s/2 around the culmination, in windows of ``window_s``, each a run with a
    UE switched on at its start (srsUE gives up for 12 minutes after five failed attaches, ~2 minutes here)."""
    rows = []
    starts = [-pass_s / 2 + k * window_s for k in range(max(1, int(round(pass_s / window_s))))]
    for where, offset_km in (("centre", 0.0), ("edge", EDGE_KM)):
        for comp in (True, False):
            beam = dataclasses.replace(base.beam, handset_offset_km=offset_km, handset_bearing_deg=EDGE_BEARING_DEG,
                                       precompensation=comp)
            name = f"{where}_{'on' if comp else 'off'}"
            windows = []
            for start in starts:
                flow = dataclasses.replace(base, beam=beam, duration_s=window_s,
                                           pass_=dataclasses.replace(base.pass_, call_offset_s=start),
                                           srsran=dataclasses.replace(base.srsran, channel="pass", stop_after_rach=0))
                run_dir = out / "pass" / name / f"{start:+.0f}s"
                print(f"interop: pass at the beam {where}, compensation {'on' if comp else 'off'}, "
                      f"{start:+.0f}..{start + window_s:+.0f} s from culmination", flush=True)
                s = _run(flow, run_dir, resume)["srsran"]
                windows.append({"start_s": start, "dir": str(run_dir), "diagnosis": s["diagnosis"],
                                "dl": s["pass"]["dl"]["doppler_after_compensation_hz"],
                                "ul_at_enb": s["pass"]["ul"].get("offset_at_enb_with_ue_lock_hz"),
                                **{k: s[k] for k in ("cells_found", "plmn_found", "rach_attempts", "rach_complete")},
                                **{f"{kind}_at_s": [e["t_s"] + start for e in s["events"] if e["event"] == kind]
                                   for kind in ("cell_found", "rach_complete")}})
                print(f"  -> {s['diagnosis']}", flush=True)
            rows.append({"where": where, "handset_offset_km": offset_km, "precompensation": comp, "windows": windows,
                         **{k: sum(w[k] for w in windows) for k in ("cells_found", "plmn_found", "rach_attempts",
                                                                     "rach_complete")},
                         "windows_with_access": sum(bool(w["rach_complete"]) for w in windows),
                         "cell_found_at_s": [t for w in windows for t in w["cell_found_at_s"]],
                         "rach_complete_at_s": [t for w in windows for t in w["rach_complete_at_s"]],
                         "dl_offset_at_ue_hz": [min(w["dl"][0] for w in windows), max(w["dl"][1] for w in windows)],
                         "ul_at_enb_hz": [min(w["ul_at_enb"][0] for w in windows),
                                          max(w["ul_at_enb"][1] for w in windows)]})
            ra = rows[-1]["rach_complete_at_s"]
            when = f"at {', '.join(f'{t:+.0f}' for t in ra)} s from culmination" if ra else "never"
            print(f"interop: {name}: random access completed {when}", flush=True)
    return rows


def run_campaign(base: Flowgraph, out: Path, only: list[str] | None = None, point_s: float = 8.0,
                 pass_s: float = 240.0, quick: bool = False, repeats: int = 1, resume: bool = False) -> dict:
    """Run the selected parts (sweep names and/or ``"pass"``); write ``results.json`` and ``report.html``."""
    from skycall.bridge.report import write_campaign_report

    out.mkdir(parents=True, exist_ok=True)
    names = [n for n in SWEEPS if only is None or n in only]
    results = {"sweeps": run_sweeps(base, out, names, point_s, quick, repeats, resume), "pass": [], "point_s": point_s,
               "pass_s": pass_s, "quick": quick, "repeats": repeats, "flowgraph": base.path}
    if only is None or "pass" in only:
        results["pass"] = run_pass(base, out, pass_s, resume)
    results["envelope"] = {name: {"sync": sweep["sync_envelope"], "access": sweep["envelope"]}
                           for name, sweep in results["sweeps"].items()}
    atomic_write(out / "results.json", json.dumps(results, indent=1, default=_jsonable) + "\n")
    write_campaign_report(results, out)
    return results


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
