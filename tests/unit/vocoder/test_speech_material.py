import shutil

import numpy as np
import pytest
import soundfile

from skycall.errors import MissingDependency
from skycall.vocoder import speech
from skycall.vocoder.speech import SpeechFileError, default_speech, load_speech, make_speech, write_wav

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def _tone(freq_hz, rate_hz, n, amp=0.5):
    return amp * np.sin(2 * np.pi * freq_hz * np.arange(n) / rate_hz)


def _middle(x, margin=400):
    return x[margin:-margin]


def test_stereo_44k1_is_averaged_and_resampled(tmp_path):
    n = 44100
    stereo = np.stack([_tone(440, 44100, n, 0.6), _tone(440, 44100, n, 0.2)], axis=1)
    soundfile.write(tmp_path / "s.wav", stereo, 44100, subtype="PCM_24")
    x = load_speech(tmp_path / "s.wav")
    assert x.dtype == np.float32 and x.shape == (8000,)
    # resample_poly is zero-phase: sample n is the channel mean at t = n / 8000
    np.testing.assert_allclose(_middle(x), _middle(_tone(440, 8000, 8000, 0.4)), atol=2e-3)


def test_16k_int16_mono_removes_content_above_4k(tmp_path):
    n = 16000
    pcm = _tone(1000, 16000, n, 0.4) + _tone(5000, 16000, n, 0.4)  # 5 kHz would alias to 3 kHz
    soundfile.write(tmp_path / "m.wav", pcm, 16000, subtype="PCM_16")
    x = load_speech(tmp_path / "m.wav").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(_middle(x) * np.hanning(x.size - 800)))
    freqs = np.fft.rfftfreq(x.size - 800, 1 / 8000)
    peak_1k = spectrum[np.argmin(np.abs(freqs - 1000))]
    alias_3k = spectrum[np.argmin(np.abs(freqs - 3000))]
    assert 20 * np.log10(alias_3k / peak_1k) < -50  # Kaiser(beta=5) anti-alias stopband ~ -55 dB
    np.testing.assert_allclose(_middle(x), _middle(_tone(1000, 8000, 8000, 0.4)), atol=2e-3)


def test_float_wav_at_8k_is_returned_unchanged(tmp_path):
    pcm = np.random.default_rng(0).uniform(-0.9, 0.9, 4000).astype(np.float32)
    soundfile.write(tmp_path / "f.wav", pcm, 8000, subtype="FLOAT")
    np.testing.assert_array_equal(load_speech(tmp_path / "f.wav"), pcm)


def test_write_wav_round_trip_within_int16_quantisation(tmp_path):
    pcm = np.random.default_rng(1).uniform(-0.99, 0.99, 2000)
    path = write_wav(tmp_path / "sub" / "w.wav", pcm, 8000)
    assert soundfile.info(str(path)).subtype == "PCM_16"
    assert np.max(np.abs(load_speech(path) - pcm)) <= 0.5 / 32768 + 1e-9


def test_write_wav_never_leaves_half_a_file(tmp_path, monkeypatch):
    """Two processes share the cached speech: a reader sees no file or a whole one (temp + rename)."""
    path = write_wav(tmp_path / "w.wav", np.zeros(800, np.float32), 8000)
    real_write = soundfile.write

    def dies_half_way(file, data, *args, **kw):
        assert file != str(path)  # the writer never writes the final name itself
        real_write(file, data[: data.size // 2], *args, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(soundfile, "write", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        write_wav(path, np.ones(1600, np.float32) * 0.5, 8000)
    assert np.array_equal(load_speech(path), np.zeros(800, np.float32))  # the previous file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["w.wav"]  # no temporary left behind


def test_unreadable_files_give_one_clear_error(tmp_path):
    with pytest.raises(SpeechFileError, match="cannot read speech file .*missing.wav"):
        load_speech(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"not a wav")
    with pytest.raises(SpeechFileError, match="junk.wav"):
        load_speech(tmp_path / "junk.wav")
    with pytest.raises(SpeechFileError, match="NaN"):
        write_wav(tmp_path / "n.wav", np.array([0.0, np.nan]))


def _active_level_dbfs(x):
    power = np.mean(x[: x.size // 80 * 80].astype(np.float64).reshape(-1, 80) ** 2, axis=1)
    return 10 * np.log10(power[power > power.max() * 1e-4].mean())


@needs_espeak
def test_make_speech_is_seeded_and_levelled(tmp_path):
    a = make_speech("Open the crate but don't break the glass.", tmp_path / "a.wav", seed=5)
    b = make_speech("Open the crate but don't break the glass.", tmp_path / "b.wav", seed=5)
    np.testing.assert_array_equal(a, b)
    assert soundfile.info(str(tmp_path / "a.wav")).samplerate == 8000
    assert abs(_active_level_dbfs(load_speech(tmp_path / "a.wav")) + 26.0) < 0.1


def test_default_speech_has_exact_length_and_is_cached(speech_8k, speech_dir, monkeypatch):
    assert speech_8k.shape == (160000,) and speech_8k.dtype == np.float32
    assert abs(_active_level_dbfs(speech_8k) + 26.0) < 1.0

    def no_synthesis(*args):
        raise AssertionError("cached speech must not be synthesised again")

    monkeypatch.setattr(speech, "_synthesise", no_synthesis)
    np.testing.assert_array_equal(default_speech(20.0, speech_dir), speech_8k)


def test_missing_espeak_is_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(MissingDependency, match="apt-get install espeak-ng"):
        make_speech("hello", tmp_path / "h.wav")
