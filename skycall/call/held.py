"""Was the call *held* (connected and never dropped until the planned hang-up), and if not, why.

The why is read against the physics: per slot, the carrier offset the handset's receiver really had
to correct (``truth_cfo_hz``: the Doppler the beam left, the loopback air's LO offset and the
phone's own TCXO error) and its rate, compared with the receiver's limits recorded by the ground
station (``scenario.handset_limits``: initial search ±pull-in around its frequency reference,
correction (AFC) range, largest Doppler ramp its loop follows).
"""

import math

import numpy as np

from skycall.call.session import FRAME_S
from skycall.modem.profiles import get_profile

#: a change of the true offset between consecutive slots larger than this is a step (beam handover)
STEP_HZ = 200.0
#: the true offset's rate is smoothed over this many slots each side (0.2 s)
RATE_HALF_SLOTS = 5


def handset_limits(profile_name: str, dl_freq_hz: float) -> dict:
    """The handset receiver's limits at its downlink carrier (None: unlimited)."""
    p = get_profile(profile_name, dl_freq_hz)
    return {
        "pull_in_hz": p.pull_in_hz if p.pull_in_hz is not None else p.acq_range_hz,
        "search_centre": "its frequency reference (last tracked offset)" if p.pull_in_hz is not None else "0 Hz",
        "afc_range_hz": p.afc_range_hz,
        "max_rate_hz_s": p.max_rate_hz_s if math.isfinite(p.max_rate_hz_s) else None,
    }


def _events(rec, kind: str) -> list[dict]:
    return [e for e in rec.meta["events"] if e.get("t") == kind]


def call_held(gs, hs, placed_by: str) -> bool:
    """Both sides connected, no radio-link failure on either side, and the dialling side released the
    call normally (the planned hang-up happened inside the run)."""
    if not (gs.meta["connected"] and hs.meta["connected"]):
        return False
    if _events(gs, "radio_link_failure") or _events(hs, "radio_link_failure"):
        return False
    dialler = gs if placed_by == "groundstation" else hs
    return any(e["state"] == "releasing" and e.get("cause") == "NORMAL" for e in _events(dialler, "call_state"))


def _rate_hz_s(truth: np.ndarray) -> np.ndarray:
    """Smoothed d(offset)/dt per slot (central difference over ±RATE_HALF_SLOTS, steps excluded)."""
    h = RATE_HALF_SLOTS
    pad = np.pad(truth, h, mode="edge")
    return (pad[2 * h :] - pad[: -2 * h]) / (2 * h * FRAME_S)


def _khz(x: float) -> str:
    return f"{x / 1e3:+.2f} kHz"


def _explain_loss(k: int, truth: np.ndarray, lim: dict) -> str:
    """Why the receiver lost the downlink at slot ``k`` (the physics at that instant)."""
    t = k * FRAME_S
    o = float(truth[min(k, truth.size - 1)])
    afc, rmax = lim["afc_range_hz"], lim["max_rate_hz_s"]
    lo = max(0, k - 2)
    jumps = np.abs(np.diff(truth[lo : k + 2]))
    if jumps.size and jumps.max() > STEP_HZ:
        return (f"at {t:.1f} s the offset stepped by {_khz(float(jumps.max()))} (a beam handover: the next beam's "
                f"pre-compensation), faster than any loop follows")
    if afc is not None and abs(o) > 0.98 * afc:
        return (f"at {t:.1f} s the offset it had to follow, {_khz(o)}, reached the edge of its AFC range "
                f"±{afc / 1e3:.2f} kHz (offset beyond the phone's tracking)")
    r = float(_rate_hz_s(truth)[min(k, truth.size - 1)])
    if rmax is not None and abs(r) > rmax:
        return (f"at {t:.1f} s the offset was changing at {r:+.0f} Hz/s, beyond its loop's maximum trackable "
                f"rate ±{rmax:.0f} Hz/s (rate beyond the phone's tracking)")
    return (f"at {t:.1f} s, with offset {_khz(o)} and rate {r:+.0f} Hz/s inside its tracking envelope "
            f"(noise, fading or interference)")


