"""``summary.json`` of an srsRAN run (``skycall run`` writes it, ``skycall report DIR`` rebuilds it).

The ``srsran`` object: what the unmodified LTE stack did (``cells_found``, ``plmn_found``,
``rach_attempts``, ``rach_complete``, rejects, attaches, the UE's CFO estimates next to the offset the
bridge really applied at that moment), the pass numbers (Doppler before and after beam-centre
compensation, per direction; delays), the events against stream time, and a one-line ``diagnosis``
that says why the stack did or did not get through, against the envelope measured by
``skycall interop`` (docs/srsran.md).
"""

import json
from pathlib import Path

import numpy as np

from skycall.errors import SkycallError
from skycall.fileio import atomic_write

#: The unmodified stack's envelope as measured here (``skycall interop``; docs/srsran.md): the largest DL
#: offset for cell search and SIB1, the largest UL offset at the eNodeB at which random access completes
#: every time (it still does at times up to ~750 Hz), the largest one-way delay each way with the example
#: PRACH configuration (N_CS = 26, preambles accepted up to 30 µs late). The DL rate passed up to the
#: largest tried, 100 kHz/s (a ±200 Hz ramp).
ENVELOPE = {"dl_offset_hz": 7500.0, "ul_offset_hz": 300.0, "delay_s": 10e-6, "dl_rate_hz_s": 100e3}
_EVENT_KEYS = ("cell_found", "plmn_found", "prach_sent", "rach_complete", "rrc_reject", "rrc_connected", "attach",
               "attach_failed", "enb_rach")


def is_srsran_run(run_dir: str | Path) -> bool:
    """True for the output directory of an srsRAN run (its ``run.json`` names the srsRAN install)."""
    path = Path(run_dir) / "run.json"
    return path.is_file() and "srsran" in json.loads(path.read_text())


def _load(run_dir: Path) -> tuple[dict, list[dict]]:
    try:
        run = json.loads((run_dir / "run.json").read_text())
        events = [json.loads(line) for line in (run_dir / "telemetry.jsonl").read_text().splitlines() if line]
    except (OSError, json.JSONDecodeError) as err:
        raise SkycallError(f"{run_dir} is not a complete srsRAN run directory ({err}); rerun skycall run") from None
    return run, events


def _pass_numbers(start: dict) -> dict:
    plan = start.get("plan", {"channel": "off"})
    out = {k: v for k, v in plan.items() if k not in ("dl", "ul")}
    for name in ("dl", "ul"):
        if name in plan:
            link = plan[name]
            out[name] = {"freq_hz": link["freq_hz"],
                         "doppler_before_compensation_hz": link["doppler_hz"],
                         "doppler_after_compensation_hz": link["doppler_after_compensation_hz"],
                         "max_abs_doppler_hz": link["max_abs_doppler_hz"],
                         "max_abs_offset_at_receiver_hz": link["max_abs_offset_at_receiver_hz"],
                         "max_abs_rate_at_receiver_hz_s": link["max_abs_rate_at_receiver_hz_s"],
                         "gain_db": link["gain_db"], "delay_applied_s": link.get("delay_applied_s")}
            if "offset_at_enb_with_ue_lock_hz" in link:
                out[name]["offset_at_enb_with_ue_lock_hz"] = link["offset_at_enb_with_ue_lock_hz"]
    return out


def _offset_at(status: list[dict], link: str, t_s: float | None) -> float | None:
    """The offset the bridge applied at the receiver of ``link`` at stream time ``t_s`` (None without one)."""
    pts = [(e["t_s"], e["channel"][link]["offset_at_receiver_hz"]) for e in status if e.get("channel")]
    if t_s is None or not pts:
        return None
    t, f = np.array(pts).T
    return float(np.interp(t_s, t, f))


def rach_intervals_s(enb_rach: list[dict]) -> list[float]:
    """Stream time between consecutive random accesses the eNodeB saw, exact from its TTI counter (1 ms,
    modulo 10240): Δ = d + 10.24·k, d = ΔTTI mod 10240 ms, k the whole wraps nearest to the bridge's stream
    time between them (a direct run has none: its wall time, the ZMQ radio running near real time)."""
    out = []
    for a, b in zip(enb_rach[:-1], enb_rach[1:], strict=True):
        d = ((b["tti"] - a["tti"]) % 10240) / 1000.0
        approx = b["t_s"] - a["t_s"] if "t_s" in a and "t_s" in b else b["wall"] - a["wall"]
        out.append(round(d + 10.24 * max(0, round((approx - d) / 10.24)), 3))
    return out


