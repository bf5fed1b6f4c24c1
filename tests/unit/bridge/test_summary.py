"""The srsRAN run summary from a run directory: counts, CFO pairs, the window, the diagnosis, the report."""

import dataclasses
import json

import pytest
from bridge_flows import leo_flow, with_beam

from skycall.bridge.plan import pass_plan
from skycall.bridge.summary import ENVELOPE, is_srsran_run, rach_intervals_s, summarise, write_summary
from skycall.config.flowgraph import SrsranConfig

T0 = 1_000_000.0


def _write_run(tmp_path, flow, console, duration_s=20.0, stream_per_wall=0.5):
    tmp_path.mkdir(parents=True, exist_ok=True)
    plan = pass_plan(flow)
    run = {"srsran": "/opt/srsran", "channel": flow.srsran.channel, "n_prb": 6, "sample_rate_sps": 1.92e6,
           "duration_s": duration_s, "wall_start": T0, "wall_s": 60.0, "end_reason": "duration",
           "exit_codes": {}, "loadavg_before": [1, 1, 1], "loadavg_after": [1, 1, 1]}
    (tmp_path / "run.json").write_text(json.dumps(run))
    events = [{"t": "bridge_start", "proc": "bridge", "index": 0, "wall": T0 + 5, "t_s": 0.0, "plan": plan.info}]
    for k in range(0, 2 * int(duration_s) + 4):  # a status every 0.5 s of wall time
        t_s = k * 0.5 * stream_per_wall
        n = t_s * 1.92e6
        events.append({"t": "bridge_status", "proc": "bridge", "index": int(n), "wall": T0 + 10 + 0.5 * k, "t_s": t_s,
                       "channel": {name: {"doppler_hz": 1.0, "offset_at_receiver_hz": 100.0 + t_s, "gain_db": 0.0}
                                   for name in ("dl", "ul")}})
    for e in console:
        events.append({"wall": T0 + 10 + e["t_s"] / stream_per_wall, **e})
    events.append({"t": "bridge_stop", "proc": "bridge", "index": 0, "wall": T0 + 60, "t_s": duration_s + 3,
                   "dl": {"messages": 1}, "ul": {"messages": 1}})
    (tmp_path / "telemetry.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return tmp_path


def _ev(t, t_s, proc="srsue", **fields):
    return {"t": t, "proc": proc, "t_s": t_s, **fields}


def test_counts_cfo_pairs_and_the_run_window(tmp_path):
    console = [_ev("cell_found", 1.0, cfo_hz=-90.0), _ev("plmn_found", 1.1), _ev("prach_sent", 1.2),
               _ev("enb_rach", 1.25, "srsenb", tti=341, ta_offset=3), _ev("rach_complete", 1.3, ta=3),
               _ev("rrc_reject", 1.3), _ev("cell_found", 26.0, cfo_hz=5.0)]  # the last one is after the run
    run_dir = _write_run(tmp_path, leo_flow(), console)
    assert is_srsran_run(run_dir)
    summary = summarise(run_dir)
    s = summary["srsran"]
    counts = (s["cells_found"], s["plmn_found"], s["rach_attempts"], s["rach_complete"], s["rrc_rejects"])
    assert counts == (1, 1, 1, 1, 1)
    assert s["cfo_estimates_hz"] == [-90.0] and s["cfo_truth_hz"] == [pytest.approx(101.0)]
    assert s["timing_advance"] == [3] and s["enb_ta_offsets"] == [3] and s["first_rach_complete_s"] == 1.3
    assert s["pass"]["dl"]["doppler_before_compensation_hz"][0] > 25e3
    assert abs(s["pass"]["dl"]["doppler_after_compensation_hz"][1]) < 1e3
    assert summary["run"]["stream_s"] == 20.0 and summary["run"]["stream_per_wall"] == pytest.approx(0.5)
    assert s["diagnosis"].startswith("srsUE found the cell 1x and completed random access 1x (compensation on)")


def test_no_cell_because_the_offset_stayed_beyond_the_search_range(tmp_path):
    run_dir = _write_run(tmp_path, with_beam(leo_flow(), precompensation=False), [_ev("prach_sent", 3.0)])
    d = summarise(run_dir)["srsran"]["diagnosis"]
    assert d.startswith("no cell found: the DL offset at the UE was +") and "compensation off" in d
    assert f"{ENVELOPE['dl_offset_hz'] / 1e3:.1f} kHz" in d


def test_a_false_lock_two_subcarriers_off_is_named(tmp_path):
    console = [_ev("cell_found", 1.0, cfo_hz=-500.0)]  # the synthetic status applies 100 Hz + t_s
    d = summarise(_write_run(tmp_path, with_beam(leo_flow(), precompensation=False), console))["srsran"]["diagnosis"]
    assert d.startswith("srsUE synchronised 1x but never decoded SIB1 (no PLMN)")
    assert "a false lock" not in d  # 600 Hz off is not a subcarrier slip
    console = [_ev("cell_found", 1.0, cfo_hz=-29_899.0)]
    d = summarise(_write_run(tmp_path / "slip", leo_flow(), console))["srsran"]["diagnosis"]
    assert "missed the offset by up to +30.0 kHz (+2.0 subcarriers of 15 kHz: a false lock)" in d


def test_cell_found_but_no_random_access_names_the_uplink_offset_or_the_delay(tmp_path):
    console = [_ev("cell_found", 1.0, cfo_hz=0.0), _ev("plmn_found", 1.1), _ev("prach_sent", 1.2)]
    flow = dataclasses.replace(leo_flow(), srsran=SrsranConfig(ul_offset_hz=5000.0))
    d = summarise(_write_run(tmp_path / "ul", flow, console))["srsran"]["diagnosis"]
    assert "the eNodeB received the uplink at +46" in d and "locks its uplink to the DL" in d  # 5 kHz + 2 x residual
    flow = dataclasses.replace(leo_flow(), srsran=SrsranConfig(full_delay=True))
    d = summarise(_write_run(tmp_path / "delay", flow, console))["srsran"]["diagnosis"]
    assert "one-way delay reached" in d and "µs each way" in d and "prach_zero_correlation_zone" in d


def test_report_is_self_contained(tmp_path):
    run_dir = _write_run(tmp_path, leo_flow(), [_ev("cell_found", 1.0, cfo_hz=0.0), _ev("rach_complete", 1.3, ta=0)])
    write_summary(run_dir)
    page = (run_dir / "report.html").read_text()
    assert "data:image/png;base64," in page and "http" not in page.replace("http-equiv", "")
    assert json.loads((run_dir / "summary.json").read_text())["kind"] == "srsran"


def test_rach_intervals_are_exact_from_the_enb_tti_counter():
    a = {"tti": 341, "wall": 0.0, "t_s": 0.34}
    b = {"tti": 4981, "wall": 33.0, "t_s": 25.4}  # 4.64 s + two wraps of 10.24 s
    assert rach_intervals_s([a, b]) == [25.12]
    assert rach_intervals_s([{"tti": 341, "wall": 0.0}, {"tti": 4981, "wall": 27.0}]) == [25.12]  # direct: wall
