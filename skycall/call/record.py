"""What one side of a call leaves behind for the report (same files from a process or in-process)."""

import dataclasses
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skycall.fileio import atomic_path, atomic_write


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
        """Write ``SIDE.npz`` then ``SIDE.json``, each atomically (a reader sees whole files or none;
        ``SIDE.json`` appears last, so its presence means the record is complete)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        arrays = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("side", "meta",
                                                                                                      "extra")}
        with atomic_path(out / f"{self.side}.npz") as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays, **{f"x_{k}": v for k, v in self.extra.items()})
        atomic_write(out / f"{self.side}.json", json.dumps(self.meta, indent=1, default=_jsonable))

    @classmethod
    def load(cls, out_dir: str | Path, side: str) -> "SideRecord":
        out = Path(out_dir)
        path = out / f"{side}.npz"
        if path.exists() and not zipfile.is_zipfile(path):  # np.load would take it for a pickle and say so
            raise ValueError(f"{path.name} is not an .npz archive (damaged or not written by skycall)")
        with np.load(path) as z:
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


def coded_bits_table(core, n_slots: int) -> np.ndarray:
    """Packed coded bits (before interleaving) of the frame sent in each slot; zeros where silent."""
    from skycall.modem.frame import FrameCodec

    codec = FrameCodec(core.waveform)
    table = np.zeros((n_slots, (core.waveform.coded_bits + 7) // 8), np.uint8)
    for k, frame in enumerate(core.tx_frames[:n_slots]):
        if frame is not None:
            table[k] = np.packbits(codec.coded_bits(frame))
    return table


def soft_constellation(frame, waveform) -> np.ndarray:
    """The received QPSK points of one frame's coded symbols, rebuilt from its soft bits.

    Transmitted bit ``i`` is coded bit ``π[i]`` XOR scrambler ``s[i]``; the receiver hands over
    ``soft[π[i]] = L_i·(1 − 2 s[i])``, so ``L_i = soft[π[i]]·(1 − 2 s[i])`` and symbol ``m`` is
    ``(L_2m + j L_2m+1)``, normalised to unit mean power.
    """
    pi = waveform.interleaver
    flip = 1.0 - 2.0 * waveform.scrambler.astype(np.float32)
    llr = frame.soft_bits[pi] * flip
    pts = (llr[0::2] + 1j * llr[1::2]).astype(np.complex64)
    return pts / np.sqrt(np.mean(np.abs(pts) ** 2) + 1e-30)


def snapshot_extra(phone) -> dict:
    """The phone's mid-call snapshot for the report: input spectrum and one frame's constellation."""
    from skycall.metrics.spectrum import psd_db

    out = {}
    if "dl" in phone.snapshot:
        out["psd_freq_hz"], out["psd_db"] = psd_db(phone.snapshot["dl"], phone.waveform.sample_rate_sps)
    if "frame" in phone.snapshot:
        out["constellation"] = soft_constellation(phone.snapshot["frame"], phone.waveform)
    return out


def side_record(side: str, core, n_slots: int, extra: dict | None = None) -> SideRecord:
    """Collect a Satellite's or Phone's record after ``n_slots`` slots (signals, logs, bits for BER)."""
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
        "cycle_slips": int(core.receiver.counters.cycle_slips),
        "lock_losses": int(core.receiver.counters.lock_losses),
        "samples_per_frame": int(core.waveform.samples_per_frame),
    }
    extra = dict(extra or {})
    extra["tx_coded"] = coded_bits_table(core, n_slots)
    extra["rx_index"] = np.array([f.sample_index for f in frames], np.int64)
    n_bytes = (core.waveform.coded_bits + 7) // 8
    extra["rx_hard"] = np.array([np.packbits(f.soft_bits < 0) for f in frames], np.uint8).reshape(len(frames), n_bytes)
    log = core.log
    return SideRecord(side=side, mouth=call.talker.mouth(n_slots), ear=call.listener.ear(n_slots),
                      cfo_hz=np.asarray(log.cfo_hz, np.float64), snr_db=np.asarray(log.snr_db, np.float64),
                      locked=np.asarray(log.locked, bool), meta=meta, extra=extra)


def prefec_ber(talker: SideRecord, listener: SideRecord, slot_shift: int = 0) -> float:
    """Channel bit error rate before the decoder: each received frame's hard decisions against the
    coded bits the talker sent in the slot the frame started in (slot = ⌊sample_index / N⌋ − slot_shift,
    the listener's slot axis being ``slot_shift`` slots behind the talker's; the propagation delay,
    2-6.5 ms, is shorter than a frame)."""
    n = int(listener.meta["samples_per_frame"])
    tx, idx, hard = talker.extra["tx_coded"], listener.extra["rx_index"], listener.extra["rx_hard"]
    slots = idx // n - slot_shift
    ok = (slots >= 0) & (slots < len(tx))
    if not ok.any():
        return float("nan")
    sent = tx[slots[ok]]
    live = sent.any(axis=1)
    if not live.any():
        return float("nan")
    errors = np.unpackbits(np.bitwise_xor(sent[live], hard[ok][live]), axis=1).sum()
    return float(errors) / (live.sum() * sent.shape[1] * 8)
