"""Speech material: read any WAV as 8 kHz mono float32, write WAVs, synthesise test talk with espeak-ng.

The default test utterance is a sequence of Harvard sentences (IEEE 1969 phonetically balanced
lists, public domain) spoken by alternating male and female espeak-ng voices, levelled to an active
speech RMS of -26 dBFS (the usual ITU-T P.56 test level), and cached as a WAV file.
"""

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import resample_poly

from skycall.errors import MissingDependency, SkycallError
from skycall.fileio import atomic_path
from skycall.rng import make_rng
from skycall.vocoder.base import SAMPLE_RATE_HZ

HARVARD_SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
)
VOICES = ("en-us+m3", "en-us+f3", "en+m1", "en-us+f2")
ACTIVE_LEVEL_DBFS = -26.0
_PAUSE_S = 0.35
_FADE_S = 0.01


class SpeechFileError(SkycallError):
    """A speech file cannot be read or written, or its content is unusable."""


def load_speech(path: str | Path) -> np.ndarray:
    """Read any WAV (any rate, mono or multi-channel, int or float) as mono float32 at 8000 Hz.

    Channels are averaged; the rate is changed with a polyphase FIR (``scipy.signal.resample_poly``,
    up/down = 8000/fs reduced by their gcd), whose Kaiser-windowed anti-alias filter keeps 0..4 kHz.
    """
    path = Path(path)
    try:
        data, rate_hz = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as exc:
        raise SpeechFileError(f"cannot read speech file {path}: {exc}") from exc
    if data.shape[0] == 0:
        raise SpeechFileError(f"speech file {path} holds no samples")
    mono = data.mean(axis=1, dtype=np.float64)
    if rate_hz != SAMPLE_RATE_HZ:
        g = np.gcd(int(rate_hz), SAMPLE_RATE_HZ)
        mono = resample_poly(mono, SAMPLE_RATE_HZ // g, int(rate_hz) // g)
    return mono.astype(np.float32)


def write_wav(path: str | Path, pcm: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> Path:
    """Write a 1-D float signal as a 16-bit PCM mono WAV; return the path.

    Samples are quantised as ``clip(rint(32768 * pcm), -32768, 32767)``, the inverse of the
    ``int / 32768`` scaling used when reading, so a round trip is exact to half an LSB.
    """
    pcm = np.asarray(pcm)
    if pcm.ndim != 1 or not np.issubdtype(pcm.dtype, np.floating):
        raise SpeechFileError(f"write_wav takes a 1-D float signal, got {pcm.dtype} shape {pcm.shape}")
    if not np.all(np.isfinite(pcm)):
        raise SpeechFileError(f"refusing to write {path}: the signal contains NaN or infinity")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm16 = np.clip(np.rint(pcm * 32768.0), -32768, 32767).astype(np.int16)
    with atomic_path(path) as tmp:  # a reader (another process taking the cached speech) never sees half a file
        soundfile.write(str(tmp), pcm16, int(sample_rate_hz), subtype="PCM_16")
    return path


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise MissingDependency("speech synthesis needs espeak-ng: install it with `apt-get install espeak-ng`")
    return exe


def _synthesise(text: str, voice: str, speed_wpm: int, pitch: int) -> np.ndarray:
    """One espeak-ng utterance as 8 kHz float32."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "utt.wav"
        cmd = [_espeak(), "-v", voice, "-s", str(speed_wpm), "-p", str(pitch), "-w", str(wav), text]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not wav.exists():
            raise SkycallError(f"espeak-ng failed for voice {voice!r}: {done.stderr.strip() or done.returncode}")
        return load_speech(wav)


def _level(pcm: np.ndarray, level_dbfs: float = ACTIVE_LEVEL_DBFS) -> np.ndarray:
    """Scale so the RMS over active 10 ms blocks (within 40 dB of the loudest) is ``level_dbfs``."""
    block = SAMPLE_RATE_HZ // 100
    n = pcm.size // block * block
    power = np.mean(pcm[:n].reshape(-1, block).astype(np.float64) ** 2, axis=1)
    if n == 0 or power.max() <= 0.0:
        raise SkycallError("espeak-ng produced silence")
    active = power[power > power.max() * 1e-4]
    gain = 10.0 ** (level_dbfs / 20.0) / np.sqrt(active.mean())
    return np.clip(pcm * gain, -1.0, 1.0).astype(np.float32)


def make_speech(text: str, path: str | Path, seed: int | None = None) -> np.ndarray:
    """Synthesise ``text`` with espeak-ng, level it to -26 dBFS, write it to ``path`` (8 kHz WAV).

    Without ``seed`` the voice is ``en-us`` at 150 words/min, pitch 50; with a seed, the voice
    variant (one of :data:`VOICES`), speed (140..170 wpm) and pitch (35..65) are drawn from
    ``make_rng(seed)``. Returns the written signal (float32, 8000 Hz).
    """
    if not text.strip():
        raise SkycallError("make_speech needs non-empty text")
    if seed is None:
        voice, speed_wpm, pitch = "en-us", 150, 50
    else:
        rng = make_rng(seed)
        voice = VOICES[int(rng.integers(len(VOICES)))]
        speed_wpm, pitch = int(rng.integers(140, 171)), int(rng.integers(35, 66))
    pcm = _level(_synthesise(text, voice, speed_wpm, pitch))
    write_wav(path, pcm)
    return pcm


def default_speech(duration_s: float = 20.0, out_dir: str | Path = "out/speech") -> np.ndarray:
    """A ``duration_s`` test utterance (8 kHz float32), built once and cached in ``out_dir``.

    Harvard sentences in order, voices cycling through :data:`VOICES`, 0.35 s pauses between
    sentences, cut to exactly ``round(duration_s * 8000)`` samples with a 10 ms fade-out.
    The cache file name hashes the sentences, voices, duration and espeak-ng version.
    """
    if not 1.0 <= duration_s <= len(HARVARD_SENTENCES) * 2.0:
        raise SkycallError(f"default_speech duration_s={duration_s} must be 1..{len(HARVARD_SENTENCES) * 2} s")
    n_samples = round(duration_s * SAMPLE_RATE_HZ)
    version = subprocess.run([_espeak(), "--version"], capture_output=True, text=True, check=False).stdout
    key = repr((HARVARD_SENTENCES, VOICES, n_samples, _PAUSE_S, ACTIVE_LEVEL_DBFS, version.strip()))
    path = Path(out_dir) / f"speech_{duration_s:g}s_{hashlib.sha256(key.encode()).hexdigest()[:12]}.wav"
    if path.exists():
        return load_speech(path)
    pause = np.zeros(round(_PAUSE_S * SAMPLE_RATE_HZ), dtype=np.float32)
    parts, total = [], 0
    for i, sentence in enumerate(HARVARD_SENTENCES):
        utterance = _level(_synthesise(sentence, VOICES[i % len(VOICES)], 160, 50))
        parts += [utterance, pause]
        total += utterance.size + pause.size
        if total >= n_samples:
            break
    pcm = np.concatenate(parts)[:n_samples]
    pcm = np.concatenate((pcm, np.zeros(n_samples - pcm.size, dtype=np.float32)))
    n_fade = round(_FADE_S * SAMPLE_RATE_HZ)
    pcm[-n_fade:] *= np.linspace(1.0, 0.0, n_fade, dtype=np.float32)
    write_wav(path, pcm)
    return load_speech(path)
