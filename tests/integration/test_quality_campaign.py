"""The call-quality campaign end to end on a one-call suite, scoring a user's 44.1 kHz stereo WAV."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from skycall.vocoder.speech import default_speech

ROOT = Path(__file__).resolve().parents[2]


def test_campaign_scores_any_wav_and_fails_on_thresholds(tmp_path):
    speech = default_speech(6.0, ROOT / "out" / "speech")
    t = np.arange(round(len(speech) * 44100 / 8000)) / 44100
    mono = np.interp(t, np.arange(len(speech)) / 8000, speech)
    wav = tmp_path / "talker.wav"
    sf.write(wav, np.stack([mono, 0.5 * mono], axis=1), 44100)  # stereo, 44.1 kHz
    suite = tmp_path / "suite.toml"
    suite.write_text(f"""
[[scenario]]
name = "short"
flowgraph = "{ROOT / 'flowgraphs' / 'loopback_call.toml'}"
call_offsets_s = [-100.0]
duration_s = 8.0
hold_s = 6.0
[scenario.thresholds]
max_pesq_drop = 0.5
max_mouth_to_ear_ms = 1.0
""")
    out = tmp_path / "q"
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "call_quality.py"), str(suite), "--out", str(out),
                          "--jobs", "1", "--speech", str(wav)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 1, res.stderr  # the impossible 1 ms latency threshold must fail the run
    assert "mouth-to-ear" in res.stdout and "1/1" in res.stderr  # progress bar reached the end
    (row,) = json.loads((out / "results.json").read_text())["calls"]
    assert row["speech"].endswith("talker.wav") and row["call_connected"]
    assert row["dl_pesq_nb"] > 2.0 and row["dl_codec_ceiling_pesq_nb"] - row["dl_pesq_nb"] < 0.5
    assert 80 < row["mouth_to_ear_ms"] < 150
    with (out / "results.csv").open() as fh:
        assert next(csv.DictReader(fh))["call"] == row["call"]
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 5  # every plot embedded: the page stands alone
