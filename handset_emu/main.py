"""``handset-emu``: the phone-side process of a flowgraph (started by ``skycall run``).

Per 40 ms slot: radio receive → ``ul = phone.step(slot, dl, index)`` → radio transmit (unless the
handset's radio is receive-only). Slots follow the radio's receive clock: when samples were lost
the radio skips to the next whole slot, and the phone's receiver sees the jump in its sample index
(a gap: it re-acquires). The receiver profile, numba FOC tracking, call control and voice run in
:class:`~handset_emu.phone.Phone`; this module only does I/O and bookkeeping. Every numba kernel is
warmed up before the radio starts.
"""

import logging
import sys
from pathlib import Path

from handset_emu.build import build_phone
from skycall.call.build import load_call_speech
from skycall.call.process import SlotHarness, process_main, start_radio
from skycall.call.record import snapshot_extra
from skycall.call.warmup import warm_up

log = logging.getLogger("handset")


def _lost_downlink(phone) -> None:
    """A downlink slot never arrived: keep the per-slot logs aligned (nothing was sent in it either)."""
    phone.log.append(phone.receiver)
    phone.tx_frames.append(None)


def run(node) -> int:
    """Run the handset's slot loop on a :class:`~skycall.runner.node.Node`."""
    flow, proc = node.flow, node.proc
    speech = load_call_speech(flow, Path(node.out_dir) / "speech")
    warm_up(flow, speech, proc)
    phone = build_phone(flow, speech, proc)
    transmit = flow.call.duplex == "full" and proc.transmit
    radio = start_radio(node, transmit)
    harness = SlotHarness(node, phone, "handset", radio, taps=("rx",))
    phone.snapshot_slot = harness.n_slots // 2
    n = phone.waveform.samples_per_frame
    log.info("receiver profile %s, %d slots", proc.receiver_profile, harness.n_slots)
    k = 0
    try:
        while k < harness.n_slots:
            if harness.poll():  # before waiting on the radio: the peer may already have stopped sending
                break
            slot, dl = radio.read()
            for _ in range(k, min(slot, harness.n_slots)):
                _lost_downlink(phone)
            if slot >= harness.n_slots:
                break
            harness.begin(slot)
            if harness.stop:
                break
            harness.tap("rx", dl)
            ul = phone.step(slot, dl, slot * n)
            if transmit:
                radio.write(slot, ul)
            harness.end(slot, slot * n)
            k = slot + 1
    finally:
        radio.radio.stop()
        radio.radio.close()
        harness.save(snapshot_extra(phone))
    return 0


def main(argv: list[str] | None = None) -> int:
    return process_main("handset", run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
