"""Campaign outputs: ``results.json``, ``results.csv`` and a standalone ``report.html`` (images embedded).

Per scenario the report gives distributions over its calls (seeds, fading and shadowing realisations,
positions in the cell, points of the pass): the outage (share of calls not connected, or not held to
their planned hang-up when the run says so), and the 10th, 50th and 90th percentiles of PESQ-NB and
FER (over the calls that connected) and of the lowest predicted SINR each call saw.
"""

import base64
import csv
import html
import io
import json
from pathlib import Path

import numpy as np

from skycall.call.record import SideRecord
from skycall.quality.atomic import write_atomic

PERCENTILES = (10, 50, 90)


def _percentiles(values) -> dict | None:
    v = [float(x) for x in values if x is not None and np.isfinite(x)]
    return {f"p{p}": float(np.percentile(v, p)) for p in PERCENTILES} if v else None


def _held(row: dict) -> bool:
    held = row.get("call_held")
    return bool(row.get("call_connected")) if held is None else bool(held)


def distributions(rows: list[dict]) -> dict[str, dict]:
    """Per scenario: calls, outage, and percentiles of PESQ-NB, FER (connected calls) and SINR (module docstring)."""
    out = {}
    for name in dict.fromkeys(r.get("scenario") for r in rows):
        rs = [r for r in rows if r.get("scenario") == name]
        up = [r for r in rs if r.get("call_connected")]
        out[name] = {
            "calls": len(rs),
            "outage": 1.0 - float(np.mean([_held(r) for r in rs])),
            **{key: _percentiles(r.get(key) for r in up) for key in ("dl_pesq_nb", "ul_pesq_nb", "dl_fer", "ul_fer")},
            "sinr_db_min": _percentiles(r.get("sinr_db_min") for r in rs),
            "fading": sorted({str(r.get("fading")) for r in rs}),
            "interference": sorted({str(r.get("interference")) for r in rs}),
        }
    return out


def write_tables(rows: list[dict], out: Path, complete: bool = True) -> None:
    """``results.json`` and ``results.csv``, each replaced atomically (``complete``: every call has a row)."""
    out.mkdir(parents=True, exist_ok=True)
    doc = {"calls": rows, "passed": complete and all(r["passed"] for r in rows), "complete": complete,
           "distributions": distributions(rows)}
    write_atomic(out / "results.json", json.dumps(doc, indent=1))
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(out / "results.csv", buf.getvalue())


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _plots(rows: list[dict]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = {}
    rows = [r for r in rows if not r.get("error")]  # a call that raised has no records to plot
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    colours = {s: plt.cm.tab10(i % 10) for i, s in enumerate(scenarios)}
    figs["distributions"] = _png(_distribution_figure(rows, scenarios, plt))

    fig, ax = plt.subplots(figsize=(9, 4))
    for r in rows:
        gs = SideRecord.load(r["dir"], "groundstation").extra
        t = gs["t_s"] + r["call_offset_s"]
        ax.plot(t, gs["doppler_hz"] / 1e3, color=colours[r["scenario"]], lw=1.5)
        ax.plot(t, (gs["residual_hz"] if r["precompensation"] else gs["doppler_hz"]) / 1e3, "--",
                color=colours[r["scenario"]], lw=1)
    ax.set_xlabel("time from culmination (s)")
    ax.set_ylabel("kHz")
    ax.set_title("Doppler at the handset (solid) and what it receives after beam-centre pre-compensation (dashed)")
    ax.legend([plt.Line2D([], [], color=colours[s]) for s in scenarios], scenarios, fontsize=7)
    figs["doppler"] = _png(fig)

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for s in scenarios:
        rs = sorted((r for r in rows if r["scenario"] == s), key=lambda r: r["elevation_deg"])
        el = [r["elevation_deg"] for r in rs]
        ax[0].plot(el, [r["dl_pesq_nb"] if r["dl_pesq_nb"] is not None else 1.0 for r in rs], "o-",
                   color=colours[s], label=s)
        ax[1].plot(el, [r["esn0_db_min"] for r in rs], "o-", color=colours[s], label=s)
    ax[0].set_ylabel("downlink PESQ-NB (MOS-LQO); 1.0 = no call")
    ax[1].set_ylabel("downlink Es/N0 (dB, link budget)")
    for a in ax:
        a.set_xlabel("elevation (deg)")
        a.grid(True, alpha=0.3)
    ax[0].legend(fontsize=7)
    fig.suptitle("Quality along the pass")
    figs["quality_vs_elevation"] = _png(fig)

    fig, ax = plt.subplots(figsize=(9, 3.5))
    names = [r["call"] for r in rows]
    ax.bar(range(len(rows)), [max(r.get("dl_residual_cfo_hz_rms") or 0.0, 1.0) for r in rows],
           color=[colours[r["scenario"]] for r in rows])
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)), names, rotation=60, ha="right", fontsize=6)
    ax.set_ylabel("Hz RMS (log; 1 = no lock)")
    ax.set_title("Residual carrier offset at the handset's receiver during the call")
    fig.tight_layout()
    figs["residual_cfo"] = _png(fig)

    shown = [r for r in rows if Path(r["dir"], "handset.npz").exists()][:6]
    fig, axes = plt.subplots(1, max(1, len(shown)), figsize=(2.6 * max(1, len(shown)), 2.8), squeeze=False)
    for a, r in zip(axes[0], shown, strict=False):
        hs = SideRecord.load(r["dir"], "handset").extra
        pts = hs.get("constellation")
        if pts is not None and pts.size:
            a.plot(pts.real, pts.imag, ".", ms=1)
        a.set_title(r["call"], fontsize=6)
        a.set_aspect("equal")
        a.set_xticks([])
        a.set_yticks([])
    fig.suptitle("Downlink constellation at the handset (one frame mid-call)")
    figs["constellation"] = _png(fig)

    fig, ax = plt.subplots(figsize=(9, 3.5))
    for r in shown:
        hs = SideRecord.load(r["dir"], "handset").extra
        if "psd_db" in hs:
            ax.plot(hs["psd_freq_hz"] / 1e3, hs["psd_db"], lw=0.8, label=r["call"])
    ax.set_xlabel("frequency offset from the carrier (kHz)")
    ax.set_ylabel("dB")
    ax.set_title("Spectrum at the handset's antenna (mid-call)")
    ax.legend(fontsize=6)
    figs["spectrum"] = _png(fig)
    return figs


