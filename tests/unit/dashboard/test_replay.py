"""Replay: pacing at 1×/4×/max, the live recording (and when it belongs to the run), frames from records."""

import json

import numpy as np
import pytest

from skycall.call.process import status_due
from skycall.dashboard.recording import FILE_NAME, Recorder, read_recording
from skycall.dashboard.replay import due_until, frames_from_records, replay_frames

T = np.arange(0, 10, 0.1)  # a frame every 0.1 s of stream time


@pytest.mark.parametrize(("speed", "elapsed_s", "due"), [(1.0, 0.0, 1), (1.0, 0.25, 3), (4.0, 0.25, 11),
                                                        (1.0, 100.0, 100), (None, 0.0, 100)])
def test_frames_are_due_when_stream_time_has_run_speed_times_the_wall_time(speed, elapsed_s, due):
    assert due_until(T, 0.0, elapsed_s, speed) == due


def test_a_re_anchored_clock_continues_from_the_anchor():
    assert due_until(T, 5.0, 0.5, 4.0) == int(np.searchsorted(T, 7.0, side="right"))


def _record(run_dir, endpoints_seq, frames=3):
    rec = Recorder(run_dir, 240e3)
    for k, table in enumerate(endpoints_seq):
        rec.endpoints(table)
        for i in range(frames):
            rec.frame(json.dumps({"type": "frame", "t_s": k + 0.1 * i, "events": [], "spectra": {}, "const": {}}))
    rec.close()


def test_the_recording_replays_when_it_belongs_to_the_run(tmp_path):
    first, restarted = {"gs": {"control": "tcp://127.0.0.1:1"}}, {"gs": {"control": "tcp://127.0.0.1:2"}}
    _record(tmp_path, [first, restarted])
    (tmp_path / "endpoints.json").write_text(json.dumps(restarted))
    header, frames = read_recording(tmp_path)
    assert header["endpoints"] == first and [f["t_s"] for f in frames] == [0, 0.1, 0.2, 1, 1.1, 1.2]
    with (tmp_path / FILE_NAME).open("a") as fh:
        fh.write('{"type": "frame", "t_s": 9')  # killed mid-line: the line is skipped
    assert len(read_recording(tmp_path)[1]) == 6


def test_a_recording_of_an_earlier_run_in_the_same_directory_is_not_replayed(tmp_path):
    _record(tmp_path, [{"gs": {"control": "tcp://127.0.0.1:1"}}])
    (tmp_path / "endpoints.json").write_text(json.dumps({"gs": {"control": "tcp://127.0.0.1:9"}}))
    assert read_recording(tmp_path) is None


def test_frames_rebuilt_from_the_records_carry_what_the_processes_logged(finished_run):
    run_dir, gs, hs = finished_run
    n_slots, spf = hs.meta["n_slots"], hs.meta["samples_per_frame"]
    source, frames = replay_frames(run_dir)  # no recording there: the records
    assert source == "records" and frames == frames_from_records(run_dir)
    due = [k for k in range(n_slots) if status_due(k)]
    assert [f["t_s"] for f in frames] == pytest.approx([k * 0.04 for k in due])
    by_t = {e["t"]: [] for f in frames for e in f["events"]}
    for f in frames:
        for e in f["events"]:
            by_t[e["t"]].append(e)
    link = by_t["link_status"]
    x = gs.extra
    for e in link:
        t = e["index"] / 240e3
        assert e["doppler_hz"] == pytest.approx(np.interp(t, x["t_s"], x["doppler_hz"]))
        assert e["residual_hz"] == pytest.approx(np.interp(t, x["t_s"], x["residual_hz"]))
        assert e["centre_doppler_hz"] == pytest.approx(e["doppler_hz"] - e["residual_hz"])
        assert e["elevation_deg"] == pytest.approx(np.interp(t, x["t_s"], x["elevation_deg"]))
    hs_status = {e["slot"]: e for e in by_t["rx_status"] if e["proc"] == "handset"}
    assert [k for k in due if hs_status[k]["locked"]] == [k for k in due if hs.locked[k]]
    assert all(hs_status[k]["snr_db"] is None for k in due if k < 3)  # NaN before lock: null for the page
    assert hs_status[5]["state"] == "camped" and hs_status[8]["state"] == "connected"
    connected = next(f for f in frames if any(e.get("state") == "connected" and e["t"] == "call_state"
                                              for e in f["events"]))
    assert connected["t_s"] == pytest.approx(8 * 0.04)  # the first status frame at or after slot 6
    assert by_t["radio_link_failure"][0]["index"] == 20 * spf
    with_const = [f for f in frames if f["const"]]
    assert with_const and with_const[0]["t_s"] >= n_slots // 2 * 0.04  # the mid-call snapshot, once it exists
