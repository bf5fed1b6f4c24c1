"""Run a flowgraph's call in one process: satellite core → loopback air → phone core and back.

Same cores, same slot schedule and same outputs as the two-process run (``skycall run``), minus
the sockets; used by tests and by the call-quality campaign, which runs many calls in parallel.
Schedule per slot ``k``: ``dl_k = satellite.transmit(k)``, ``ul_k = phone.step(k, air(dl_k))``,
``satellite.receive(k, air(ul_k))``.
"""

import sys
import time
from pathlib import Path

from groundstation.build import build_satellite, pass_record, scenario_info
from handset_emu.build import build_phone, handset_process
from skycall.call.build import Speech, call_id_for, load_call_speech
from skycall.call.plan import CallPlan
from skycall.call.record import side_record, snapshot_extra
from skycall.call.report import summarise
from skycall.call.session import FRAME_S
from skycall.channel.air import AirModel
from skycall.config.flowgraph import Flowgraph
from skycall.rng import child_rng, make_rng


def run_call_inprocess(flow: Flowgraph, out_dir: str | Path, speech: Speech | None = None,
                       progress: bool = False) -> dict:
    """Run the whole call, write the outputs to ``out_dir`` and return the summary."""
    out = Path(out_dir)
    speech = speech or load_call_speech(flow, out.parent / "speech")
    sat, scenario = build_satellite(flow, speech, loopback=True)
    phone = build_phone(flow, speech)
    proc = handset_process(flow)
    wf = sat.waveform
    n = wf.samples_per_frame
    n_slots = int(flow.duration_s / FRAME_S)
    rng = make_rng(flow.seed)
    lo_hz = flow.air.lo_offset_ppm * 1e-6 * proc.rx_freq
    air_dl = AirModel(wf.sample_rate_sps, proc.rx_freq, flow.air.noise_floor_dbfs, flow.air.lo_offset_ppm,
                      flow.air.clock_offset_ppm, child_rng(rng))
    air_ul = AirModel(wf.sample_rate_sps, proc.tx_freq, flow.air.noise_floor_dbfs, flow.air.lo_offset_ppm,
                      flow.air.clock_offset_ppm, child_rng(rng))  # each loopback receiver applies its air
    call_id = call_id_for(flow.seed)
    plan_gs, plan_hs = (CallPlan(flow.call, role, call_id, n_slots) for role in ("groundstation", "handset"))
    phone.snapshot_slot = n_slots // 2
    t0 = time.monotonic()
    for k in range(n_slots):
        plan_gs.apply(k, sat.call.session)
        plan_hs.apply(k, phone.call.session)
        ul = phone.step(k, air_dl.process(sat.transmit(k), k * n), k * n)
        sat.receive(k, air_ul.process(ul, k * n))
        if progress and (k + 1) % 50 == 0:
            rate = (k + 1) * FRAME_S / (time.monotonic() - t0)
            print(f"\r  {(k + 1) * FRAME_S:5.1f}/{flow.duration_s:.0f} s of stream ({rate:.1f}x real time), "
                  f"handset {phone.call.session.state}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    gs_rec = side_record("groundstation", sat, n_slots, pass_record(flow, scenario, n_slots, lo_hz))
    gs_rec.meta["scenario"] = scenario_info(flow, scenario)
    side_record("handset", phone, n_slots, snapshot_extra(phone)).save(out)
    gs_rec.save(out)
    return summarise(out)
