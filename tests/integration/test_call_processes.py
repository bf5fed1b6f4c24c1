"""The call as two OS processes over ZeroMQ (``skycall run``), and a handset killed mid-call."""

import json
from pathlib import Path

import pytest

from skycall.call.report import summarise
from skycall.runner.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[2]
FLOW = ROOT / "flowgraphs" / "loopback_call.toml"


def _call_state(name, state):
    return lambda ev: ev.get("t") == "call_state" and ev.get("proc") == name and ev.get("state") == state


@pytest.mark.timeout(300)
def test_killed_handset_is_released_by_the_ground_station_which_stays_up(tmp_path):
    # paced: the handset dies while the ground station streams in real time, as on a bench
    with Supervisor(FLOW, tmp_path, duration_s=10.0, realtime=True, capture_logs=True) as sup:
        assert sup.wait_event(_call_state("groundstation", "connected"), timeout_s=120), "call never connected"
        sup.procs["handset"].kill()  # like a crash: no RELEASE is ever sent
        codes = sup.wait(timeout_s=240)
    assert codes["groundstation"] == 0, (tmp_path / "groundstation.log").read_text()[-2000:]  # ran to the end
    meta = json.loads((tmp_path / "groundstation.json").read_text())
    failures = [e for e in meta["events"] if e["t"] == "radio_link_failure"]
    assert failures, meta["events"]
    assert meta["release_cause"] == "RADIO_LINK_FAILURE" and meta["state"] == "registered"
    states = [e["state"] for e in meta["events"] if e["t"] == "call_state"]
    assert states[-2:] == ["releasing", "registered"]


@pytest.mark.timeout(300)
def test_two_process_call_matches_the_in_process_call(tmp_path):
    """Same seed, same cores, same schedule: sockets must not change a single decision or score."""
    from skycall.call.inprocess import run_call_inprocess
    from skycall.config.flowgraph import load_flowgraph

    with Supervisor(FLOW, tmp_path / "procs", duration_s=6.0, capture_logs=True) as sup:
        assert sup.wait(timeout_s=240) == {"groundstation": 0, "handset": 0}
    two = summarise(tmp_path / "procs")
    import dataclasses

    one = run_call_inprocess(dataclasses.replace(load_flowgraph(FLOW), duration_s=6.0), tmp_path / "inproc")
    assert two["call_connected"] and one["call_connected"]
    for key in ("setup_time_s", "acquisition_time_s", "mouth_to_ear_ms"):
        assert two[key] == one[key]
    for d in ("dl", "ul"):
        assert two[d]["fer"] == one[d]["fer"] and two[d]["frames_ok"] == one[d]["frames_ok"]
        assert two[d]["residual_cfo_hz_rms"] == pytest.approx(one[d]["residual_cfo_hz_rms"], abs=5.0)
    # the phone's +2.5 ppm TCXO in both runs: its downlink estimate carries -3.86 kHz on top of the ~0.2 kHz
    # residual; its uplink, derived from the downlink, does not (the satellite sees ~2 x the residual)
    assert 3.9e3 < one["dl"]["residual_cfo_hz_rms"] < 4.3e3 and one["ul"]["residual_cfo_hz_rms"] < 600.0
