"""``groundstation``: the satellite-side process of a flowgraph (started by ``skycall run``).

Per 40 ms slot: ``dl = satellite.transmit(slot)`` → radio transmit; radio receive →
``satellite.receive(slot, ul)`` (full duplex). The pass, beam-centre pre-/post-compensation and the call all run in
:class:`~groundstation.satellite.Satellite`; this module only does I/O and bookkeeping.
"""

import logging
import sys
from pathlib import Path

import numpy as np

from groundstation.build import build_satellite, pass_record, scenario_info
from skycall.call.build import load_call_speech
from skycall.call.process import RateAdapter, SlotHarness, process_main, start_radio, status_due

log = logging.getLogger("groundstation")


def run(node) -> int:
    """Run the ground station's slot loop on a :class:`~skycall.runner.node.Node`."""
    flow, proc = node.flow, node.proc
    profile = flow.profiles[proc.name]
    speech = load_call_speech(flow, Path(node.out_dir) / "speech")
    sat, scenario = build_satellite(flow, speech, loopback=profile.driver == "loopback")
    radio = start_radio(node, transmit=True)
    rate = RateAdapter(proc.sample_rate_sps)
    harness = SlotHarness(node, sat, "groundstation", {"precompensation": sat.set_precompensation},
                          taps=("dl_mod", "dl_precomp"))
    traj = scenario.trajectory
    n, full_duplex = sat.n, flow.call.duplex == "full"
    log.info("pass: max elevation %.1f deg, beam %d, %d slots", scenario.pass_.max_elevation_deg,
             int(scenario.trajectory.beam_id[0]), harness.n_slots)
    try:
        for k in range(harness.n_slots):
            harness.begin(k)
            if harness.stop:
                break
            radio.write(rate.to_radio(sat.transmit(k)), k * rate.radio_samples(n))
            harness.tap("dl_mod", sat.modulated)
            harness.tap("dl_precomp", sat.dl_path.compensated)
            if full_duplex:
                _, ul = radio.read(rate.radio_samples(n))
                sat.receive(k, rate.from_radio(ul))
            harness.end(k, k * n)
            if status_due(k):
                t_s = k * n / sat.waveform.sample_rate_sps
                node.telemetry.emit("link_status", k * n, t_s=t_s, **sat.dl_path.state(k * n),
                                    **sat.dl_path.last_status,  # sinr_db, c_over_i_db, channel_gain_db
                                    elevation_deg=float(np.interp(t_s, traj.t_s, traj.elevation_deg)))
    finally:
        radio.stop()
        radio.close()
        lo_hz = flow.air.lo_offset_ppm * 1e-6 * flow.proc("handset").rx_freq if profile.driver == "loopback" else 0.0
        harness.save(pass_record(flow, scenario, harness.slot + 1, lo_hz), {"scenario": scenario_info(flow, scenario)})
    return 0


def main(argv: list[str] | None = None) -> int:
    return process_main("groundstation", run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
