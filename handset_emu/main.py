"""``handset-emu``: the phone-side process of a flowgraph (started by ``skycall run``).

Per 40 ms slot: radio receive → ``ul = phone.step(slot, dl, index)`` → radio transmit (unless the
handset's radio is receive-only). The receiver profile, numba FOC tracking, call control and
voice run in :class:`~handset_emu.phone.Phone`; this module only does I/O and bookkeeping.
"""

import logging
import sys
from pathlib import Path

from handset_emu.build import build_phone
from skycall.call.build import load_call_speech
from skycall.call.process import RateAdapter, SlotHarness, process_main, start_radio
from skycall.call.record import snapshot_extra

log = logging.getLogger("handset")


def run(node) -> int:
    """Run the handset's slot loop on a :class:`~skycall.runner.node.Node`."""
    flow, proc = node.flow, node.proc
    phone = build_phone(flow, load_call_speech(flow, Path(node.out_dir) / "speech"), proc)
    transmit = flow.call.duplex == "full" and proc.transmit
    radio = start_radio(node, transmit)
    rate = RateAdapter(proc.sample_rate_sps)
    harness = SlotHarness(node, phone, "handset", taps=("rx",))
    phone.snapshot_slot = harness.n_slots // 2
    n = phone.waveform.samples_per_frame
    log.info("receiver profile %s, %d slots", proc.receiver_profile, harness.n_slots)
    try:
        for k in range(harness.n_slots):
            harness.begin(k)
            if harness.stop:
                break
            first, dl = radio.read(rate.radio_samples(n))
            dl = rate.from_radio(dl)
            harness.tap("rx", dl)
            ul = phone.step(k, dl, int(first / rate.ratio))
            if transmit:
                radio.write(rate.to_radio(ul), k * rate.radio_samples(n))
            harness.end(k, k * n)
    finally:
        radio.stop()
        radio.close()
        harness.save(snapshot_extra(phone))
    return 0


def main(argv: list[str] | None = None) -> int:
    return process_main("handset", run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