def diagnosis(s: dict, passed: dict) -> str:
    """Why the stack did or did not get through (one line), step by step: cell search (PSS/SSS/PBCH), SIB1
    (PLMN), PRACH, RAR and Msg3/Msg4 (random access complete)."""
    env, n_cells, n_ra = ENVELOPE, s["cells_found"], s["rach_complete"]
    dl, ul = passed.get("dl"), passed.get("ul")
    comp = "on" if passed.get("precompensation") else "off"
    if n_ra:
        how = f"compensation {comp}" if dl is not None else f"channel {passed.get('channel', 'off')}"
        return f"srsUE found the cell {n_cells}x and completed random access {n_ra}x ({how})"
    if dl is None:
        return "no random access completed with the channel off: see srsue.out and srsenb.out"
    lo, hi = dl["doppler_after_compensation_hz"]
    offsets = f"the DL offset at the UE was {lo / 1e3:+.1f}..{hi / 1e3:+.1f} kHz (compensation {comp})"
    least = 0.0 if lo <= 0.0 <= hi else min(abs(lo), abs(hi))
    if not n_cells:
        limit = env["dl_offset_hz"]
        why = (f"never within srsUE's cell-search range |offset| <= {limit / 1e3:.1f} kHz" if least > limit else
               f"(rate up to {dl['max_abs_rate_at_receiver_hz_s']:.0f} Hz/s; see srsue.out)")
        return f"no cell found: {offsets}, {why}"
    misses = [t - e for e, t in zip(s["cfo_estimates_hz"], s["cfo_truth_hz"], strict=True) if t is not None]
    if not s["plmn_found"]:
        worst = max(misses, key=abs) if misses else None
        lock = (f"; its CFO estimates missed the offset by up to {worst / 1e3:+.1f} kHz "
                f"({worst / 15e3:+.1f} subcarriers of 15 kHz: a false lock)" if worst is not None and
                abs(worst) > 7.5e3 else "")
        return f"srsUE synchronised {n_cells}x but never decoded SIB1 (no PLMN): {offsets}{lock}"
    delay = dl.get("delay_applied_s") or [0.0, 0.0]
    step = "no PRACH sent" if not s["rach_attempts"] else "no random access completed"
    ul_lo, ul_hi = ul["doppler_after_compensation_hz"]
    enb_lo, enb_hi = ul.get("offset_at_enb_with_ue_lock_hz", [ul_lo, ul_hi])
    reasons = []
    if max(abs(enb_lo), abs(enb_hi)) > env["ul_offset_hz"]:
        reasons.append(f"the eNodeB received the uplink at {enb_lo:+.0f}..{enb_hi:+.0f} Hz: the bridge's UL offset "
                       f"{ul_lo:+.0f}..{ul_hi:+.0f} Hz (compensation {comp}) plus srsUE's own shift (it locks its "
                       f"uplink to the DL it receives, {lo / 1e3:+.1f}..{hi / 1e3:+.1f} kHz); random access completes "
                       f"every time up to ±{env['ul_offset_hz']:.0f} Hz there (measured; at times up to ~750 Hz)")
    if passed.get("full_delay") or max(delay) > env["delay_s"]:
        reasons.append(f"the one-way delay reached {max(delay) * 1e6:.0f} µs each way; the example PRACH "
                       f"configuration takes up to {env['delay_s'] * 1e6:.0f} µs (measured; [srsran] "
                       "prach_zero_correlation_zone and srsenb --expert.max_prach_offset_us widen it)")
    if not reasons:
        reasons.append(f"within the measured envelope ({offsets}; the eNodeB received the uplink at "
                       f"{enb_lo:+.0f}..{enb_hi:+.0f} Hz): see srsenb.out and srsue.out")
    return f"cell and PLMN found {n_cells}x but {step}: " + "; and ".join(reasons)


