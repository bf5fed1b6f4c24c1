"""Build both ends of a flowgraph's call (used by the process mains and the in-process runner)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skycall.config.flowgraph import BASEBAND_RATE_SPS, Flowgraph, resolve_path
from skycall.modem.waveform import WaveformConfig
from skycall.vocoder.speech import default_speech, load_speech

#: identities used on the air (any 16-bit values; fixed so runs are reproducible)
UE_ID = 0x2A17
SAT_ID = 1


@dataclass(frozen=True)
class Speech:
    """What each talker says: satellite side → phone (dl) and phone → satellite (ul), 8 kHz."""

    dl: np.ndarray
    ul: np.ndarray


def waveform() -> WaveformConfig:
    """Waveform v1 at the baseband rate."""
    return WaveformConfig(sample_rate_sps=BASEBAND_RATE_SPS)


def load_call_speech(flow: Flowgraph, cache_dir: str | Path) -> Speech:
    """The flowgraph's WAV files, or espeak-ng speech as long as the talk time (cached in ``cache_dir``)."""
    generated = None
    if not (flow.call.speech_dl and flow.call.speech_ul):
        talk_s = flow.duration_s if flow.call.hold_until_end else flow.call.hold_s
        generated = default_speech(float(np.clip(talk_s, 2.0, 30.0)), cache_dir)
    dl = load_speech(resolve_path(flow, flow.call.speech_dl)) if flow.call.speech_dl else generated
    ul = load_speech(resolve_path(flow, flow.call.speech_ul)) if flow.call.speech_ul else generated
    return Speech(dl=dl, ul=ul)


def call_id_for(seed: int) -> int:
    """The call identity the dialling side uses (derived from the flowgraph seed)."""
    return 1 + (int(seed) * 40503) % 0xFFFE
