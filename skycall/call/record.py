"""What one side of a call leaves behind for the report (same files from a process or in-process)."""

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class RxLog:
    """Per-slot record of what a receiver reported (locked, CFO estimate, SNR estimate)."""

    locked: list[bool] = field(default_factory=list)
    cfo_hz: list[float] = field(default_factory=list)
    snr_db: list[float] = field(default_factory=list)

    def append(self, receiver) -> None:
        self.locked.append(bool(receiver.locked))
        self.cfo_hz.append(float(receiver.cfo_hz))
        self.snr_db.append(float(receiver.snr_db))


@dataclass
class SideRecord:
    """One side's signals, logs and counters; ``save``/``load`` as ``SIDE.npz`` + ``SIDE.json``.

    Arrays: ``mouth``/``ear`` (8 kHz, stream time), per-slot ``cfo_hz``, ``snr_db``, ``locked``
    of this side's receiver and, on the ground station, ``truth_cfo_hz`` (the residual offset the
    phone's receiver input really had in each slot) and ``elevation_deg``.
    """

    side: str
    mouth: np.ndarray
    ear: np.ndarray
    cfo_hz: np.ndarray
    snr_db: np.ndarray
    locked: np.ndarray
    meta: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # name -> np.ndarray

    def save(self, out_dir: str | Path) -> None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        arrays = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("side", "meta",
                                                                                                      "extra")}
        np.savez_compressed(out / f"{self.side}.npz", **arrays, **{f"x_{k}": v for k, v in self.extra.items()})
        (out / f"{self.side}.json").write_text(json.dumps(self.meta, indent=1, default=_jsonable))

    @classmethod
    def load(cls, out_dir: str | Path, side: str) -> "SideRecord":
        out = Path(out_dir)
        with np.load(out / f"{side}.npz") as z:
            arrays = {k: z[k] for k in z.files}
        extra = {k[2:]: arrays.pop(k) for k in list(arrays) if k.startswith("x_")}
        meta = json.loads((out / f"{side}.json").read_text())
        return cls(side=side, meta=meta, extra=extra, **arrays)


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def side_record(side: str, core, n_slots: int, extra: dict | None = None) -> SideRecord:
    """Collect a Satellite's or Phone's record after ``n_slots`` slots."""
    call = core.call
    s, stats = call.session, call.listener.playout.stats
    frames = call.rx_frames
    meta = {
        "state": s.state,
        "connected": s.setup_time_s is not None or any(e.get("state") == "connected" for e in s.events),
        "setup_time_s": s.setup_time_s,
        "release_cause": s.release_cause.name if s.release_cause is not None else None,
        "events": s.events,
        "frames_ok": sum(1 for f in frames if f.crc_ok),
        "frames_bad": sum(1 for f in frames if not f.crc_ok),
        "voice_fer": call.listener.frame_error_rate(),
        "playout": dataclasses.asdict(stats),
        "n_slots": n_slots,
    }
    log = core.log
    return SideRecord(side=side, mouth=call.talker.mouth(n_slots), ear=call.listener.ear(n_slots),
                      cfo_hz=np.asarray(log.cfo_hz, np.float64), snr_db=np.asarray(log.snr_db, np.float64),
                      locked=np.asarray(log.locked, bool), meta=meta, extra=extra or {})