def summarise(run_dir: str | Path) -> dict:
    """The summary of an srsRAN run directory (see the module docstring)."""
    run_dir = Path(run_dir)
    run, events = _load(run_dir)
    start = next((e for e in events if e["t"] == "bridge_start"), None)
    status = [e for e in events if e["t"] == "bridge_status"]
    stop = next((e for e in events if e["t"] == "bridge_stop"), None)
    duration = run["duration_s"]

    ready = next((e["wall"] for e in events if e["t"] == "ue_ready"), run["wall_start"])

    def within(e: dict) -> bool:  # the run ends at duration_s of stream time (direct: of wall time from UE ready)
        return (e["t_s"] if "t_s" in e else e["wall"] - ready) <= duration

    console = [e for e in events if e["t"] in _EVENT_KEYS and within(e)]
    status = [e for e in status if within(e)]
    passed = _pass_numbers(start) if start else {"channel": run["channel"]}
    cells = [e for e in console if e["t"] == "cell_found"]
    s = {
        "cells_found": len(cells),
        "plmn_found": sum(e["t"] == "plmn_found" for e in console),
        "rach_attempts": sum(e["t"] == "prach_sent" for e in console),
        "rach_complete": sum(e["t"] == "rach_complete" for e in console),
        "rrc_rejects": sum(e["t"] == "rrc_reject" for e in console),
        "attach": sum(e["t"] == "attach" for e in console),
        "enb_rach": sum(e["t"] == "enb_rach" for e in console),
        "cfo_estimates_hz": [e["cfo_hz"] for e in cells],
        "cfo_truth_hz": [_offset_at(status, "dl", e.get("t_s")) for e in cells],
        "timing_advance": [e["ta"] for e in console if e["t"] == "rach_complete"],
        "enb_ta_offsets": [e["ta_offset"] for e in console if e["t"] == "enb_rach"],
        "rach_intervals_s": rach_intervals_s([e for e in console if e["t"] == "enb_rach"]),
    }
    for name, key in (("cell_found", "first_cell_found_s"), ("rach_complete", "first_rach_complete_s")):
        first = next((e for e in console if e["t"] == name), None)
        s[key] = None if first is None else first.get("t_s", first["wall"] - run["wall_start"])
    s["pass"] = passed
    s["events"] = [{"t_s": e.get("t_s"), "wall_s": round(e["wall"] - run["wall_start"], 3), "proc": e["proc"],
                    "event": e["t"], **{k: v for k, v in e.items() if k not in ("t", "proc", "wall", "t_s", "index")}}
                   for e in console]
    s["diagnosis"] = diagnosis(s, passed)
    flowing = [e for e in status if e["t_s"] > 0.05]  # the stream starts once both PHYs are up
    stream_s = min(duration, stop["t_s"]) if stop else None
    rate = None
    if len(flowing) > 1:
        rate = (flowing[-1]["t_s"] - flowing[0]["t_s"]) / (flowing[-1]["wall"] - flowing[0]["wall"])
    summary = {
        "kind": "srsran",
        "run": {**{k: run[k] for k in ("channel", "n_prb", "sample_rate_sps", "duration_s", "end_reason", "exit_codes",
                                        "loadavg_before", "loadavg_after")},
                "wall_s": run["wall_s"], "stream_s": stream_s,
                "startup_wall_s": flowing[0]["wall"] - run["wall_start"] if flowing else None,
                "stream_per_wall": rate,
                "bridge": {k: stop[k] for k in ("dl", "ul")} if stop else None},
        "srsran": s,
    }
    return summary


def write_summary(run_dir: str | Path) -> dict:
    """Write ``summary.json`` and ``report.html`` into ``run_dir``; return the summary."""
    from skycall.bridge.report import write_run_report

    summary = summarise(run_dir)
    atomic_write(Path(run_dir) / "summary.json", json.dumps(summary, indent=1) + "\n")
    write_run_report(summary, Path(run_dir))
    return summary


def print_summary(summary: dict, run_dir: str | Path) -> None:
    s, run = summary["srsran"], summary["run"]
    stream = f"{run['stream_s']:.1f} s of stream in " if run["stream_s"] is not None else ""
    print(f"srsRAN run ({run['channel']} channel, {run['n_prb']} PRB): {stream}{run['wall_s']:.1f} s of wall time; "
          f"ended: {run['end_reason']}")
    for name in ("dl", "ul"):
        link = s["pass"].get(name)
        if link:
            before, after = link["doppler_before_compensation_hz"], link["doppler_after_compensation_hz"]
            print(f"  {name.upper()} {link['freq_hz'] / 1e6:.1f} MHz: Doppler {before[0] / 1e3:+.2f}.."
                  f"{before[1] / 1e3:+.2f} kHz, after compensation {after[0] / 1e3:+.2f}..{after[1] / 1e3:+.2f} kHz")
    print(f"  cells found {s['cells_found']}, PLMN found {s['plmn_found']}, PRACH sent {s['rach_attempts']}, "
          f"random access complete {s['rach_complete']}, RRC rejects {s['rrc_rejects']}, attach {s['attach']}")
    if s["cfo_estimates_hz"]:
        pairs = ", ".join(f"{est:+.0f}" + (f" (applied {tru:+.0f})" if tru is not None else "")
                          for est, tru in zip(s["cfo_estimates_hz"], s["cfo_truth_hz"], strict=True))
        print(f"  UE CFO estimates (Hz): {pairs}")
    print(f"  {s['diagnosis']}")
    print(f"summary in {Path(run_dir) / 'summary.json'}, report {Path(run_dir) / 'report.html'}")
