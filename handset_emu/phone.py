"""The phone: one 40 ms slot of handset processing at baseband (no I/O, no clocks).

Downlink: the phone's oscillator (TCXO, off by ``ε = tcxo_ppm``) → receiver (profile ``unmodified``
or ``satellite``: channel filter, acquisition, numba FOC tracking, timing, Viterbi) → call control →
playout → decoder → ear. A local oscillator running at ``f_dl·(1 + ε)`` puts the downlink
``−ε·f_dl`` off (on top of what the channel left); the receiver's correction ``a`` (its AFC, the
carrier offset it tracks) removes both.
Uplink: call control / talker → encoder → modulator → carrier offset → uplink timing (from the
downlink, minus a timing advance: :mod:`handset_emu.uplink_timing`) → radio. The transmitter runs
from the same oscillator, corrected by the same AFC scaled to the uplink carrier:
``f_tx − f_ul = ε·f_ul + s·a·f_ul/f_dl``. An unmodified phone derives its carrier from the downlink
(``s = +1``: the TCXO error cancels, ``a = f_res − ε·f_dl``) so the downlink residual comes back on
the uplink and the satellite sees about twice it; a satellite-grade (3GPP NTN) phone instead
pre-compensates its own uplink Doppler, treating the downlink offset as Doppler (``s = −1``).

``step`` is a pure function of the slot number and the received samples, so the same
inputs always give the same uplink, whatever the wall clock does.
"""

import numpy as np

from handset_emu.uplink_timing import UplinkTiming
from skycall.call.endpoint import CallEndpoint
from skycall.call.messages import MsgType
from skycall.call.record import RxLog
from skycall.call.session import HandsetSession
from skycall.dsp.rotator import Rotator, TrajectoryRotator
from skycall.modem.frame import Frame
from skycall.modem.profiles import get_profile
from skycall.modem.rx import Receiver
from skycall.modem.tx import Transmitter
from skycall.modem.waveform import WaveformConfig
from skycall.vocoder.base import Vocoder

#: the uplink carrier is re-tuned only when the downlink estimate moved by more than this
RETUNE_STEP_HZ = 1.0
#: call states in which the phone transmits every slot (IDLE frames when it has nothing to say)
CARRIER_ON_STATES = ("dialing", "connected", "releasing")


class Phone:
    """Handset emulator core: ``step(slot, dl, first_index) -> ul``.

    Parameters
    ----------
    waveform : WaveformConfig
        Physical layer (baseband sample rate, frame length).
    receiver_profile : str
        ``"unmodified"`` (terrestrial-grade phone) or ``"satellite"``.
    vocoder : Vocoder
        Speech codec.
    speech : np.ndarray
        What the phone's user says once the call is up (8 kHz float).
    ue_id : int
        Handset identity used for registration.
    dl_only : bool
        Receive-only handset radio (half duplex): never transmits.
    dl_freq_hz, ul_freq_hz : float
        Carrier frequencies, for the uplink's carrier-follows-downlink scaling (and the terrestrial
        receiver's limits, which are in ppm of the downlink carrier).
    tcxo_ppm : float
        The phone's oscillator error before it syncs (+: fast), applied to what it receives and transmits.
    """

    def __init__(
        self,
        waveform: WaveformConfig,
        receiver_profile: str,
        vocoder: Vocoder,
        speech: np.ndarray,
        ue_id: int,
        dl_only: bool = False,
        dl_freq_hz: float = 1545.0e6,
        ul_freq_hz: float = 1646.5e6,
        tcxo_ppm: float = 0.0,
    ):
        self.waveform = waveform
        self.receiver = Receiver(waveform, get_profile(receiver_profile, dl_freq_hz))
        self.tcxo_ppm = float(tcxo_ppm)
        fs = waveform.sample_rate_sps
        dl_lo_hz = -self.tcxo_ppm * 1e-6 * dl_freq_hz
        self._dl_lo = TrajectoryRotator(fs, np.array([0]), np.array([dl_lo_hz])) if dl_lo_hz else None
        self.ul_tcxo_hz = self.tcxo_ppm * 1e-6 * ul_freq_hz
        self.transmitter = Transmitter(waveform)
        self.call = CallEndpoint(HandsetSession(ue_id=ue_id, dl_only=dl_only), vocoder, speech,
                                 send_voice=not dl_only)
        self.ul_scale = ul_freq_hz / dl_freq_hz * (-1.0 if receiver_profile == "satellite" else 1.0)
        self.ul_timing = UplinkTiming(fs, waveform.samples_per_frame, terrestrial=receiver_profile != "satellite")
        self.ul_offset_hz = self.ul_tcxo_hz
        self._ul_phase_rad = 0.0
        self._ul_rotator = Rotator(self.ul_offset_hz, fs)
        self._silence = np.zeros(waveform.samples_per_frame, np.complex64)
        self.log = RxLog()
        self.tx_frames: list = []
        self.snapshot_slot: int | None = None  # keep this slot's input and one decoded frame (report)
        self.snapshot: dict = {}

    def step(self, slot: int, dl: np.ndarray, first_index: int) -> np.ndarray:
        """Process one slot of downlink samples; return one slot of uplink samples (zeros when silent)."""
        if self._dl_lo is not None:
            dl = self._dl_lo.process(dl, first_index)
        frames = self.receiver.process(dl, first_index)
        self.ul_timing.observe(frames)
        self.call.receive(slot, frames)
        self.log.append(self.receiver)
        if slot == self.snapshot_slot:
            self.snapshot["dl"] = dl.copy()
        if frames and "frame" not in self.snapshot and self.snapshot_slot is not None and slot >= self.snapshot_slot:
            self.snapshot["frame"] = frames[0]
        self.call.listen(slot, first_index)
        frame = self.call.tick(slot)
        if frame is None and self.call.session.state in CARRIER_ON_STATES and self.call.send_voice:
            # keep the uplink carrier up through set-up and the call, as a phone does: the satellite's
            # receiver stays locked instead of re-acquiring on the first voice frame
            frame = Frame(type=int(MsgType.IDLE), seq=slot % 4096, call_id=self.call.session.call_id)
        self.tx_frames.append(frame)
        ul = self._silence if frame is None else self._carrier(self.transmitter.process([frame]))
        session = self.call.session
        common = session.system_info.common_ta_ns * 1e-9 if session.system_info is not None else None
        return self.ul_timing.process(ul, self.ul_timing.timing_advance_s(session.network_ta_s, common))

    def _carrier(self, x: np.ndarray) -> np.ndarray:
        """Shift the uplink by the TCXO error plus ± the receiver's correction × f_ul/f_dl, phase-continuously
        (the correction is held while the receiver searches)."""
        if self.receiver.locked:
            target = self.ul_tcxo_hz + float(self.receiver.afc_hz) * self.ul_scale
            if abs(target - self.ul_offset_hz) > RETUNE_STEP_HZ:
                self.ul_offset_hz = target
                self._ul_rotator = Rotator(target, self.waveform.sample_rate_sps, phase_rad=self._ul_phase_rad)
        self._ul_phase_rad = float(
            np.fmod(
                self._ul_phase_rad + 2 * np.pi * self.ul_offset_hz * len(x) / self.waveform.sample_rate_sps, 2 * np.pi
            )
        )
        return self._ul_rotator.process(x)
