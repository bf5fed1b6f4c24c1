"""One end of a call: call control plus the voice user plane, per radio slot."""

import numpy as np

from skycall.call.messages import MsgType
from skycall.call.session import HandsetSession, NetworkSession
from skycall.call.voice import VoiceSink, VoiceSource
from skycall.modem.frame import Frame
from skycall.vocoder.base import Vocoder


class CallEndpoint:
    """Feeds received frames to call control and the listener; picks the frame to send each slot.

    Signalling pre-empts voice (like a fast associated control channel): a slot taken by a
    signalling frame is a lost voice frame at the far end.

    Parameters
    ----------
    session : HandsetSession | NetworkSession
    vocoder : Vocoder
    speech : np.ndarray
        The talker at this end (8 kHz float), starting when the call connects.
    send_voice : bool
        False for a receive-only (downlink-only) handset.
    """

    def __init__(self, session: HandsetSession | NetworkSession, vocoder: Vocoder, speech: np.ndarray,
                 send_voice: bool = True):
        self.session = session
        self.talker = VoiceSource(vocoder, speech)
        self.listener = VoiceSink(vocoder)
        self.send_voice = send_voice
        self.rx_frames: list = []

    def receive(self, slot: int, frames: list) -> None:
        """Digest the frames the receiver decoded during ``slot``."""
        for rx in frames:
            self.rx_frames.append(rx)
            self.session.on_frame(slot, rx)
            s = self.session
            if rx.crc_ok and rx.type == MsgType.VOICE and s.in_call and rx.call_id == s.call_id:
                self.listener.push(rx.seq, rx.payload, rx.sample_index)

    def listen(self, slot: int, slot_sample_index: int) -> None:
        """Play slot ``slot`` to the ear (call after the slot's frames were received)."""
        self.listener.tick(slot, slot_sample_index, self.session.in_call)

    def tick(self, slot: int) -> Frame | None:
        """Advance call control by one slot; the frame to send in it, or None."""
        s = self.session
        if s.in_call:
            self.talker.start(slot)
        frame = s.tick(slot)
        if frame is None and s.in_call and self.send_voice:
            voice = self.talker.next_frame(slot)
            if voice is not None:
                frame = Frame(type=int(MsgType.VOICE), seq=voice[0], call_id=s.call_id, payload=voice[1])
        return frame
