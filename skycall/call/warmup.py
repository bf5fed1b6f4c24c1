"""Run every numba kernel of a call once, before any radio starts.

numba compiles (or loads from its cache) a kernel at its first call; in a real-time process that
first slot takes up to a second, while the radio's clock runs on. :func:`warm_up` runs a short
in-process call of throw-away cores built from the same flowgraph — the ground station's downlink
into the phone, the phone's uplink back, a call dialled as soon as it can be — so acquisition,
tracking, decoding, the pass channel and the voice path are all compiled, then pushes one slot
through the radio-side stages (resampler, digital IF, DC blocker). The cores used are discarded:
nothing of the real call's state is touched.
"""

import numpy as np

from skycall.call.build import Speech, call_id_for
from skycall.config.flowgraph import Flowgraph, ProcessConfig

WARM_SLOTS = 40


def warm_up(flow: Flowgraph, speech: Speech, proc: ProcessConfig, slots: int = WARM_SLOTS) -> None:
    """Compile the call's kernels (both cores) and ``proc``'s radio stages; no radio is touched."""
    from groundstation.build import build_satellite
    from handset_emu.build import build_phone
    from skycall.radio.slots import SlotRadio

    profile = flow.profiles[proc.name]
    sat, _ = build_satellite(flow, speech, loopback=profile.driver == "loopback")
    phone = build_phone(flow, speech)
    n = sat.n
    for k in range(slots):
        if phone.call.session.can_dial:
            phone.call.session.dial(k, call_id_for(flow.seed))
        sat.receive(k, phone.step(k, sat.transmit(k), k * n))
    stages = SlotRadio(_Silent(), proc.name, proc.sample_rate_sps, profile.if_offset_hz, profile.dc_block_hz)
    stages.front.rx(stages.front.tx(stages.rate.to_radio(np.zeros(n, np.complex64)), 0), 0)
    stages.rate.from_radio(np.zeros(stages.n, np.complex64))


class _Silent:
    """A radio that is never read or written (the warm-up only needs the slot stages)."""

    clock = None
