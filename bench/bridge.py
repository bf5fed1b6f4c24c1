"""``skycall bridge``: the cost of its channel per sample, as a ratio to real time at LTE rates.

Both directions (DL: pre-compensation, delay, Doppler, gain and noise; UL: the same with post-compensation)
on 1 ms messages as srsRAN's ZMQ radio sends them, including the per-message work of the forwarding loop
(bytes → array, the power counter), with the UE at its beam centre (a constant 2-sample latency: a delay
line) and 20 km from it (a drifting differential delay: the Farrow interpolator).
``msps`` is DL+UL sample pairs per second on one core, ``baseline_msps`` the LTE rate: ``ratio`` is how many
times real time the bridge keeps up with both directions (goal ≥ 20 at 1.92 MS/s). Timed in this process's
CPU time (``time.process_time``: the cost on one core, not the share of a loaded machine it got); the
ZeroMQ transport (libzmq's I/O thread) is not included.
"""

import time

import numpy as np

from bench.common import calls_for, row
from skycall.bridge.channel import LinkChannel
from skycall.bridge.plan import pass_plan
from skycall.config.flowgraph import SRSRAN_RATES_SPS, BeamConfig, Flowgraph, PassConfig, SrsranConfig
from skycall.rng import make_rng


def _case(n_prb: int, offset_km: float, quick: bool) -> dict:
    fs = SRSRAN_RATES_SPS[n_prb]
    flow = Flowgraph(name="bench", duration_s=30.0, pass_=PassConfig(call_offset_s=-150.0),
                     beam=BeamConfig(handset_offset_km=offset_km, handset_bearing_deg=90.0),
                     srsran=SrsranConfig(n_prb=n_prb), path="<bench>")
    plan = pass_plan(flow)
    channels = [LinkChannel(plan.dl, fs, False, make_rng(1)), LinkChannel(plan.ul, fs, True, make_rng(2))]
    n = int(fs / 1000)  # one subframe per message
    rng = make_rng(3)
    payload = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64).tobytes()

    def message_pair():
        for channel in channels:
            x = np.frombuffer(payload, dtype=np.complex64)
            np.vdot(x, x)
            channel.process(x).tobytes()

    message_pair()
    calls = max(20, calls_for(quick, n, samples_per_repeat=int(2 * fs)))
    best = float("inf")
    for _ in range(3 if quick else 5):
        t0 = time.process_time()
        for _ in range(calls):
            message_pair()
        best = min(best, time.process_time() - t0)
    where = "at its beam centre (delay line)" if offset_km == 0 else f"{offset_km:g} km off centre (Farrow delay)"
    note = f"DL+UL on 1 ms messages ({n} samples), UE {where}; ratio = times real time, both directions, one core"
    return row(f"bridge_{fs / 1e6:.2f}_{'centre' if offset_km == 0 else f'{offset_km:g}km'}", n * calls / best / 1e6,
               fs / 1e6, note)


def bridge_6prb_centre(quick: bool) -> dict:
    return _case(6, 0.0, quick)


def bridge_6prb_off_centre(quick: bool) -> dict:
    return _case(6, 20.0, quick)


def bridge_100prb_centre(quick: bool) -> dict:
    return _case(100, 0.0, quick)


def bridge_100prb_off_centre(quick: bool) -> dict:
    return _case(100, 20.0, quick)


CASES = [bridge_6prb_centre, bridge_6prb_off_centre, bridge_100prb_centre, bridge_100prb_off_centre]
