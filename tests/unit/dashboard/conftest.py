"""A synthetic finished run directory: the two side records a flowgraph leaves, with known contents."""

import numpy as np
import pytest

from skycall.call.record import SideRecord

N_SLOTS = 30
SPF = 9600  # samples per 40 ms slot at 240 kS/s


@pytest.fixture
def finished_run(tmp_path, rng):
    """``(run_dir, gs, hs)``: the handset locks at slot 3, camps, connects at slot 6; NaN SNR before lock."""
    t_pass = np.linspace(0.0, 1.5, 7)
    events_hs = [{"t": "call_state", "side": "handset", "frame": 3, "state": "camped", "beam_id": 9},
                 {"t": "call_state", "side": "handset", "frame": 6, "state": "connected", "call_id": 7}]
    events_gs = [{"t": "call_state", "side": "groundstation", "frame": 4, "state": "registered", "ue_id": 7},
                 {"t": "radio_link_failure", "side": "groundstation", "frame": 20, "silent_frames": 51}]
    locked = np.arange(N_SLOTS) >= 3
    recs = {}
    for side, events in (("groundstation", events_gs), ("handset", events_hs)):
        snr = np.where(locked, 10.0 + rng.standard_normal(N_SLOTS), np.nan)
        rec = SideRecord(side=side, mouth=np.zeros(8000), ear=np.zeros(8000),
                         cfo_hz=np.where(locked, -200.0 + rng.standard_normal(N_SLOTS), 0.0), snr_db=snr,
                         locked=locked, meta={"events": events, "n_slots": N_SLOTS, "samples_per_frame": SPF,
                                              "scenario": {"precompensation": True}},
                         extra={})
        recs[side] = rec
    recs["groundstation"].extra = {"t_s": t_pass, "doppler_hz": 26e3 - 1e3 * t_pass,
                                   "residual_hz": -150.0 - 40 * t_pass, "esn0_db": 10.0 + t_pass,
                                   "elevation_deg": 40.0 + 2 * t_pass, "truth_cfo_hz": np.zeros(N_SLOTS)}
    bits = rng.integers(0, 2, (2, 374)) * 2 - 1
    recs["handset"].extra = {"constellation": ((bits[0] + 1j * bits[1]) / np.sqrt(2)).astype(np.complex64)}
    for rec in recs.values():
        rec.save(tmp_path)
    return tmp_path, recs["groundstation"], recs["handset"]
