"""Call tasks: keyed by the content of their whole configuration, carrying their files, runnable anywhere."""

import dataclasses
import pickle
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

from skycall.quality.scenario import expand, load_scenario
from skycall.quality.task import TLE_NAME, code_fingerprint, make_tasks, materialise, speech_digest

ROOT = Path(__file__).resolve().parents[3]
FLOW = ROOT / "flowgraphs" / "loopback_call.toml"
TLE = ROOT / "groundstation" / "data" / "skycall-1.tle"


def _calls(tmp_path, body: str, name="suite.toml"):
    path = tmp_path / name
    path.write_text(f'[[scenario]]\nname = "s"\nflowgraph = "{FLOW}"\ncall_offsets_s = [-100.0, 0.0]\n' + body)
    return [c for sc in load_scenario(path).scenario for c in expand(sc)]


def _wav(path: Path, scale: float) -> str:
    t = np.arange(8000 * 2) / 8000
    sf.write(path, scale * np.sin(2 * np.pi * 440 * t), 8000)
    return path.name


def _keys(tmp_path, body: str, name="suite.toml") -> list[str]:
    tasks, _ = make_tasks(_calls(tmp_path, body, name), tmp_path / "speech")
    return [t.key for t in tasks]


def test_key_follows_configuration_content(tmp_path):
    """The key covers what the row shows (the speech file's name as given) and the content of every file."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _wav(tmp_path / "talk.wav", 0.3)
    shutil.copy(TLE, tmp_path / "a" / "sat.tle")
    shutil.copy(TLE, tmp_path / "b" / "sat.tle")
    body = f'speech = ["{tmp_path / "talk.wav"}"]\ntle = "sat.tle"\n'
    base = _keys(tmp_path / "a", body)
    assert len(set(base)) == 2  # the two offsets differ
    assert _keys(tmp_path / "b", body) == base  # the same suite and TLE elsewhere on disk: the same calls
    assert _keys(tmp_path / "a", body) == base  # deterministic
    changed = {
        "threshold": body + "[scenario.thresholds]\nmax_fer = 0.1\n",
        "beam": body + "handset_offset_km = 7.0\n",
        "duration": body + "duration_s = 9.0\n",
    }
    for what, text in changed.items():
        assert set(_keys(tmp_path / "a", text)).isdisjoint(base), what
    _wav(tmp_path / "talk.wav", 0.31)  # same path, other samples
    assert set(_keys(tmp_path / "a", body)).isdisjoint(base)
    _wav(tmp_path / "talk.wav", 0.3)
    assert _keys(tmp_path / "b", body) == base
    lines = TLE.read_text().splitlines()
    (tmp_path / "b" / "sat.tle").write_text("\n".join(lines[1:]) + "\n")  # same elements, no name line
    assert set(_keys(tmp_path / "b", body)).isdisjoint(base)


def test_task_carries_its_files_and_runs_from_its_own_directory(tmp_path):
    (tmp_path / "suite").mkdir()
    shutil.copy(TLE, tmp_path / "suite" / "sat.tle")
    wav = _wav(tmp_path / "suite" / "talk.wav", 0.3)
    tasks, speeches = make_tasks(_calls(tmp_path / "suite", f'speech = ["{wav}"]\ntle = "sat.tle"\n'),
                                 tmp_path / "speech")
    assert len(speeches) == 1 and {t.speech for t in tasks} == set(speeches)  # one copy of shared speech
    shutil.rmtree(tmp_path / "suite")  # a worker elsewhere has none of the client's files
    task = pickle.loads(pickle.dumps(tasks[0]))
    assert task.call.flow.call.speech_dl == task.call.flow.call.speech_ul == ""
    assert task.code == code_fingerprint()
    work = tmp_path / "worker"
    work.mkdir()
    call = materialise(task, work)
    assert call.flow.pass_.tle == str(work / TLE_NAME) and (work / TLE_NAME).read_text() == TLE.read_text()
    assert dataclasses.replace(call.flow, pass_=task.call.flow.pass_) == task.call.flow


def test_speech_digest_sees_every_sample():
    from skycall.call.build import Speech

    a = np.zeros(800, np.float32)
    b = a.copy()
    b[-1] = np.float32(1e-30)
    assert speech_digest(Speech(a, a)) != speech_digest(Speech(a, b)) != speech_digest(Speech(b, a))
    assert speech_digest(Speech(a, a)) != speech_digest(Speech(a.astype(np.float64), a))
