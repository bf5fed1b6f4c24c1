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
    assert page.count("data:image/png;base64,") == 6  # every plot embedded: the page stands alone


def test_report_renders_in_a_headless_browser(tmp_path):
    """Debian chromium (optional) screenshots report.html: every embedded plot must decode and show."""
    import shutil

    import pytest

    from skycall.quality.report import write_html

    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    import dataclasses

    from skycall.call.inprocess import run_call_inprocess
    from skycall.config.flowgraph import load_flowgraph

    flow = load_flowgraph(ROOT / "flowgraphs" / "loopback_call.toml")
    flow = dataclasses.replace(flow, duration_s=5.0, call=dataclasses.replace(flow.call, hold_s=3.0))
    s = run_call_inprocess(flow, tmp_path / "call")
    row = {"scenario": "s", "call": "c", "call_offset_s": -100.0, "precompensation": True, "elevation_deg": 40.0,
           "esn0_db_min": 10.0, "passed": True, "dir": str(tmp_path / "call"),
           **{f"dl_{k}": v for k, v in s["dl"].items()}}
    page = write_html([row], tmp_path)
    shot = tmp_path / "shot.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,3600",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)[..., :3]
    drawn_rows = (img.mean(axis=2) < 0.5).any(axis=1).sum()  # rows with axes, curves or text on them
    # the five plots are ~1400 such rows at this width; headings + table alone (broken images) are ~250
    assert drawn_rows > 1000, drawn_rows
