"""Mouth-to-ear latency counted from the real propagation, plus a labelled feeder-link + ground term.

The emulation plays a voice frame in the slot in which its last sample arrives (both processes share
one stream clock), so the measured mouth-to-ear lag (cross-correlation of ear and mouth: framing,
40 ms of airtime, codec delay) does not grow with the propagation delay: a real receiver can only
play a frame once it has arrived. So::

    mouth_to_ear = measured lag + one-way delay of the user link (mean while connected)
                   + feeder link and ground network (configured, [call] feeder_ground_ms)

The user-link delay is what the pass channel applies: the propagation delay, or with beam-centre
delay compensation τ_0 + Δτ (the satellite holds frames back to keep its timing at the beam centre).
Receiver processing (≤ one 10 ms block) and jitter buffering beyond one frame are not counted.
"""

import math

import numpy as np

from skycall.call.session import FRAME_S


def add_latency(direction: dict, pass_extra: dict, in_call: np.ndarray, feeder_ground_ms: float) -> None:
    """Replace ``direction["mouth_to_ear_ms"]`` by the total and add ``mouth_to_ear_parts_ms``."""
    measured = direction.get("mouth_to_ear_ms")
    if measured is None or not math.isfinite(measured) or "path_delay_s" not in pass_extra:
        return
    t_slot = (np.arange(in_call.size) + 0.5) * FRAME_S
    delay_s = np.interp(t_slot, pass_extra["t_s"], pass_extra["path_delay_s"])
    propagation_ms = 1e3 * float(np.mean(delay_s[in_call] if in_call.any() else delay_s))
    direction["mouth_to_ear_parts_ms"] = {
        "measured_framing_airtime_codec": measured,
        "user_link_propagation": propagation_ms,
        "feeder_link_and_ground_network_configured": float(feeder_ground_ms),
    }
    direction["mouth_to_ear_ms"] = measured + propagation_ms + float(feeder_ground_ms)
