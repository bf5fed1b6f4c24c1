"""``skycall bridge``: the cost of its channel per sample, as a ratio to real time at LTE rates.

One case per rate: both directions (DL: pre-compensation, differential delay, Doppler, gain and noise;
UL: the same with post-compensation) on 1 ms messages as srsRAN's ZMQ radio sends them, including the
per-message work of the forwarding loop (bytes → array, the power counter). The handset sits 20 km from
its beam centre so that every stage runs. ``msps`` is DL+UL sample pairs per second on one core,
``baseline_msps`` the LTE rate: ``ratio`` is how many times real time the bridge keeps up with both
directions (goal ≥ 20 at 1.92 MS/s). Timed in this process's CPU time (``time.process_time``: the cost on
one core, not the share of a loaded machine it got); the ZeroMQ transport (libzmq's I/O thread) is not included.
"""

import time

import numpy as np

from bench.common import calls_for, row
from skycall.bridge.channel import LinkChannel
from skycall.bridge.plan import pass_plan
from skycall.config.flowgraph import SRSRAN_RATES_SPS, BeamConfig, Flowgraph, PassConfig, SrsranConfig
from skycall.rng import make_rng


def _flow(n_prb: int) -> Flowgraph:
    return Flowgraph(name="bench", duration_s=30.0, pass_=PassConfig(call_offset_s=-150.0),
                     beam=BeamConfig(handset_offset_km=20.0, handset_bearing_deg=90.0),
                     srsran=SrsranConfig(n_prb=n_prb), path="<bench>")


def _case(n_prb: int, quick: bool) -> dict:
    fs = SRSRAN_RATES_SPS[n_prb]
    plan = pass_plan(_flow(n_prb))
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
    msps = n * calls / best / 1e6
    note = (f"DL+UL channel on 1 ms messages ({n} samples), handset 20 km off its beam centre: every stage; "
            "ratio = times real time, both directions on one core")
    return row(f"bridge_{fs / 1e6:.2f}msps", msps, fs / 1e6, note)


def bridge_6prb(quick: bool) -> dict:
    return _case(6, quick)


def bridge_100prb(quick: bool) -> dict:
    return _case(100, quick)


CASES = [bridge_6prb, bridge_100prb]
