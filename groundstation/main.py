"""``groundstation``: the satellite-side process of a flowgraph (started by ``skycall run``).

Per 40 ms slot k: ``dl = satellite.transmit(k)`` → radio transmit; radio receive →
``satellite.receive(k, ul)`` (full duplex). Slots follow the radio's receive clock: when receive
samples were lost the radio skips to the next whole slot, the uplink of the slots in between is
lost (the uplink receiver re-acquires) and their downlink, already too late, is not sent. The
pass, beam-centre pre-/post-compensation and the call all run in
:class:`~groundstation.satellite.Satellite`; this module only does I/O and bookkeeping. Every numba
kernel is warmed up before the radio starts.

Radios on their own clocks (two real SDRs, no hardware time): a board places its transmit samples
against its receive samples by the host clock, to a few ms, and this offset is in every uplink
frame's timing; the satellite's uplink timing window and timing-advance control
(:class:`~groundstation.uplink_window.UplinkWindow`, sample-accurate) are left out and uplink frames
are taken at any timing. Loopback and lock-step radios keep them.
"""

import logging
import sys
from pathlib import Path

import numpy as np

from groundstation.build import build_satellite, pass_record, scenario_info
from skycall.call.build import load_call_speech
from skycall.call.process import SlotHarness, process_main, start_radio, status_due
from skycall.call.warmup import warm_up

log = logging.getLogger("groundstation")


def _lost_uplink(sat, slot: int) -> None:
    """Uplink slot ``slot`` never arrived: keep the pass channel contiguous, play the ear, log the receiver."""
    if sat.ul_path is not None:
        sat.ul_path.process(np.zeros(sat.n, np.complex64), slot * sat.n)
    sat.call.listen(slot, slot * sat.n)
    sat.log.append(sat.receiver)


def _end_slot(node, harness, sat, traj, k: int) -> None:
    """After slot ``k``: the harness's bookkeeping and, every ``STATUS_EVERY_S``, the link status."""
    n = sat.n
    harness.end(k, k * n)
    if status_due(k):
        t_s = k * n / sat.waveform.sample_rate_sps
        node.telemetry.emit("link_status", k * n, t_s=t_s, **sat.dl_path.state(k * n),
                            **sat.dl_path.last_status,  # sinr_db, c_over_i_db, channel_gain_db
                            elevation_deg=float(np.interp(t_s, traj.t_s, traj.elevation_deg)))


def run(node) -> int:
    """Run the ground station's slot loop on a :class:`~skycall.runner.node.Node`."""
    flow, proc = node.flow, node.proc
    profile = flow.profiles[proc.name]
    speech = load_call_speech(flow, Path(node.out_dir) / "speech")
    warm_up(flow, speech, proc)
    sat, scenario = build_satellite(flow, speech, loopback=profile.driver == "loopback")
    radio = start_radio(node, transmit=True)
    if radio.own_clock:  # each radio's DAC-to-ADC offset is known to its host clock only (ms): no timing window
        sat.ul_window = None
    harness = SlotHarness(node, sat, "groundstation", radio, {"precompensation": sat.set_precompensation},
                          taps=("dl_mod", "dl_precomp"))
    traj = scenario.trajectory
    log.info("pass: max elevation %.1f deg, beam %d, %d slots", scenario.pass_.max_elevation_deg,
             int(scenario.trajectory.beam_id[0]), harness.n_slots)
    k, received = 0, None
    try:
        while k < harness.n_slots:
            harness.begin(k)
            if harness.stop:
                break
            radio.write(k, sat.transmit(k))
            harness.tap("dl_mod", sat.modulated)
            harness.tap("dl_precomp", sat.dl_path.compensated)
            received = received or radio.read()
            if received[0] == k:
                sat.receive(k, received[1])
                received = None
            else:
                _lost_uplink(sat, k)
            _end_slot(node, harness, sat, traj, k)
            k += 1
            while received is not None and k < min(received[0], harness.n_slots):  # too late to send these
                harness.begin(k)
                sat.transmit(k)
                _lost_uplink(sat, k)
                _end_slot(node, harness, sat, traj, k)
                k += 1
    finally:
        radio.radio.stop()
        radio.radio.close()
        lo_hz = flow.air.lo_offset_ppm * 1e-6 * flow.proc("handset").rx_freq if profile.driver == "loopback" else 0.0
        harness.save(pass_record(flow, scenario, harness.slot + 1, lo_hz), {"scenario": scenario_info(flow, scenario)})
    return 0


def main(argv: list[str] | None = None) -> int:
    return process_main("groundstation", run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