def _distribution_figure(rows: list[dict], scenarios: list[str], plt):
    """Per scenario: PESQ-NB of every connected call (dots) with its 10/50/90 % percentiles, the outage,
    and the lowest SINR of each call."""
    dist = distributions(rows)
    fig, ax = plt.subplots(1, 3, figsize=(13, 0.45 * len(scenarios) + 1.8), sharey=True)
    y = np.arange(len(scenarios))
    for i, name in enumerate(scenarios):
        rs = [r for r in rows if r.get("scenario") == name]
        pesq = [r["dl_pesq_nb"] for r in rs if r.get("call_connected") and r.get("dl_pesq_nb") is not None]
        ax[0].plot(pesq, np.full(len(pesq), i) + np.linspace(-0.15, 0.15, len(pesq)), ".", ms=4, alpha=0.6)
        p = dist[name]["dl_pesq_nb"]
        if p:
            ax[0].plot([p["p10"], p["p90"]], [i, i], "k-", lw=1)
            ax[0].plot(p["p50"], i, "k|", ms=12)
        ax[1].barh(i, dist[name]["outage"], color="tab:red")
        sinr = [r["sinr_db_min"] for r in rs if r.get("sinr_db_min") is not None]
        ax[2].plot(sinr, np.full(len(sinr), i) + np.linspace(-0.15, 0.15, len(sinr)), ".", ms=4)
    ax[0].set_yticks(y, scenarios, fontsize=7)
    ax[0].invert_yaxis()  # the suite's order, top down
    ax[0].set_xlabel("downlink PESQ-NB (dots: calls; bar: 10-90 %, tick: median)")
    ax[1].set_xlabel("outage (not connected / not held)")
    ax[1].set_xlim(0, 1)
    ax[2].set_xlabel("lowest predicted SINR of each call (dB)")
    for a in ax:
        a.grid(True, alpha=0.3)
    fig.suptitle("Quality distributions per scenario")
    fig.tight_layout()
    return fig


def _distribution_table(rows: list[dict]) -> str:
    def pct(p, spec=".2f"):
        return "–" if not p else " / ".join(format(p[f"p{q}"], spec) for q in PERCENTILES)

    head = ("<tr><th>scenario</th><th>calls</th><th>outage</th><th>DL PESQ-NB p10/p50/p90</th><th>UL PESQ-NB</th>"
            "<th>DL FER</th><th>UL FER</th><th>SINR min (dB)</th><th>fading</th><th>interference</th></tr>")
    body = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{d['calls']}</td><td>{d['outage']:.2f}</td><td>{pct(d['dl_pesq_nb'])}"
        f"</td><td>{pct(d['ul_pesq_nb'])}</td><td>{pct(d['dl_fer'], '.3f')}</td><td>{pct(d['ul_fer'], '.3f')}</td>"
        f"<td>{pct(d['sinr_db_min'], '.1f')}</td><td>{html.escape(', '.join(d['fading']))}</td>"
        f"<td>{html.escape(', '.join(d['interference']))}</td></tr>"
        for name, d in distributions(rows).items())
    return f"<h2>distributions per scenario</h2><table>{head}{body}</table>"


def write_html(rows: list[dict], out: Path) -> Path:
    figs = _plots(rows)
    cols = ["call", "passed", "elevation_deg", "esn0_db_min", "sinr_db_min", "fading", "interference",
            "call_connected", "setup_time_s",
            "acquisition_time_s", "dl_pesq_nb", "dl_codec_ceiling_pesq_nb", "dl_stoi", "dl_fer", "ul_pesq_nb",
            "ul_fer", "dl_residual_cfo_hz_rms", "dl_cycle_slips", "dl_ber_prefec", "mouth_to_ear_ms",
            "fail_reasons"]

    def cell(v):
        if isinstance(v, float):
            return f"{v:.3g}"
        return html.escape(str(v)) if v is not None else "–"

    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "".join(
        f"<tr class='{'ok' if r['passed'] else 'bad'}'>" + "".join(f"<td>{cell(r.get(c))}</td>" for c in cols)
        + "</tr>" for r in rows)
    n_pass = sum(r["passed"] for r in rows)
    imgs = "".join(f"<h2>{k.replace('_', ' ')}</h2><img alt='{k}' src='data:image/png;base64,{v}'>"
                   for k, v in figs.items())
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>skycall call quality</title><style>"
            "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:12px}"
            "td,th{border:1px solid #ccc;padding:2px 5px}.ok{background:#eaffea}.bad{background:#ffeaea}"
            "img{max-width:100%}</style></head><body><h1>skycall call-quality campaign</h1>"
            f"<p>{n_pass} of {len(rows)} calls passed their thresholds.</p>{_distribution_table(rows)}"
            f"<h2>calls</h2><table><tr>{head}</tr>{body}</table>{imgs}</body></html>")
    path = out / "report.html"
    write_atomic(path, page)
    return path
