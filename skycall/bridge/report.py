"""Self-contained HTML reports of srsRAN runs and of the interop campaign (PNG plots embedded, no CDN)."""

import html
import json
from pathlib import Path

from skycall.fileio import atomic_write
from skycall.quality.report import _png

_STYLE = ("body{font-family:sans-serif;margin:1.5em;max-width:75em}table{border-collapse:collapse;font-size:12px;"
          "margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px}.ok{background:#eaffea}.bad{background:#ffeaea}"
          "img{max-width:100%}code{background:#f4f4f4}")
#: event -> (colour, label, marker, height in the axes' strip of event rows)
_MARKERS = {"cell_found": ("C2", "cell found", "o", 0.16), "plmn_found": ("C9", "SIB1 (PLMN)", "s", 0.11),
            "prach_sent": ("C7", "PRACH sent", "|", 0.06), "rach_complete": ("C3", "RA complete", "*", 0.02)}


def _cell(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v)) if v is not None else "–"


def table(cols: list[str], rows: list[dict], ok_key: str | None = None) -> str:
    """An HTML table of ``rows`` (dicts) over ``cols``; rows coloured by the truth of ``ok_key``."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        (f"<tr class='{'ok' if r.get(ok_key) else 'bad'}'>" if ok_key else "<tr>")
        + "".join(f"<td>{_cell(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def page(title: str, body: str, figs: dict[str, str]) -> str:
    """A standalone page: ``body`` (HTML) then each PNG of ``figs`` (base64) under its name."""
    imgs = "".join(f"<h2>{html.escape(k)}</h2><img alt='{html.escape(k)}' src='data:image/png;base64,{v}'>"
                   for k, v in figs.items())
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}{imgs}</body></html>")


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def timeline_axes(ax, status: list[dict], events: list[dict], label: str = "") -> None:
    """DL Doppler (raw, at the UE) and UL offset at the eNodeB against stream time, events as markers."""
    pts = [e for e in status if e.get("channel")]
    if pts:
        t = [e["t_s"] for e in pts]
        ax.plot(t, [e["channel"]["dl"]["doppler_hz"] / 1e3 for e in pts], color="C0", lw=1,
                label=f"{label}DL Doppler (raw)")
        ax.plot(t, [e["channel"]["dl"]["offset_at_receiver_hz"] / 1e3 for e in pts], color="C1", lw=1.5,
                label=f"{label}DL offset at the UE")
        ax.plot(t, [e["channel"]["ul"].get("at_enb_with_ue_lock_hz", e["channel"]["ul"]["offset_at_receiver_hz"]) / 1e3
                    for e in pts], "--", color="C5", lw=1, label=f"{label}UL at the eNodeB (UE locked to its DL)")
    strip = ax.get_xaxis_transform()  # x in data, y in axes fraction: one row of markers per event kind
    for kind, (colour, name, marker, height) in _MARKERS.items():
        ts = [e["t_s"] for e in events if e["event"] == kind and e.get("t_s") is not None]
        if ts:
            ax.plot(ts, [height] * len(ts), marker, color=colour, ms=9, ls="none", label=name, transform=strip)
    ax.set_xlabel("stream time (s)")
    ax.set_ylabel("kHz")
    ax.grid(True, alpha=0.3)


def write_run_report(summary: dict, run_dir: Path) -> Path:
    """``run_dir/report.html``: the summary's numbers and the timeline of one srsRAN run."""
    plt = pyplot()
    lines = (run_dir / "telemetry.jsonl").read_text().splitlines()
    status = [e for e in map(json.loads, lines) if e["t"] == "bridge_status"]
    s = summary["srsran"]
    fig, ax = plt.subplots(figsize=(10, 4))
    timeline_axes(ax, status, s["events"])
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    ax.set_title("The pass at the UE and what srsUE/srsENB did (markers)")
    counts = {k: s[k] for k in ("cells_found", "plmn_found", "rach_attempts", "rach_complete", "rrc_rejects",
                                "attach")}
    body = (f"<p>{html.escape(s['diagnosis'])}</p>" + table(list(counts), [counts])
            + "<h2>pass</h2><pre>" + html.escape(json.dumps(s["pass"], indent=1)) + "</pre>"
            + "<h2>events</h2>" + table(["t_s", "wall_s", "proc", "event", "cfo_hz", "ta", "ta_offset"], s["events"]))
    path = run_dir / "report.html"
    atomic_write(path, page(f"srsRAN through skycall bridge: {summary['run']['channel']} channel", body,
                            {"timeline": _png(fig)}))
    return path


def _status_and_events(run_dir: Path) -> tuple[list[dict], list[dict]]:
    events = [json.loads(line) for line in (run_dir / "telemetry.jsonl").read_text().splitlines() if line]
    summary = json.loads((run_dir / "summary.json").read_text())
    return [e for e in events if e["t"] == "bridge_status"], summary["srsran"]["events"]


