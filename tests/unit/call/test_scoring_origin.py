"""Scoring a call whose two sides' stream axes start at different moments (real radios)."""

import shutil
import types

import numpy as np
import pytest

from skycall.call import scoring
from skycall.call.scoring import origin_offset_s, score_speech, shift_slots
from skycall.metrics.speech import align
from skycall.vocoder.base import decode_stream, encode_stream, get_vocoder
from skycall.vocoder.speech import default_speech

FS = 8000


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    return default_speech(6.0, tmp_path_factory.mktemp("speech"))


def _call(speech, latency_s, listener_later_s, total_s=14.0):
    """The talker speaks from 4 s on its axis; the listener hears it ``latency_s`` later in wall time,
    on an axis that starts ``listener_later_s`` after the talker's."""
    vocoder = get_vocoder("opus")
    mouth = np.zeros(round(total_s * FS), np.float32)
    mouth[4 * FS : 4 * FS + len(speech)] = speech
    heard = decode_stream(vocoder, encode_stream(vocoder, mouth))[: len(mouth)]
    shift = round((listener_later_s - latency_s) * FS)  # ear[i] = heard[i + shift]
    ear = np.zeros_like(mouth)
    src = np.arange(len(ear)) + shift
    ok = (src >= 0) & (src < len(heard))
    ear[ok] = heard[src[ok]]
    return mouth, ear, vocoder


def _codec_delay_ms(mouth, vocoder) -> float:
    """The codec's own delay (its look-ahead), measured on the codec alone."""
    return 1000.0 * align(mouth, decode_stream(vocoder, encode_stream(vocoder, mouth))[: len(mouth)], FS)[0] / FS


def test_latency_and_quality_are_the_same_whatever_moment_each_side_started(speech):
    """The listener's axis starting 2.3 s after or 1.7 s before the talker's, or with it: the same PESQ
    and STOI, and the latency (with the stamps' offset) is the 180 ms path plus the codec's own delay."""
    scores = {}
    for later in (0.0, 2.3, -1.7):
        mouth, ear, vocoder = _call(speech, 0.180, later)
        scores[later] = score_speech(mouth, ear, vocoder, offset_s=later)
    codec_ms = _codec_delay_ms(mouth, vocoder)
    for out in scores.values():
        assert out["mouth_to_ear_ms"] == pytest.approx(180.0 + codec_ms, abs=0.2)
        assert out["pesq_nb"] == pytest.approx(scores[0.0]["pesq_nb"], abs=1e-6)
        assert out["stoi"] == pytest.approx(scores[0.0]["stoi"], abs=1e-6)
    assert scores[0.0]["pesq_nb"] > 2.0  # a codec-only path: far above a broken alignment's ~1
    # without the stamps the search (±¼ of the talk, up to 5 s) still finds the 1.38 s lag: it is the
    # latency that needs the stamps
    mouth, ear, vocoder = _call(speech, 0.180, -1.2)
    assert score_speech(mouth, ear, vocoder)["mouth_to_ear_ms"] == pytest.approx(1380.0 + codec_ms, abs=0.2)


def test_long_calls_are_scored_in_segments_that_follow_a_latency_change(speech, monkeypatch):
    """A call longer than LONG_S is scored in SEGMENT_S pieces: the latency grows by 40 ms half way
    through, and each segment finds its own (LONG_S, SEGMENT_S scaled down to keep the test short)."""
    monkeypatch.setattr(scoring, "LONG_S", 8.0)
    monkeypatch.setattr(scoring, "SEGMENT_S", 4.0)
    vocoder = get_vocoder("opus")
    talk = np.tile(speech, 2)[: 12 * FS]
    mouth = np.zeros(14 * FS, np.float32)
    mouth[FS : FS + len(talk)] = talk
    heard = decode_stream(vocoder, encode_stream(vocoder, mouth))[: len(mouth)]
    ear = np.zeros_like(mouth)
    half = 7 * FS
    ear[1200:half] = heard[: half - 1200]  # 150 ms behind
    ear[half:] = heard[half - 1520 : len(heard) - 1520]  # 190 ms behind from 7 s on
    out = score_speech(mouth, ear, vocoder)
    codec_ms = _codec_delay_ms(mouth, vocoder)
    lat = [s["mouth_to_ear_ms"] - codec_ms for s in out["segments"]]
    assert len(lat) == 3 and lat[0] == pytest.approx(150, abs=0.2) and lat[-1] == pytest.approx(190, abs=0.2)
    assert all(s["pesq_nb"] > 2.0 for s in out["segments"])


def test_stream_origin_comes_from_the_slot_stamps_only_on_own_clocks():
    def rec(t0, own):
        times = t0 + 0.04 * np.arange(100) + np.random.default_rng(1).normal(0, 2e-4, 100)
        times[[3, 50]] = np.nan  # slots never received
        return types.SimpleNamespace(meta={"radio": {"own_clock": own}}, extra={"slot_time_s": times})

    assert origin_offset_s(rec(1000.0, True), rec(1002.5, True)) == pytest.approx(2.5, abs=1e-3)
    assert origin_offset_s(rec(1000.0, True), rec(1002.5, False)) == 0.0  # lock-step: shared origin
    np.testing.assert_array_equal(shift_slots(np.arange(5.0), 2, 6), [0, 0, 0, 1, 2, 3])
