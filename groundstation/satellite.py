"""The satellite: one 40 ms slot of ground-station processing at baseband (no I/O, no clocks).

Downlink: call control (beacons, signalling) / talker → encoder → modulator → pass channel
with beam-centre Doppler **pre**-compensation (numba FOC) → radio.
Uplink: radio → pass channel with beam-centre Doppler **post**-compensation and the satellite
receiver's noise → receiver (``satellite`` profile) → call control → playout → decoder → ear.

Schedule per slot ``k``: ``dl_k = transmit(k)``; the phone answers with ``ul_k``;
``receive(k, ul_k)``. Both processes of a call follow it, in-process or over sockets.
"""

import numpy as np

from groundstation.pass_channel import PassPath
from skycall.call.endpoint import CallEndpoint
from skycall.call.messages import MsgType
from skycall.call.record import RxLog
from skycall.call.session import NetworkSession
from skycall.modem.frame import Frame
from skycall.modem.profiles import get_profile
from skycall.modem.rx import Receiver
from skycall.modem.tx import Transmitter
from skycall.modem.waveform import WaveformConfig
from skycall.vocoder.base import Vocoder


class Satellite:
    """Ground-station core: ``transmit(slot) -> dl`` then ``receive(slot, ul)``.

    Parameters
    ----------
    waveform : WaveformConfig
    dl_path, ul_path : PassPath
        The pass channel each way (``ul_path`` None in downlink-only mode).
    vocoder : Vocoder
    speech : np.ndarray
        What the satellite-side talker says once the call is up (8 kHz float).
    sat_id, beam_id : int
        Broadcast in the beacon.
    dl_only : bool
        Downlink-only call (half-duplex handset radio).
    ul_window : UplinkWindow, optional
        Uplink receive window and timing-advance control (None: every uplink frame is taken).
    """

    def __init__(
        self,
        waveform: WaveformConfig,
        dl_path: PassPath,
        ul_path: PassPath | None,
        vocoder: Vocoder,
        speech: np.ndarray,
        sat_id: int = 1,
        beam_id: int = 0,
        dl_only: bool = False,
        ul_window=None,
    ):
        self.waveform = waveform
        self.dl_path, self.ul_path = dl_path, ul_path
        self.transmitter = Transmitter(waveform)
        self.receiver = Receiver(waveform, get_profile("satellite"))
        self.call = CallEndpoint(NetworkSession(sat_id=sat_id, beam_id=beam_id, dl_only=dl_only), vocoder, speech)
        self.ul_window = ul_window  # groundstation.uplink_window.UplinkWindow: timing admission and TA control
        if ul_window is not None:
            self.call.session.common_ta_s = ul_window.common_ta_s
        self.n = waveform.samples_per_frame
        self.log = RxLog()
        self.tx_frames: list[Frame | None] = []
        self.modulated: np.ndarray | None = None  # the last downlink slot before the pass channel (a raw tap)

    def transmit(self, slot: int) -> np.ndarray:
        """Advance call control to ``slot``; return downlink slot ``slot`` (complex64)."""
        frame = self.call.tick(slot)
        if frame is None:  # the downlink carrier never stops
            frame = Frame(type=int(MsgType.IDLE), seq=slot % 4096, call_id=self.call.session.call_id)
        self.tx_frames.append(frame)
        self.modulated = self.transmitter.process([frame])
        return self.dl_path.process(self.modulated, slot * self.n)

    def set_precompensation(self, on: bool) -> dict:
        """Switch the beam-centre pre-/post-compensation of both directions (from the next slot on)."""
        if not isinstance(on, bool):
            raise ValueError(f"'on' must be true or false, got {on!r}")
        for path in (self.dl_path, self.ul_path):
            if path is not None:
                path.compensate = on
        return {"precompensation": on}

    def receive(self, slot: int, ul: np.ndarray) -> None:
        """Digest uplink slot ``slot`` (the phone's answer to downlink slot ``slot``)."""
        if self.ul_path is not None:
            first = slot * self.n
            frames = self.receiver.process(self.ul_path.process(ul, first), first)
            if self.ul_window is not None:
                frames = self.ul_window.admit(slot, frames, self.call.session)
            self.call.receive(slot, frames)
        self.call.listen(slot, slot * self.n)
        self.log.append(self.receiver)
