"""Self-contained HTML reports of srsRAN runs and of the interop campaign (PNG plots embedded, no CDN)."""

import html
import json
from pathlib import Path

from skycall.quality.report import _png

_STYLE = ("body{font-family:sans-serif;margin:1.5em;max-width:75em}table{border-collapse:collapse;font-size:12px;"
          "margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px}.ok{background:#eaffea}.bad{background:#ffeaea}"
          "img{max-width:100%}code{background:#f4f4f4}")
_MARKERS = {"cell_found": ("C2", "cell found"), "prach_sent": ("C7", "PRACH sent"),
            "rach_complete": ("C3", "RA complete"), "rrc_reject": ("C4", "RRC reject")}


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
        ax.plot(t, [e["channel"]["ul"]["offset_at_receiver_hz"] / 1e3 for e in pts], "--", color="C5", lw=1,
                label=f"{label}UL offset at the eNodeB")
    for kind, (colour, name) in _MARKERS.items():
        ts = [e["t_s"] for e in events if e["event"] == kind and e.get("t_s") is not None]
        if ts:
            ax.plot(ts, [0.0] * len(ts), "|" if kind == "prach_sent" else "o", color=colour, ms=9, label=name)
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
    ax.legend(fontsize=7, loc="best")
    ax.set_title("The pass at the UE and what srsUE/srsENB did (markers)")
    counts = {k: s[k] for k in ("cells_found", "plmn_found", "rach_attempts", "rach_complete", "rrc_rejects",
                                "attach")}
    body = (f"<p>{html.escape(s['diagnosis'])}</p>" + table(list(counts), [counts])
            + "<h2>pass</h2><pre>" + html.escape(json.dumps(s["pass"], indent=1)) + "</pre>"
            + "<h2>events</h2>" + table(["t_s", "wall_s", "proc", "event", "cfo_hz", "ta", "ta_offset"], s["events"]))
    path = run_dir / "report.html"
    path.write_text(page(f"srsRAN through skycall bridge: {summary['run']['channel']} channel", body,
                         {"timeline": _png(fig)}))
    return path
