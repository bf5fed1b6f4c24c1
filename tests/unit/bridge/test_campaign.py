"""The interop campaign's bookkeeping with a stand-in for srsRAN: envelopes, results and the report."""

import json
from pathlib import Path

import pytest
from bridge_flows import leo_flow

from skycall.bridge import campaign
from skycall.bridge.runner import absolute_paths, flowgraph_toml


class FakeRun:
    """Stands in for SrsranRun: srsUE syncs below 7 kHz of DL offset, accesses when the eNodeB sees < 1.1 kHz."""

    runs = 0

    def __init__(self, flow, out_dir, echo=True):
        self.flow, self.out = flow, out_dir

    def run(self):
        FakeRun.runs += 1
        cfg = self.flow.srsran
        at_enb = abs(cfg.ul_offset_hz + cfg.dl_offset_hz * 1.066)
        synced = cfg.dl_offset_hz <= 7e3 and cfg.dl_rate_hz_s <= 1e3
        max_delay_s = 300e-6 if cfg.prach_zero_correlation_zone == 15 else 10e-6
        access = synced and at_enb < 1.1e3 and cfg.delay_s <= max_delay_s
        if cfg.channel == "pass":
            synced = access = self.flow.beam.precompensation
        events = [{"t_s": 1.0, "wall_s": 3.0, "proc": "srsue", "event": "cell_found", "cfo_hz": 0.0}] if synced else []
        events += [{"t_s": 1.2, "wall_s": 3.2, "proc": "srsue", "event": "rach_complete", "ta": 0}] if access else []
        self.out.mkdir(parents=True, exist_ok=True)
        status = [{"t": "bridge_status", "t_s": t, "channel": {"dl": {"doppler_hz": 1e3, "offset_at_receiver_hz": 0.0},
                                                               "ul": {"offset_at_receiver_hz": 0.0}}} for t in (0, 2)]
        (self.out / "telemetry.jsonl").write_text("".join(json.dumps(e) + "\n" for e in status))
        summary = {"run": {"end_reason": "duration", "wall_s": 10.0, "stream_per_wall": 0.8, "loadavg_before": [1.0]},
                   "srsran": {"cells_found": int(synced), "plmn_found": int(synced), "rach_attempts": int(synced),
                              "rach_complete": int(access), "first_cell_found_s": None, "first_rach_complete_s": None,
                              "cfo_estimates_hz": [], "diagnosis": "fake", "events": events,
                              "pass": {"dl": {"doppler_after_compensation_hz": [0.0, 0.0]},
                                       "ul": {"doppler_after_compensation_hz": [0.0, 0.0],
                                              "offset_at_enb_with_ue_lock_hz": [0.0, 0.0]}}}}
        (self.out / "summary.json").write_text(json.dumps(summary))
        (self.out / "flowgraph.toml").write_text(flowgraph_toml(absolute_paths(self.flow)))
        (self.out / "run.json").write_text("{}")
        return summary


@pytest.fixture
def fake_runs(monkeypatch):
    monkeypatch.setattr(campaign, "SrsranRun", FakeRun)
    monkeypatch.setattr(campaign, "write_summary", lambda run_dir: json.loads((run_dir / "summary.json").read_text()))
    FakeRun.runs = 0


def test_envelopes_results_and_report(fake_runs, tmp_path):
    results = campaign.run_campaign(leo_flow(), tmp_path, point_s=4.0, pass_s=20.0)
    assert results["envelope"]["dl_offset"] == {"sync": 7e3, "access": 1e3}
    assert results["envelope"]["ul_offset"] == {"sync": 5e3, "access": 1e3}
    assert results["envelope"]["dl_rate"]["sync"] == 1e3 and results["envelope"]["delay"]["access"] == 10e-6
    assert results["envelope"]["delay_large_cell"]["access"] == 300e-6
    assert [(r["where"], r["precompensation"], r["rach_complete"]) for r in results["pass"]] == [
        ("centre", True, 1), ("centre", False, 0), ("edge", True, 1), ("edge", False, 0)]
    assert results["pass"][0]["rach_complete_at_s"] == [pytest.approx(1.2 - 10.0)]  # from culmination
    two = campaign.run_pass(leo_flow(), tmp_path / "two", pass_s=40.0, window_s=20.0)
    assert [w["start_s"] for w in two[0]["windows"]] == [-20.0, 0.0] and two[0]["windows_with_access"] == 2
    assert two[0]["rach_complete_at_s"] == [pytest.approx(-18.8), pytest.approx(1.2)]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["envelope"] == json.loads(json.dumps(results["envelope"]))
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "src='http" not in page and "access envelope" in page


def test_envelope_stops_at_the_first_value_with_a_failed_run():
    rows = [{"value": v, "passed": ok} for v, ok in ((0, True), (2, False), (1, True), (3, True))]
    assert campaign.envelope(rows) == 1
    assert campaign.envelope([{"value": 0, "passed": False}]) is None
    repeated = [{"value": v, "passed": ok} for v, ok in ((0, True), (0, True), (1, True), (1, False), (2, True))]
    assert campaign.envelope(repeated) == 0


def test_repeats_run_each_point_again_with_another_seed(fake_runs, tmp_path):
    results = campaign.run_campaign(leo_flow(), tmp_path, only=["ul_offset"], quick=True, repeats=2)
    rows = results["sweeps"]["ul_offset"]["rows"]
    assert [(r["value"], r["repeat"]) for r in rows] == [(v, k) for v in campaign.QUICK["ul_offset"] for k in (0, 1)]
    assert results["sweeps"]["ul_offset"]["last_success"] == 1000 == results["sweeps"]["ul_offset"]["envelope"]


def test_only_selected_parts_run(fake_runs, tmp_path):
    results = campaign.run_campaign(leo_flow(), tmp_path, only=["delay"], quick=True)
    assert list(results["sweeps"]) == ["delay"] and results["pass"] == []
    assert [r["value"] for r in results["sweeps"]["delay"]["rows"]] == campaign.QUICK["delay"]


def test_resume_reuses_finished_runs_of_the_same_flowgraph_only(fake_runs, tmp_path):
    first = campaign.run_campaign(leo_flow(), tmp_path, only=["delay"], quick=True)
    assert FakeRun.runs == 3
    again = campaign.run_campaign(leo_flow(), tmp_path, only=["delay"], quick=True, resume=True)
    assert FakeRun.runs == 3 and again["envelope"] == first["envelope"]
    campaign.run_campaign(leo_flow(), tmp_path, only=["delay"], quick=True, point_s=5.0, resume=True)
    assert FakeRun.runs == 6  # another stream time: another flowgraph, run again


def test_a_flowgraph_written_as_toml_loads_back_equal(tmp_path):
    """Every section survives the round trip, including [link] (the budget), unset optional keys and
    non-default channel and beam choices."""
    import dataclasses

    from skycall.config.flowgraph import load_flowgraph

    base = load_flowgraph(Path(__file__).resolve().parents[3] / "flowgraphs" / "srsran_leo.toml")
    flow = dataclasses.replace(
        base, beam=dataclasses.replace(base.beam, taper="uniform", precompensation=False),
        channel=dataclasses.replace(base.channel, fading="rician", k_factor_db=None),
        radio_link=dataclasses.replace(base.radio_link, preset="tr38821-set2"))
    path = tmp_path / "copy.toml"
    path.write_text(flowgraph_toml(flow))
    again = load_flowgraph(path)
    assert dataclasses.replace(again, path=flow.path) == flow
