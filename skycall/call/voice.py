"""The voice user plane: a talker ("mouth") feeding the encoder, and a listener ("ear") behind
the playout buffer and decoder, each laid on its own process's stream-time axis.

Stream time is the slot axis of the process (slot k = 40 ms, sample k·F of its 8 kHz signals).
In loopback and lock-step runs both processes share that axis, so the cross-correlation lag of one
side's mouth and the other's ear is the mouth-to-ear latency (framing + transmission + propagation +
processing + playout). With real radios each process's axis starts when its own radio did: the
report aligns them by a wide cross-correlation and the slots' wall-clock stamps
(:mod:`skycall.call.scoring`). One radio slot (40 ms) carries one vocoder frame: the speech captured
during slot ``s`` is sent in slot ``s + 1``.
"""

import numpy as np

from skycall.call.messages import SEQ_MOD
from skycall.vocoder.base import Vocoder
from skycall.vocoder.playout import PlayoutBuffer


class VoiceSource:
    """Plays ``speech`` (8 kHz float, repeated for as long as the call lasts) into the call.

    Frame ``j`` (``speech[j·F:(j+1)·F]`` of the repeated speech, F = samples per frame) is sent in slot
    ``connect_slot + 1 + j``; slots the caller skips (lost to the radio) skip their frames, as a real
    talker keeps talking. The mouth is what was spoken up to the last frame sent.
    """

    def __init__(self, vocoder: Vocoder, speech: np.ndarray):
        self.vocoder = vocoder
        self.speech = np.asarray(speech, dtype=np.float32)
        self.connect_slot: int | None = None
        self.last_slot: int | None = None

    def start(self, connect_slot: int) -> None:
        """The call connected in ``connect_slot``: the talker starts speaking at its start."""
        if self.connect_slot is None:
            self.connect_slot = connect_slot
            self.vocoder.reset()

    def _speech(self, first: int, n: int) -> np.ndarray:
        """Samples ``first … first+n−1`` of the speech repeated end to end."""
        if not len(self.speech):
            return np.zeros(n, np.float32)
        return self.speech[np.arange(first, first + n) % len(self.speech)]

    def next_frame(self, slot: int) -> tuple[int, bytes] | None:
        """``(voice_seq, payload)`` to send in ``slot``, or None before the first frame is captured."""
        if self.connect_slot is None or slot <= self.connect_slot:
            return None
        j = slot - self.connect_slot - 1
        n = self.vocoder.frame_samples
        self.last_slot = slot
        return j % SEQ_MOD, self.vocoder.encode(self._speech(j * n, n))

    def mouth(self, total_slots: int) -> np.ndarray:
        """The talker's signal on the stream-time axis (8 kHz, ``total_slots`` × 40 ms long)."""
        n = self.vocoder.frame_samples
        out = np.zeros(total_slots * n, np.float32)
        if self.connect_slot is not None and self.last_slot is not None:
            start = self.connect_slot * n
            stop = min(len(out), (self.last_slot - 1 - self.connect_slot) * n + n + start)
            out[start:stop] = self._speech(0, max(stop - start, 0))
        return out


class VoiceSink:
    """Playout buffer + decoder writing the listener's signal on the stream-time axis.

    Before playout starts the ear hears silence; afterwards an empty slot is concealed by the
    vocoder (packet-loss concealment), a received one is decoded.
    """

    def __init__(self, vocoder: Vocoder, depth_frames: int = 1):
        self.vocoder = vocoder
        self.playout = PlayoutBuffer(target_depth_frames=depth_frames)
        self._ear: list[np.ndarray] = []
        self._silence = np.zeros(vocoder.frame_samples, np.float32)

    def set_depth(self, depth_frames: int) -> None:
        """Buffer ``depth_frames`` before playing (before the call). One frame is enough when both ends
        share a sample clock; with two radios on their own clocks frames arrive at any phase of the
        listener's slots, jittering across a slot edge, and a second frame absorbs that."""
        self.playout = PlayoutBuffer(target_depth_frames=depth_frames)

    def push(self, voice_seq: int, payload: bytes | None, sample_index: int) -> None:
        """A VOICE frame arrived (``payload`` None: its CRC failed; the frame's padding is cut off)."""
        self.playout.push(voice_seq, None if payload is None else payload[: self.vocoder.payload_bytes], sample_index)

    def tick(self, slot: int, slot_sample_index: int, in_call: bool = True) -> None:
        """Produce the ear's 40 ms of slot ``slot`` (once per slot, in order); silence outside calls."""
        while len(self._ear) < slot:
            self._ear.append(self._silence)
        payload = self.playout.pop(slot_sample_index) if in_call else None
        if not (in_call and self.playout.started):
            self._ear.append(self._silence)
        else:
            self._ear.append(self.vocoder.decode(payload) if payload is not None else self.vocoder.conceal())

    def ear(self, total_slots: int) -> np.ndarray:
        """The listener's signal on the stream-time axis (8 kHz, ``total_slots`` × 40 ms)."""
        out = np.concatenate(self._ear) if self._ear else np.zeros(0, np.float32)
        n = total_slots * self.vocoder.frame_samples
        return np.pad(out, (0, max(0, n - len(out))))[:n].astype(np.float32)

    def frame_error_rate(self) -> float:
        """Lost + erased frames over all slots played since playout started."""
        s = self.playout.stats
        total = s.played + s.lost + s.erased
        return (s.lost + s.erased) / total if total else float("nan")
