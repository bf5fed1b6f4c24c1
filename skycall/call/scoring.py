"""Scores of one direction of a call: PESQ against the codec-alone ceiling, STOI, frame errors,
residual frequency error and mouth-to-ear latency, from each side's stream-time signals and logs.

The talker's mouth and the listener's ear each lie on their own process's slot axis. In loopback
and lock-step runs the two axes share sample 0; with real radios each starts when its own radio
did. Alignment is therefore a cross-correlation search seconds wide (``WIDE_LAG_S``), centred on
what the slots' wall-clock stamps predict when both sides ran on their own clocks; the latency is

    mouth_to_ear = lag / fs + (t0_listener − t0_talker),

lag the delay of the ear behind the mouth on their axes and t0 each axis's wall-clock origin (0 when
shared). What the talker said after the listener had left the call (its ear falls silent) is not
scored. A call longer than ``LONG_S`` is scored in ``SEGMENT_S`` pieces, each aligned on its own
(a stall may shift the latency for a while): PESQ, ceiling and latency are their means, and
``segments`` lists them.
"""

import math
import warnings

import numpy as np

from skycall.call.record import prefec_ber
from skycall.metrics.speech import SpeechQualityWarning, align, codec_ceiling, pesq_nb, stoi
from skycall.vocoder.base import Vocoder

FS_HZ = 8000
SLOT_S = 0.04
WIDE_LAG_S = 5.0  # coarse search half-width when the two sides' axes may be seconds apart
SEGMENT_LAG_S = 0.5  # each segment's search around the whole call's lag
LONG_S, SEGMENT_S = 30.0, 10.0


def _active_span(mouth: np.ndarray) -> tuple[int, int]:
    """First and one-past-last non-silent sample of the talker's signal."""
    nz = np.flatnonzero(np.abs(mouth) > 1e-6)
    if nz.size == 0:
        return 0, 0
    return int(nz[0]), int(nz[-1]) + 1


def stream_origin_s(record) -> float | None:
    """Wall-clock time of a side's stream sample 0, when its radio ran on its own clock (else None)."""
    radio = record.meta.get("radio") or {}
    times = record.extra.get("slot_time_s")
    if not radio.get("own_clock") or times is None or not np.isfinite(times).any():
        return None
    k = np.flatnonzero(np.isfinite(times))
    return float(np.median(times[k] - k * SLOT_S))


def origin_offset_s(talker, listener) -> float:
    """t0_listener − t0_talker (0 when the two sides share a sample origin or one has no stamps)."""
    t, lis = stream_origin_s(talker), stream_origin_s(listener)
    return 0.0 if t is None or lis is None else lis - t


def _align_around(ref: np.ndarray, ear: np.ndarray, start: int, center: int, half_s: float):
    """Align ``ref`` (the mouth from sample ``start``) with the ear at lags ``center ± half_s``:
    ``align`` searches ±half_s around a copy of the ear shifted by ``center``."""
    lo = start + center
    hi = lo + len(ref) + round(half_s * FS_HZ) + FS_HZ
    deg = np.concatenate([np.zeros(max(0, -lo), np.float32), ear[max(lo, 0) : max(hi, 0)]])
    lag, ref_a, deg_a = align(ref, deg, FS_HZ, max_lag_s=half_s)
    return center + lag, ref_a, deg_a


def _score(ref: np.ndarray, aligned: tuple, vocoder: Vocoder, offset_s: float) -> dict:
    lag, ref_a, deg_a = aligned
    return {"mouth_to_ear_ms": 1000.0 * (lag / FS_HZ + offset_s), "pesq_nb": pesq_nb(ref_a, deg_a, FS_HZ),
            "stoi": stoi(ref_a, deg_a, FS_HZ), "codec_ceiling_pesq_nb": codec_ceiling(ref, vocoder)}


def score_speech(mouth: np.ndarray, ear: np.ndarray, vocoder: Vocoder, offset_s: float = 0.0) -> dict:
    """PESQ-NB, codec ceiling, STOI and latency of ``ear`` against ``mouth`` (each on its side's axis).

    ``offset_s``: t0_listener − t0_talker (see the module docstring). Returns NaN scores when the
    talker said less than half a second or nothing reached the ear.
    """
    start, stop = _active_span(mouth)
    nan = float("nan")
    out = {"pesq_nb": nan, "codec_ceiling_pesq_nb": nan, "stoi": nan, "mouth_to_ear_ms": nan}
    if stop - start < FS_HZ // 2 or not np.any(np.abs(ear) > 1e-6):
        return out
    center = -round(offset_s * FS_HZ)  # the ear axis starts offset_s later: the same moment is earlier on it
    half_s = min(WIDE_LAG_S, (stop - start) / FS_HZ / 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpeechQualityWarning)
        whole = _align_around(mouth[start:stop], ear, start, center, half_s)
        heard_until = _active_span(ear)[1] - whole[0]  # the listener left the call there: nothing after counts
        if heard_until < stop - FS_HZ // 10:
            stop = max(heard_until, start + FS_HZ // 2)
            whole = _align_around(mouth[start:stop], ear, start, whole[0], 0.01)
        if (stop - start) / FS_HZ <= LONG_S:
            return _score(mouth[start:stop], whole, vocoder, offset_s)
        seg = round(SEGMENT_S * FS_HZ)
        segments = []
        for a in range(start, stop - seg // 2, seg):
            ref = mouth[a : min(a + seg, stop)]
            if np.any(np.abs(ref) > 1e-6):
                aligned = _align_around(ref, ear, a, whole[0], SEGMENT_LAG_S)
                segments.append({"t_s": a / FS_HZ, **_score(ref, aligned, vocoder, offset_s)})
    out = {key: float(np.nanmean([s[key] for s in segments])) for key in out}
    out["segments"] = segments
    return out


def rms(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x * x))) if x.size else float("nan")


def slot_shift(talker, listener) -> int:
    """Listener slot − talker slot of one transmission (0 when the two sides share a sample origin).

    Predicted from the wall-clock origins and the talker's transmit lead, then settled by the
    pre-FEC bit errors of the received frames against what was sent (the right shift gives the
    fewest) over the prediction ± 2 slots.
    """
    offset_s = origin_offset_s(talker, listener)
    lead_s = float((talker.meta.get("radio") or {}).get("tx_lead_s") or 0.0)
    guess = int(math.floor((lead_s - offset_s) / SLOT_S))
    if offset_s == 0.0 and lead_s == 0.0:
        return 0
    bers = {k: prefec_ber(talker, listener, k) for k in range(guess - 2, guess + 3)}
    finite = {k: v for k, v in bers.items() if math.isfinite(v)}
    return min(finite, key=finite.get) if finite else guess


def shift_slots(values: np.ndarray, shift: int, n: int) -> np.ndarray:
    """``out[m] = values[m − shift]`` for m < n, the index clamped to ``values`` (slowly varying tables)."""
    return np.asarray(values)[np.clip(np.arange(n) - shift, 0, len(values) - 1)]


def radio_summary(*records) -> dict:
    """``summary.json``'s ``radio`` object: each process's radio counters and levels, by process name."""
    return {rec.meta.get("process", rec.side): rec.meta["radio"] for rec in records if rec.meta.get("radio")}