def write_campaign_report(results: dict, out: Path) -> Path:
    """``out/report.html``: the envelope table, the sweeps and the pass runs (timelines)."""
    plt = pyplot()
    figs = {}
    sweeps = results["sweeps"]
    if sweeps:
        fig, axes = plt.subplots(1, len(sweeps), figsize=(3.6 * len(sweeps), 3.2), squeeze=False)
        for ax, (name, sweep) in zip(axes[0], sweeps.items(), strict=True):
            rows = sorted(sweep["rows"], key=lambda r: r["value"])
            for r in rows:
                level = 2.0 if r["passed"] else 1.0 if r["synced"] else 0.0
                ax.plot(r["shown"], level, "o" if r["passed"] else "x", color=("C3", "C1", "C2")[int(level)], ms=8)
            if sweep["envelope"] is not None:
                ax.axvline(sweep["envelope"] * sweep["scale"], color="C2", ls="--", lw=1)
            ax.set_yticks([0, 1, 2], ["no cell", "cell + SIB1", "RA complete"])
            ax.set_ylim(-0.3, 2.3)
            ax.set_xlabel(f"{name.replace('_', ' ')} ({sweep['unit']})")
            if name == "dl_rate":
                ax.set_xscale("symlog", linthresh=100.0)
            ax.grid(True, alpha=0.3)
        fig.suptitle("One impairment at a time: how far did srsUE get? (sync: cell + SIB1; access: random access)")
        fig.tight_layout()
        figs["sweeps"] = _png(fig)
    if results["pass"]:
        fig, axes = plt.subplots(2, 2, figsize=(12, 7), sharex=True, squeeze=False)
        for ax, r in zip(axes.ravel(), results["pass"], strict=False):
            status, events = [], []
            for w in r["windows"]:  # each window's stream time starts at its offset from the culmination
                st, ev = _status_and_events(Path(w["dir"]))
                status += [{**e, "t_s": e["t_s"] + w["start_s"]} for e in st]
                events += [{**e, "t_s": None if e["t_s"] is None else e["t_s"] + w["start_s"]} for e in ev]
            timeline_axes(ax, status, events)
            for w in r["windows"][1:]:
                ax.axvline(w["start_s"], color="0.7", lw=0.8, ls=":")
            ax.set_title(f"beam {r['where']} ({r['handset_offset_km']:g} km), compensation "
                         f"{'on' if r['precompensation'] else 'off'}", fontsize=9)
            ax.set_xlabel("time from culmination (s)")
        if axes[0, 0].get_legend_handles_labels()[0]:
            axes[0, 0].legend(fontsize=7, loc="best")
        fig.tight_layout()
        figs["pass"] = _png(fig)
    env_rows = [{"sweep": n, "sync envelope": None if s["sync_envelope"] is None else s["sync_envelope"] * s["scale"],
                 "access envelope": None if s["envelope"] is None else s["envelope"] * s["scale"],
                 "first failure": None if s["first_failure"] is None else s["first_failure"] * s["scale"],
                 "last success": None if s.get("last_success") is None else s["last_success"] * s["scale"],
                 "unit": s["unit"], "points": len(s["rows"])} for n, s in sweeps.items()]
    point_rows = [r for s in sweeps.values() for r in s["rows"]]
    body = ("<p>srsRAN 4G's eNodeB and UE, unmodified, through <code>skycall bridge</code>. Sweeps: one impairment "
            f"at a time, {results['point_s']:g} s of stream per point, a point passes when srsUE finds the cell and "
            f"completes random access. Pass: the base flowgraph's pass over {results['pass_s']:g} s centred on the "
            "culmination, in one-minute windows (a UE switched on at the start of each).</p><h2>envelope</h2>"
            + table(["sweep", "sync envelope", "access envelope", "first failure", "last success", "unit", "points"],
                    env_rows)
            + "<h2>sweep points</h2>"
            + table(["sweep", "shown", "unit", "synced", "passed", "cells_found", "plmn_found", "rach_complete",
                     "first_cell_found_s",
                     "first_rach_complete_s", "cfo_estimates_hz", "stream_per_wall", "diagnosis"], point_rows, "passed")
            + "<h2>pass runs</h2>"
            + table(["where", "precompensation", "dl_offset_at_ue_hz", "ul_at_enb_hz", "cells_found", "plmn_found",
                     "rach_complete", "windows_with_access", "rach_complete_at_s"], results["pass"], "rach_complete")
            + "<h3>pass windows</h3>"
            + table(["where", "precompensation", "start_s", "dl", "ul_at_enb", "cells_found", "plmn_found",
                     "rach_complete", "diagnosis"],
                    [{"where": r["where"], "precompensation": r["precompensation"], **w} for r in results["pass"]
                     for w in r["windows"]], "rach_complete"))
    path = out / "report.html"
    atomic_write(path, page("skycall interop: srsRAN 4G through the beam emulator", body, figs))
    return path
