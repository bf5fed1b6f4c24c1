"""Replay of a finished run directory: the frames, and when each is due at 1×, 4× or max speed.

Frames come from the live dashboard's recording (:mod:`.recording`: spectra, constellations and
every telemetry event the page saw) when the run had one; otherwise they are rebuilt from the side
records every run leaves (``groundstation.npz``/``handset.npz``): per slot each receiver's lock, CFO
and SNR estimate, the call states, the pass (Doppler, residual, Es/N0, elevation) and the handset's
mid-call constellation, one frame per ``STATUS_EVERY_S`` of stream time (no IQ was kept: no spectra).

Pacing: stream time runs at ``speed`` × wall time from an anchor, so frame ``i`` is due once
``t_i ≤ t_anchor + speed · (wall − wall_anchor)``; a speed change re-anchors at the current frame.
``speed = None`` (max) sends every frame as fast as the page takes them.
"""

import numpy as np

from skycall.call.process import status_due
from skycall.call.record import SideRecord
from skycall.config.flowgraph import BASEBAND_RATE_SPS
from skycall.dashboard.decimate import constellation_frame
from skycall.dashboard.recording import read_recording

SPEEDS = {"1x": 1.0, "4x": 4.0, "max": None}


def due_until(t_s: np.ndarray, anchor_t_s: float, elapsed_wall_s: float, speed: float | None) -> int:
    """Number of frames (of ascending stream times ``t_s``) due ``elapsed_wall_s`` after the anchor."""
    if speed is None:
        return len(t_s)
    return int(np.searchsorted(t_s, anchor_t_s + speed * elapsed_wall_s, side="right"))


def replay_frames(run_dir) -> tuple[str, list[dict]]:
    """``(source, frames)``: ``"recording"`` or ``"records"`` (see module docstring)."""
    recorded = read_recording(run_dir)
    if recorded is not None and recorded[1]:
        return "recording", recorded[1]
    return "records", frames_from_records(run_dir)


def _states(rec: SideRecord) -> list[tuple[int, str]]:
    return [(int(e["frame"]), e["state"]) for e in rec.meta["events"] if e.get("t") == "call_state"]


def frames_from_records(run_dir) -> list[dict]:
    """Frames rebuilt from the side records (see module docstring)."""
    gs, hs = SideRecord.load(run_dir, "groundstation"), SideRecord.load(run_dir, "handset")
    n = int(hs.meta["samples_per_frame"])
    precomp = bool(gs.meta.get("scenario", {}).get("precompensation", True))
    snap = hs.extra.get("constellation")
    snap_slot = int(hs.meta["n_slots"]) // 2  # the handset keeps the first frame decoded from mid-call on
    events_at: dict[int, list[dict]] = {}
    for rec in (gs, hs):
        for e in rec.meta["events"]:
            events_at.setdefault(int(e["frame"]), []).append(
                {**e, "proc": rec.side, "index": int(e["frame"]) * n})
    frames, pending = [], []
    state = {side: "idle" if side == "groundstation" else "searching" for side in ("groundstation", "handset")}
    changes = {rec.side: dict(_states(rec)) for rec in (gs, hs)}
    for k in range(min(len(gs.cfo_hz), len(hs.cfo_hz))):
        pending.extend(events_at.get(k, []))
        for side in state:
            state[side] = changes[side].get(k, state[side])
        if not status_due(k):
            continue
        t_s = k * n / BASEBAND_RATE_SPS
        events = pending
        pending = []
        for rec in (gs, hs):
            events.append({"t": "rx_status", "proc": rec.side, "role": rec.side, "index": k * n, "slot": k,
                           "state": state[rec.side], "locked": bool(rec.locked[k]),
                           "cfo_hz": _num(rec.cfo_hz[k]), "snr_db": _num(rec.snr_db[k])})
        events.append(_link_status(gs.extra, t_s, k * n, precomp))
        const = {"handset": constellation_frame(snap)} if snap is not None and k >= snap_slot else {}
        frames.append({"type": "frame", "t_s": t_s, "events": events, "spectra": {}, "const": const})
    return frames


def _link_status(x: dict, t_s: float, index: int, precomp: bool) -> dict:
    """The ground station's ``link_status`` event from the report's pass arrays."""
    def at(name):
        return float(np.interp(t_s, x["t_s"], x[name]))

    doppler, residual = at("doppler_hz"), at("residual_hz")
    return {"t": "link_status", "proc": "groundstation", "index": index, "t_s": t_s,
            "elevation_deg": at("elevation_deg"), "doppler_hz": doppler, "centre_doppler_hz": doppler - residual,
            "residual_hz": residual if precomp else doppler, "esn0_db": at("esn0_db"), "precompensation": precomp}


def _num(v) -> float | None:
    return float(v) if np.isfinite(v) else None


__all__ = ["SPEEDS", "due_until", "replay_frames", "frames_from_records"]
