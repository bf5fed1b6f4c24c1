"""The call's summary (``summary.json``), received speech (WAV) and report (PNG + standalone HTML).

Reads the two :class:`~skycall.call.record.SideRecord` files a call leaves in its output
directory, so a multi-process run and an in-process run are reported the same way.
"""

import base64
import html
import io
import json
import math
from pathlib import Path

import numpy as np

from skycall.call.held import held_summary
from skycall.call.latency import add_latency
from skycall.call.record import SideRecord, prefec_ber
from skycall.call.scoring import origin_offset_s, radio_summary, rms, score_speech, shift_slots, slot_shift
from skycall.call.session import FRAME_S
from skycall.errors import SkycallError
from skycall.fileio import atomic_path, atomic_write
from skycall.vocoder.base import get_vocoder
from skycall.vocoder.speech import write_wav


def _clean(value):
    """JSON-safe: NaN/inf become None."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _in_call_slots(rec: SideRecord) -> np.ndarray:
    """Boolean mask of the slots this side spent connected."""
    mask = np.zeros(len(rec.cfo_hz), bool)
    start = None
    for ev in rec.meta["events"]:
        if ev.get("t") != "call_state":
            continue
        if ev["state"] == "connected":
            start = ev["frame"]
        elif start is not None:
            mask[start : ev["frame"]] = True
            start = None
    if start is not None:
        mask[start:] = True
    return mask


def direction(talker: SideRecord, listener: SideRecord, vocoder_name: str, truth_cfo_hz=None) -> dict:
    """Scores of the speech from ``talker`` heard at ``listener``."""
    shift = slot_shift(talker, listener)  # the two sides' slot axes need not share an origin
    out = score_speech(talker.mouth, listener.ear, get_vocoder(vocoder_name), origin_offset_s(talker, listener))
    in_call = _in_call_slots(listener) & listener.locked
    truth_cfo_hz = None if truth_cfo_hz is None else shift_slots(truth_cfo_hz, shift, len(listener.cfo_hz))
    out["fer"] = listener.meta["voice_fer"]
    out["residual_cfo_hz_rms"] = rms(listener.cfo_hz[in_call])
    out["residual_cfo_hz_max"] = float(np.max(np.abs(listener.cfo_hz[in_call]))) if in_call.any() else math.nan
    if truth_cfo_hz is not None:  # slot by slot, over the slots both sides recorded (one may have run longer)
        n = min(len(in_call), len(truth_cfo_hz))
        both = in_call[:n]
        if both.any():
            out["cfo_tracking_error_hz_rms"] = rms(listener.cfo_hz[:n][both] - np.asarray(truth_cfo_hz)[:n][both])
    out["frames_ok"], out["frames_bad"] = listener.meta["frames_ok"], listener.meta["frames_bad"]
    out["ber_prefec"] = prefec_ber(talker, listener, shift)
    out["cycle_slips"] = listener.meta["cycle_slips"]
    return out


def failure_reason(gs: SideRecord, hs: SideRecord) -> str | None:
    """Why the call did not connect or ended abnormally, in words (None when all went well)."""
    if gs.meta["connected"] and hs.meta["connected"]:
        causes = {r.meta["release_cause"] for r in (gs, hs)} - {None, "NORMAL"}
        return f"call released abnormally: {', '.join(sorted(causes))}" if causes else None
    if not hs.locked.any():
        return ("the handset never acquired the downlink: the carrier offset it sees is outside its receiver's "
                "pull-in range (pre-compensation off or an uncalibrated radio?)")
    states = [e["state"] for e in hs.meta["events"] if e.get("t") == "call_state"]
    if "camped" not in states:
        return "the handset locked briefly but never decoded a beacon (downlink frames failed)"
    if "idle" not in states and not hs.meta["connected"]:
        return "the handset camped but its registration (ACCESS) never got through the uplink"
    return f"call set-up failed (handset state {hs.meta['state']}, ground station state {gs.meta['state']})"


SIDES = ("groundstation", "handset")
RUN_FILE = "run.json"  # written by ``skycall run`` (skycall.runner.rundir): how each process ended
_FINE = (None, "completed", "shutdown")


def _run_info(out: Path) -> dict:
    """``{side: process info}`` from ``run.json`` (empty for an in-process run or an unreadable file)."""
    try:
        info = json.loads((out / RUN_FILE).read_text())
        procs = info["processes"]
        return {p.get("role", name): dict(p, name=name) for name, p in procs.items() if isinstance(p, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _load_records(out: Path, procs: dict) -> tuple[dict[str, SideRecord], dict[str, str]]:
    """The side records that can be read, and why each other one is missing."""
    records, missing = {}, {}
    for side in SIDES:
        status = procs.get(side, {}).get("status")
        try:
            records[side] = SideRecord.load(out, side)
        except FileNotFoundError:
            why = status or "no process saved it"
            missing[side] = f"{side}: no record ({why})"
        except Exception as err:  # noqa: BLE001 - a damaged record of any kind is reported, not raised
            missing[side] = f"{side}: unreadable record ({type(err).__name__}: {err})"
    return records, missing


def _side_problem(side: str, rec: SideRecord, proc: dict) -> str | None:
    """How ``side`` ended when that was not a normal end (its process's exit, else its record's word)."""
    status, ended = proc.get("status"), rec.meta.get("ended")
    what = status if status not in _FINE else (ended if ended not in _FINE else None)
    if what is None:
        return None
    planned = rec.meta.get("planned_slots")
    when = f" after {rec.meta['n_slots'] * FRAME_S:.1f} s of {planned * FRAME_S:.1f} s" if planned else ""
    log = f" (see {proc['log']})" if proc.get("log") and status not in _FINE else ""
    return f"{side} {what}{when}{log}"


def _side_facts(rec: SideRecord | None, proc: dict, missing: str | None) -> dict:
    facts = {"record": rec is not None, "process": proc.get("status"), "exit_code": proc.get("exit_code")}
    if rec is None:
        return {**facts, "missing": missing}
    meta = rec.meta
    keys = ("ended", "state", "connected", "release_cause", "frames_ok", "frames_bad", "voice_fer", "n_slots")
    return {**facts, **{k: meta.get(k) for k in keys}}
def link_summary(gs: SideRecord) -> dict:
    """The radio link the call went through: preset, surroundings and per-slot predicted SINR / C/I."""
    sc, x = gs.meta["scenario"], gs.extra
    out = {"preset": sc.get("link_preset"), **{k: sc.get(k) for k in ("interference", "fading", "shadowing")}}
    for key in ("sinr_db", "c_over_i_db", "channel_gain_db"):
        values = np.asarray(x.get(key, []), dtype=np.float64)
        values = values[np.isfinite(values)]
        out[f"{key}_min"] = float(values.min()) if values.size else None
        out[f"{key}_median"] = float(np.median(values)) if values.size else None
    return out


def summarise(out_dir: str | Path) -> dict:
    """Build ``summary.json`` (and the WAVs and report) from whatever side records ``out_dir`` holds.

    With both records: the call's scores, as always. A record that is missing or unreadable, and a
    process that crashed, was killed or was interrupted (``run.json`` of ``skycall run``, or the
    record's own ``ended``), are named in ``problems`` and ``failure_reason``; ``complete`` is then
    false. With one record only, the summary holds that side's facts (``sides``) and
    ``call_connected`` is None (unknown). No record at all raises :class:`SkycallError`.
    """
    out = Path(out_dir)
    procs = _run_info(out)
    records, missing = _load_records(out, procs)
    if not records:
        raise SkycallError(f"{out}: no call record to report ({'; '.join(missing.values())}); see the logs")
    problems = dict(missing)
    for side, rec in records.items():
        problem = _side_problem(side, rec, procs.get(side, {}))
        if problem:
            problems[side] = problem
    sides = {side: _side_facts(records.get(side), procs.get(side, {}), missing.get(side)) for side in SIDES}
    if missing:
        summary = _partial_summary(records, problems, sides)
        summary = _clean(summary)
        atomic_write(out / "summary.json", json.dumps(summary, indent=2))
        atomic_write(out / "report.html", html_report(summary, None))
        return summary
    summary = _call_summary(records["groundstation"], records["handset"])
    reason = "; ".join(problems.values()) or None
    if reason:
        summary["failure_reason"] = reason + (f"; {summary['failure_reason']}" if summary["failure_reason"] else "")
    summary.update(complete=not problems, problems=problems, sides=sides)
    summary = _clean(summary)
    atomic_write(out / "summary.json", json.dumps(summary, indent=2))
    gs, hs = records["groundstation"], records["handset"]
    with atomic_path(out / "dl_received.wav") as tmp:
        write_wav(tmp, hs.ear)
    with atomic_path(out / "ul_received.wav") as tmp:
        write_wav(tmp, gs.ear)
    png = plot_report(gs, hs, summary)
    atomic_write(out / "report.png", png)
    atomic_write(out / "report.html", html_report(summary, png))
    return summary


def _partial_summary(records: dict, problems: dict, sides: dict) -> dict:
    """What one side's record alone can tell (no speech scores: they need both ends)."""
    rec = next(iter(records.values()))
    return {
        "call_connected": None,
        "setup_time_s": None,
        "failure_reason": "; ".join(problems.values()),
        "acquisition_time_s": None,
        "dl": None,
        "ul": None,
        "mouth_to_ear_ms": None,
        "release_cause": {side: r.meta.get("release_cause") for side, r in records.items()},
        "scenario": records["groundstation"].meta.get("scenario") if "groundstation" in records else None,
        "complete": False,
        "problems": problems,
        "sides": sides,
        "n_slots": rec.meta.get("n_slots"),
    }


def _call_summary(gs: SideRecord, hs: SideRecord) -> dict:
    """The call's scores from both records."""
    scenario = gs.meta["scenario"]
    vocoder_name = scenario["vocoder"]
    truth = gs.extra.get("truth_cfo_hz")
    dl = direction(gs, hs, vocoder_name, truth)
    ul = direction(hs, gs, vocoder_name) if scenario["duplex"] == "full" else None
    for d, listener in ((dl, hs), (ul, gs)):
        if d is not None:
            add_latency(d, gs.extra, _in_call_slots(listener), scenario.get("feeder_ground_ms", 0.0))
    connected = bool(gs.meta["connected"] and hs.meta["connected"])
    dialler = gs if scenario.get("placed_by") == "groundstation" else hs
    acq = np.flatnonzero(hs.locked)
    return {
        "call_connected": connected,
        "setup_time_s": dialler.meta["setup_time_s"],
        "failure_reason": failure_reason(gs, hs),
        "acquisition_time_s": float(acq[0] + 1) * FRAME_S if acq.size else None,
        "dl": dl,
        "ul": ul,
        "mouth_to_ear_ms": dl["mouth_to_ear_ms"],
        "release_cause": {"groundstation": gs.meta["release_cause"], "handset": hs.meta["release_cause"]},
        "link": link_summary(gs),
        **held_summary(gs, hs, scenario.get("placed_by", "handset")),
        "scenario": scenario,
        "radio": radio_summary(gs, hs),
    }


def plot_report(gs: SideRecord, hs: SideRecord, summary: dict) -> bytes:
    """Four panels: Doppler before/after pre-compensation and the phone's estimate; Es/N0 and
    elevation; call states; the downlink speech, sent and received. Returns PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_slot = np.arange(len(hs.cfo_hz)) * FRAME_S
    fig, ax = plt.subplots(4, 1, figsize=(10, 11), constrained_layout=True)
    x = gs.extra
    if "doppler_hz" in x:
        t = x["t_s"]
        ax[0].plot(t, x["doppler_hz"] / 1e3, label="physical Doppler at the handset")
        ax[0].plot(t, x["residual_hz"] / 1e3, label="after beam-centre pre-compensation")
    if "truth_cfo_hz" in x:  # over the slots both sides recorded (one may have stopped a slot earlier)
        m = min(len(t_slot), len(x["truth_cfo_hz"]))
        ax[0].plot(t_slot[:m], x["truth_cfo_hz"][:m] / 1e3, lw=1,
                   label="what the handset must correct (with its TCXO error)")
    est = np.where(hs.locked, hs.cfo_hz, np.nan)
    ax[0].plot(t_slot, est / 1e3, ".", ms=2, label="handset receiver's CFO estimate")
    ax[0].set_ylabel("frequency offset (kHz)")
    ax[0].legend(loc="best", fontsize=8)
    ax[0].set_title("Downlink frequency offset")
    if "esn0_db" in x:
        ax[1].plot(x["t_s"], x["esn0_db"], label="DL Es/N0 (link budget)")
        ax[1].plot(t_slot, np.where(hs.locked, hs.snr_db, np.nan), ".", ms=2, label="handset SNR estimate")
        ax1b = ax[1].twinx()
        ax1b.plot(x["t_s"], x["elevation_deg"], "k--", lw=1)
        ax1b.set_ylabel("elevation (deg), dashed")
        ax[1].legend(loc="best", fontsize=8)
    ax[1].set_ylabel("dB")
    names = ["searching", "camped", "registering", "idle", "registered", "dialing", "connected", "releasing"]
    for rec, style in ((hs, "-"), (gs, "--")):
        pts = [(e["frame"] * FRAME_S, names.index(e["state"])) for e in rec.meta["events"]
               if e.get("t") == "call_state" and e["state"] in names]
        if pts:
            tt, yy = zip(*pts, strict=True)
            ax[2].step(list(tt) + [t_slot[-1]], list(yy) + [yy[-1]], style, where="post", label=rec.side)
    ax[2].set_yticks(range(len(names)), names, fontsize=8)
    if ax[2].get_lines():  # a call that never got past searching has no state changes to label
        ax[2].legend(loc="best", fontsize=8)
    ax[2].set_title("Call state")
    fs = 8000
    ta = np.arange(len(gs.mouth)) / fs
    ax[3].plot(ta, gs.mouth, lw=0.5, label="satellite-side talker (mouth)")
    ax[3].plot(np.arange(len(hs.ear)) / fs, hs.ear - 0.5, lw=0.5, label="heard at the handset (ear), offset")
    ax[3].set_xlabel("stream time (s)")
    ax[3].legend(loc="best", fontsize=8)
    dl = summary["dl"]

    def num(v, spec):
        return "n/a" if v is None else format(v, spec)

    ax[3].set_title(f"Downlink speech: PESQ-NB {num(dl['pesq_nb'], '.2f')} (codec alone "
                    f"{num(dl['codec_ceiling_pesq_nb'], '.2f')}), FER {num(dl['fer'], '.3f')}, "
                    f"mouth-to-ear {num(dl['mouth_to_ear_ms'], '.0f')} ms")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _cell(value) -> str:
    """A summary value for a table cell: floats to 4 significant digits, containers flattened."""
    if isinstance(value, float):
        return format(value, ".4g")
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    return str(value)


def html_report(summary: dict, png: bytes | None) -> str:
    """A self-contained HTML page: the summary table (every section of ``summary.json``, numbers
    rounded) and the embedded plot (when there is one)."""
    rows = []
    for key in ("call_connected", "call_held", "complete", "setup_time_s", "acquisition_time_s", "mouth_to_ear_ms",
                "failure_reason", "not_held_reason"):
        rows.append(f"<tr><th>{key}</th><td>{html.escape(_cell(summary.get(key)))}</td></tr>")
    for section, values in summary.items():
        if isinstance(values, dict):
            rows.append(f"<tr><th colspan='2' class='section'>{html.escape(section)}</th></tr>")
            rows += [f"<tr><th>{html.escape(f'{section}.{key}')}</th><td>{html.escape(_cell(value))}</td></tr>"
                     for key, value in values.items()]
    img = "" if png is None else (f"<img alt='call report plots' src='data:image/png;base64,"
                                  f"{base64.b64encode(png).decode()}'>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>skycall call report</title>"
            "<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:1em;font-weight:normal}"
            "th.section{font-weight:bold;padding-top:0.8em}td{font-variant-numeric:tabular-nums}</style></head>"
            f"<body><h1>skycall call report</h1><table>{''.join(rows)}</table>{img}</body></html>")


def _parts(r: dict) -> str:
    p = r.get("mouth_to_ear_parts_ms")
    return "" if not p else " ({:.0f} measured + {:.1f} propagation + {:.1f} feeder/ground)".format(*p.values())


def print_summary(summary: dict, out_dir) -> None:
    """A short human-readable summary on stdout."""
    sc = summary["scenario"]

    def fmt(v, spec=".2f"):
        return "n/a" if v is None else format(v, spec)

    connected = summary["call_connected"]
    word = {True: "CONNECTED", False: "NOT CONNECTED", None: "UNKNOWN (a side's record is missing)"}[connected]
    if connected and summary.get("complete") is False:
        word += ", BUT THE RUN DID NOT END NORMALLY"
    print(f"call: {word} (set-up {fmt(summary['setup_time_s'])} s, handset acquired after "
          f"{fmt(summary['acquisition_time_s'])} s)")
    if sc:
        print(f"pass: elevation {sc['elevation_deg'][0]:.0f}-{sc['elevation_deg'][1]:.0f} deg, Doppler "
              f"{sc['doppler_hz'][0] / 1e3:+.1f}..{sc['doppler_hz'][1] / 1e3:+.1f} kHz, pre-compensation "
              f"{'on' if sc['precompensation'] else 'off'}, handset receiver '{sc['receiver_profile']}'")
    for d in ("dl", "ul"):
        r = summary.get(d)
        if r:
            print(f"{d}: PESQ-NB {fmt(r['pesq_nb'])} (codec alone {fmt(r['codec_ceiling_pesq_nb'])}), STOI "
                  f"{fmt(r['stoi'])}, FER {fmt(r['fer'], '.3f')}, residual CFO {fmt(r['residual_cfo_hz_rms'], '.0f')}"
                  f" Hz RMS, mouth-to-ear {fmt(r['mouth_to_ear_ms'], '.0f')} ms" + _parts(r))
    link = summary.get("link") or {}
    if link.get("sinr_db_min") is not None:
        print(f"link: {link['preset']}, SINR {fmt(link['sinr_db_min'], '.1f')} dB min / "
              f"{fmt(link['sinr_db_median'], '.1f')} dB median (C/I {fmt(link['c_over_i_db_min'], '.1f')} dB min, "
              f"interference {link['interference']}, fading {link['fading']}, shadowing {link['shadowing']})")
    for side, facts in (summary.get("sides") or {}).items():
        if facts.get("record") and summary["call_connected"] is None:
            print(f"{side}: state {facts['state']}, connected {facts['connected']}, release cause "
                  f"{facts['release_cause']}, frames ok/bad {facts['frames_ok']}/{facts['frames_bad']}")
    if summary["failure_reason"]:
        print(f"why: {summary['failure_reason']}")
    if summary.get("not_held_reason") and summary["call_connected"]:
        print(f"not held: {summary['not_held_reason']}")
    print(f"outputs: {out_dir}/summary.json, dl_received.wav, ul_received.wav, report.html, telemetry.jsonl")
