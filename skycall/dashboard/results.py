"""After the call: the run's summary (PESQ/STOI/FER…) and its mouth/ear audio, from the side records.

A run has finished when both processes left their record (``SIDE.npz``, then ``SIDE.json``, written
as each process ends: the ``.json`` files tell that both are complete). The summary is
``summary.json`` when it is newer than the records, else :func:`skycall.call.report.summarise` builds
it (and the WAVs and report) as ``skycall report`` does. Audio: the satellite-side talker
(``dl_mouth``) and what the handset heard (``dl_ear``), the phone's talker (``ul_mouth``) and what the
satellite heard (``ul_ear``), 8 kHz 16-bit WAV.
"""

import io
import json
from pathlib import Path

from skycall.call.record import SideRecord
from skycall.errors import SkycallError
from skycall.vocoder.base import SAMPLE_RATE_HZ

SIDES = ("groundstation", "handset")
#: audio name -> (side record, signal)
AUDIO = {"dl_mouth": ("groundstation", "mouth"), "dl_ear": ("handset", "ear"),
         "ul_mouth": ("handset", "mouth"), "ul_ear": ("groundstation", "ear")}


def records_time(run_dir: Path) -> float | None:
    """When the later process finished writing its record (None until both have)."""
    try:
        return max((run_dir / f"{side}.json").stat().st_mtime for side in SIDES)
    except FileNotFoundError:
        return None


def call_summary(run_dir: Path) -> dict:
    """The run's summary: ``summary.json`` if it is newer than the records, else built now (seconds)."""
    from skycall.call.report import summarise

    done = records_time(run_dir)
    if done is None:
        raise SkycallError(f"{run_dir}: the call has no side records yet (still running, or a process crashed)")
    path = run_dir / "summary.json"
    if path.exists() and path.stat().st_mtime >= done:
        return json.loads(path.read_text())
    return summarise(run_dir)


def audio_wav(run_dir: Path, name: str) -> bytes:
    """One of :data:`AUDIO` as WAV bytes."""
    import soundfile

    side, signal = AUDIO[name]
    pcm = getattr(SideRecord.load(run_dir, side), signal)
    buf = io.BytesIO()
    soundfile.write(buf, pcm, SAMPLE_RATE_HZ, subtype="PCM_16", format="WAV")
    return buf.getvalue()


__all__ = ["AUDIO", "records_time", "call_summary", "audio_wav"]
