import shutil

import numpy as np
import pytest
from scipy.signal import resample_poly

from skycall.metrics.speech import (
    SpeechMetricError,
    SpeechQualityWarning,
    align,
    codec_ceiling,
    pesq_nb,
    pesq_wb,
    stoi,
)
from skycall.vocoder import decode_stream, encode_stream, get_vocoder
from skycall.vocoder.speech import make_speech

FS = 8000


@pytest.fixture(scope="module")
def talk(tmp_path_factory) -> np.ndarray:
    """About 5.6 s of espeak-ng speech at 8 kHz."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    text = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background."
    return make_speech(text, tmp_path_factory.mktemp("talk") / "talk.wav")


def _with_noise(x, snr_db, seed=0):
    noise = np.random.default_rng(seed).standard_normal(x.size)
    return x + noise * np.sqrt(np.mean(x.astype(np.float64) ** 2) / 10 ** (snr_db / 10))


def _p862_mapping(raw, a, b):
    """ITU-T P.862.1 (a=1.4945, b=4.6607) / P.862.2 (a=1.3669, b=3.8224) raw-to-MOS-LQO mapping."""
    return 0.999 + 4.0 / (1.0 + np.exp(-a * raw + b))


def test_identical_signals_score_the_mapped_pesq_maximum(talk):
    """Raw PESQ of a signal against itself is 4.5; the score is its P.862.1 / P.862.2 mapping."""
    assert pesq_nb(talk, talk) == pytest.approx(_p862_mapping(4.5, 1.4945, 4.6607), abs=1e-4)
    talk16 = resample_poly(talk, 2, 1)
    assert pesq_wb(talk16, talk16) == pytest.approx(_p862_mapping(4.5, 1.3669, 3.8224), abs=1e-4)
    assert stoi(talk, talk, FS) == pytest.approx(1.0, abs=1e-9)


def test_scores_fall_as_noise_rises(talk):
    pesq_scores = [pesq_nb(talk, _with_noise(talk, snr)) for snr in (30, 15, 0)]
    stoi_scores = [stoi(talk, _with_noise(talk, snr), FS) for snr in (30, 15, 0)]
    assert pesq_scores[0] > pesq_scores[1] > pesq_scores[2] >= 1.0
    assert stoi_scores[0] > stoi_scores[1] > stoi_scores[2] > 0.0


@pytest.mark.parametrize("lag", [0, 1, 1234, -777])
def test_align_recovers_a_known_lag_exactly(talk, lag):
    deg = _with_noise(talk, 0.0, seed=lag % 7)  # 0 dB SNR
    deg = np.concatenate((np.zeros(lag), deg)) if lag >= 0 else deg[-lag:]
    got, ref_aligned, deg_aligned = align(talk, deg, FS)
    assert got == lag
    n = min(talk.size, deg.size - max(lag, 0))
    np.testing.assert_array_equal(ref_aligned, talk[max(-lag, 0) :][:n])
    np.testing.assert_array_equal(deg_aligned, deg[max(lag, 0) :][:n])


def test_align_is_shift_equivariant_through_codec2(talk):
    """Codec2 does not keep the waveform; extra delay must still add exactly to the estimated lag."""
    v = get_vocoder("codec2")
    y = decode_stream(v, encode_stream(v, talk))
    base, _, _ = align(talk, y, FS)
    shifted, _, _ = align(talk, np.concatenate((np.zeros(2000), y)), FS)
    assert shifted - base == 2000
    assert 0 < base < 0.05 * FS  # Codec2 3200 delay is a few tens of ms


def test_codec_ceiling_resets_the_vocoder_and_beats_the_noisy_channel(talk):
    v = get_vocoder("opus")
    encode_stream(v, talk[:4000])  # leave the encoder mid-stream
    first = codec_ceiling(talk, v)
    assert codec_ceiling(talk, v) == first
    assert first > pesq_nb(talk, _with_noise(talk, 15))


def test_silent_degraded_signal_gives_nan_with_a_warning(talk):
    with pytest.warns(SpeechQualityWarning, match="degraded signal is silent"):
        assert np.isnan(pesq_nb(talk, np.zeros_like(talk)))


def test_bad_inputs_give_one_clear_error(talk):
    with pytest.raises(SpeechMetricError, match="wide-band PESQ is defined at 16000 Hz only"):
        pesq_wb(talk, talk, 8000)
    with pytest.raises(SpeechMetricError, match="fs 8000 or 16000"):
        pesq_nb(talk, talk, 44100)
    with pytest.raises(SpeechMetricError, match="at least 0.25 s"):
        pesq_nb(talk[:1000], talk[:1000])
    with pytest.raises(SpeechMetricError, match="NaN"):
        pesq_nb(talk, np.full_like(talk, np.nan))
    with pytest.raises(SpeechMetricError, match="1-D"):
        stoi(np.stack([talk, talk]), talk, FS)
    with pytest.raises(SpeechMetricError, match="use align"):
        stoi(talk, talk[:-1], FS)
