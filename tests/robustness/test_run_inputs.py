"""Issue 20 #11, #12, #13, #16, #17: what ``skycall run`` is given — NaN and everything a run reads later
is refused by ``validate`` and by ``run`` before anything starts; an unusable ``--out``, a path-like
process name, a reused or shared run directory each get one clear answer; so do the campaign's
``--out`` and any file a command cannot write."""

import os
import shutil

import numpy as np
import pytest
import soundfile
from robust_helpers import ROOT, events, peer_entries, read_json, skycall, write_flowgraph

from skycall.cli import main
from skycall.runner.rundir import RunDir

TLE = (ROOT / "groundstation" / "data" / "skycall-1.tle").read_text()


def _bad_numbers(tmp_path):
    return write_flowgraph(tmp_path, body="[air]\nnoise_floor_dbfs = nan\nlo_offset_ppm = inf\n")


def _bad_inputs(tmp_path):
    (tmp_path / "bad.tle").write_text(TLE.replace("  9996", "  9995"))  # line 1's checksum digit is wrong
    soundfile.write(str(tmp_path / "nan.wav"), np.array([0.1, np.nan, 0.2] * 1000, np.float32), 8000,
                    subtype="FLOAT")  # fmt: skip
    body = """
[pass]
start_utc = "yesterday at noon"
tle = "bad.tle"
[call]
speech_dl = "missing.wav"
speech_ul = "nan.wav"
"""
    return write_flowgraph(tmp_path, body=body)


@pytest.mark.parametrize(("make", "expected"), [
    (_bad_numbers, [("air.noise_floor_dbfs", "nan is not a finite number"),
                    ("air.lo_offset_ppm", "inf is not a finite number")]),
    (_bad_inputs, [("pass.start_utc", "ISO 8601"), ("pass.tle", "checksum"), ("call.speech_dl", "cannot read"),
                   ("call.speech_ul", "NaN")]),
])  # fmt: skip
def test_validate_names_every_input_a_run_would_trip_on(tmp_path, make, expected):
    res = skycall("validate", make(tmp_path))
    assert res.returncode == 1, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == len(expected), lines  # one line per problem
    for key, why in expected:
        assert any(key in line and why in line for line in lines), (key, res.stdout)


def test_odd_but_valid_wav_formats_are_accepted(tmp_path):
    rng = np.random.default_rng(5)
    pcm = 0.3 * rng.standard_normal((4410, 2))
    soundfile.write(str(tmp_path / "a.wav"), pcm, 44100, subtype="PCM_24")  # stereo, 24-bit, 44.1 kHz
    soundfile.write(str(tmp_path / "b.wav"), pcm[:, 0], 11025, subtype="PCM_U8")  # 8-bit unsigned
    flow = write_flowgraph(tmp_path, body='[call]\nspeech_dl = "a.wav"\nspeech_ul = "b.wav"\n')
    res = skycall("validate", flow)
    assert res.returncode == 0 and res.stdout.startswith("OK"), res.stdout


def _file(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("not a directory")
    return path, "is a file"


def _under_file(tmp_path):
    return _file(tmp_path)[0] / "sub", "cannot create"


def _other_users(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to make a directory of another user")
    path = tmp_path / "theirs"
    path.mkdir()
    os.chown(path, 65534, 65534)
    return path, "belongs to uid 65534"


@pytest.mark.parametrize("make", [_file, _under_file, _other_users])
def test_an_unusable_out_directory_gets_one_clear_message(tmp_path, capsys, make):
    flow = write_flowgraph(tmp_path)
    out, why = make(tmp_path)
    assert main(["run", str(flow), "--out", str(out), *peer_entries("gs", "hs")]) == 2
    err = capsys.readouterr().err
    assert why in err and "--out" in err and "Traceback" not in err, err


@pytest.mark.parametrize("make", [_file, _under_file])
def test_the_campaign_refuses_an_unusable_out_before_any_call(tmp_path, capsys, make):
    out, why = make(tmp_path)
    assert main(["quality", "--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert why in err and "--out" in err and "Traceback" not in err, err


def test_a_file_a_command_cannot_write_is_one_line_not_a_traceback(tmp_path):
    target = tmp_path / "missing" / "pass.json"
    res = skycall("pass", "--altitude-km", "600", "--lat", "48", "--lon", "11", "--next-pass", "--json", target)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.strip().splitlines() == [f"skycall pass: error: {target}: No such file or directory"]


def test_a_path_like_process_name_is_refused(tmp_path, capsys):
    flow = write_flowgraph(tmp_path, names=("../../../../x", "hs"), links=())  # no links: only the name is wrong
    res = skycall("validate", flow)
    assert res.returncode == 1 and res.stdout.count("ERROR") == 1, res.stdout
    assert "process[0].name" in res.stdout and "does not match" in res.stdout
    out = tmp_path / "deep" / "er" / "out"
    assert main(["run", str(flow), "--out", str(out), "--logs"]) == 2
    assert not (tmp_path / "deep").exists() and not list(tmp_path.glob("**/x.log"))


def test_a_reused_directory_starts_fresh_unless_appending(tmp_path):
    flow = write_flowgraph(tmp_path, duration_s=0.1)
    out = tmp_path / "out"
    out.mkdir()
    earlier = '{"t": "done", "proc": "gs", "index": 1, "wall": 0}\n'
    (out / "telemetry.jsonl").write_text(earlier)  # what an earlier run left
    (out / "handset.npz").write_bytes(b"a stale record of an earlier run")
    res = skycall("run", flow, "--out", out, *peer_entries("gs", "hs"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(e["proc"] for e in events(out) if e["t"] == "done") == ["gs", "hs"]  # this run's only
    assert earlier not in (out / "telemetry.jsonl").read_text()
    assert not (out / "handset.npz").exists()  # an earlier run's record can never be reported as this one's
    res = skycall("run", flow, "--out", out, "--append", *peer_entries("gs", "hs"))
    assert res.returncode == 0
    assert [e["t"] for e in events(out)].count("done") == 4
    assert read_json(out / "run.json")["processes"]["gs"]["status"] == "completed"


def test_a_second_run_in_the_same_directory_is_refused_while_the_first_lives(tmp_path, capsys):
    flow = write_flowgraph(tmp_path)
    out = tmp_path / "out"
    first = RunDir(out)
    first.open(["gs", "hs"])  # this test process plays the first run
    try:
        assert main(["run", str(flow), "--out", str(out), *peer_entries("gs", "hs")]) == 2
        err = capsys.readouterr().err
        assert f"in use by another skycall run (pid {os.getpid()})" in err
        assert (out / "run.key").exists()  # the first run's key was left alone
    finally:
        first.close()
    shutil.rmtree(out)