def _explain_search(k0: int, k1: int, truth: np.ndarray, centre_hz: float, lim: dict, centred: bool,
                    sinr_db: np.ndarray | None = None) -> str:
    """Why slots k0..k1 went without (re-)acquisition: the offset out of reach, or (inside its reach
    most of the time) a signal too weak to acquire."""
    seg = truth[k0 : max(k1, k0 + 1)]
    pull, afc = lim["pull_in_hz"], lim["afc_range_hz"]
    where = f"its search covers ±{pull / 1e3:.2f} kHz around {_khz(centre_hz) if centred else '0'}"
    if afc is not None:
        where += f" and only inside its AFC range ±{afc / 1e3:.2f} kHz"
    reach = np.abs(seg - (centre_hz if centred else 0.0)) <= pull
    if afc is not None:
        reach &= np.abs(seg) <= afc
    span = f"the offset ({_khz(float(seg.min()))} .. {_khz(float(seg.max()))})"
    if np.mean(reach) < 0.5:
        return f"{span} stayed out of its reach ({where})"
    weak = ""
    if sinr_db is not None and sinr_db.size > k0:
        weak = f", SINR {float(np.nanmin(sinr_db[k0 : max(k1, k0 + 1)])):.1f} dB at worst"
    return f"{span} was within its reach ({where}) but the signal was too weak to acquire{weak}"


def not_held_reason(gs, hs, held: bool) -> str | None:
    """Why the call was not held, in words: when the handset acquired the downlink for the call, the
    loss of lock that dropped it, and why it did not find the carrier again (from the receiver's lock
    timeline and the physics)."""
    if held:
        return None
    lim = gs.meta["scenario"].get("handset_limits")
    truth = gs.extra.get("truth_cfo_hz")
    locked = np.asarray(hs.locked, bool)
    if lim is None or truth is None or not locked.size:
        return "the call was not held (no pass record to explain it)"
    truth = np.asarray(truth, float)[: locked.size]
    sinr = gs.extra.get("sinr_db")
    sinr = None if sinr is None else np.asarray(sinr, float)
    centred = lim["search_centre"] != "0 Hz"
    if not locked.any():
        return "the handset never acquired the downlink: " + _explain_search(0, locked.size, truth, 0.0, lim, centred,
                                                                            sinr)
    rises = np.flatnonzero(~np.r_[False, locked[:-1]] & locked)
    falls = np.flatnonzero(locked[:-1] & ~locked[1:]) + 1
    connected = [e["frame"] for e in _events(hs, "call_state") if e["state"] == "connected"]
    rlf = sorted(_events(hs, "radio_link_failure") + _events(gs, "radio_link_failure"), key=lambda e: e["frame"])
    parts = []
    k_call = connected[0] if connected else locked.size
    first = int(rises[rises <= k_call][-1]) if np.any(rises <= k_call) else int(rises[0])
    if first * FRAME_S > 2.0:
        held_before = float(hs.cfo_hz[first - 1]) if first >= 1 else 0.0
        parts.append(f"it acquired the downlink for the call only at {first * FRAME_S:.1f} s: before, "
                     + _explain_search(0, first, truth, held_before, lim, centred, sinr))
    if rlf:
        k_drop = rlf[0]["frame"]
        before = falls[falls <= k_drop]
        if before.size:
            k = int(before[-1])
            after = np.flatnonzero(locked[k:])
            back = k + int(after[0]) if after.size else locked.size
            parts.append("it lost the downlink " + _explain_loss(k, truth, lim))
            parts.append(("and did not find it again for the rest of the run: " if back == locked.size else
                          f"and found it again only {(back - k) * FRAME_S:.1f} s later: ")
                         + _explain_search(k, back, truth, float(hs.cfo_hz[k - 1]), lim, centred, sinr))
        parts.append(f"the call dropped at {k_drop * FRAME_S:.1f} s ({rlf[0]['side']}: radio link failure)")
    elif not connected:
        parts.append("the call never connected")
    if not parts:
        parts.append("the planned hang-up did not happen inside the run (connected too late or run too short)")
    return "; ".join(parts)


def held_summary(gs, hs, placed_by: str) -> dict:
    """``call_held``, ``not_held_reason`` and the handset's tracking envelope for ``summary.json``."""
    held = call_held(gs, hs, placed_by)
    out = {"call_held": held, "not_held_reason": not_held_reason(gs, hs, held)}
    lim = gs.meta["scenario"].get("handset_limits")
    truth = gs.extra.get("truth_cfo_hz")
    if lim is not None and truth is not None and len(truth):
        truth = np.asarray(truth, float)
        rate = _rate_hz_s(truth)
        steps = np.abs(np.diff(truth)) > STEP_HZ
        smooth = ~(np.convolve(np.r_[steps, False] | np.r_[False, steps], np.ones(2 * RATE_HALF_SLOTS + 1),
                               "same") > 0)
        out["handset_tracking"] = {
            **lim,
            "offset_hz": [float(truth.min()), float(truth.max())],
            "rate_hz_s_max": float(np.max(np.abs(rate[smooth]))) if smooth.any() else None,
            "steps": int(np.count_nonzero(steps)),
        }
    return out
