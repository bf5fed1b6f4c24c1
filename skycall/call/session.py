"""Call control state machines for the two ends of the link, clocked by radio frames.

Time is the frame number (one 40 ms radio frame per tick), never the wall clock, so a run
that is slower or faster than real time makes the same decisions. Each side is a
*control plane* only: ``tick(frame_no)`` returns the signalling frame it wants to send in
that slot (or ``None``), ``on_frame(frame_no, rx)`` digests a received frame, and the user
plane (voice) fills the slots that signalling leaves free while ``in_call`` is true.

Procedure (either side may dial)::

    handset                      satellite (ground station)
      camps on BEACON
      ACCESS  ───────────────▶   registers the handset
              ◀───────────────   ACCESS_ACK
      SETUP   ───────────────▶   (or ◀ SETUP when the satellite dials)
              ◀───────────────   CONNECT     → both in call, VOICE both ways
      RELEASE ───────────────▶   (either side)
              ◀───────────────   RELEASE_ACK

Every request is retried every ``retry_frames`` up to ``max_retries``; during a call a
supervision timer releases the call with RADIO_LINK_FAILURE when no good frame arrived from
the peer for ``supervision_frames``. Uplink timing: ACCESS_ACK carries the timing-advance change the
satellite measured on the ACCESS (like a random-access response), TIMING_ADVANCE frames carry later
corrections; the handset accumulates them in ``network_ta_s`` (see :mod:`skycall.call.timing`).
In ``dl_only`` mode (half-duplex handset radio) the handset never transmits: it camps, and answers
a page by entering the call silently.
"""

from collections import deque
from dataclasses import dataclass

from skycall.call.messages import Cause, MsgType, SystemInfo, pack_cause, pack_ta, unpack_cause, unpack_ta
from skycall.modem.frame import Frame

FRAME_S = 0.04


@dataclass(frozen=True)
class Timers:
    retry_frames: int = 5  # 200 ms between retries of a request
    max_retries: int = 10
    supervision_frames: int = 50  # 2 s without a good frame from the peer ends the call
    beacon_period_frames: int = 10  # a beacon every 400 ms outside calls
    page_frames_dl_only: int = 5  # downlink-only: SETUP sent this many times, then talk


class _Request:
    """One outstanding request, retried until answered or exhausted."""

    def __init__(self, frame: Frame, first_frame_no: int, timers: Timers):
        self.frame, self.due, self.tries, self.timers = frame, first_frame_no, 0, timers

    def poll(self, frame_no: int) -> Frame | None:
        if frame_no < self.due:
            return None
        self.tries += 1
        self.due = frame_no + self.timers.retry_frames
        return self.frame

    @property
    def exhausted(self) -> bool:
        return self.tries >= self.timers.max_retries


class _Side:
    """What both ends share: state with event log, one request in flight, one-shot answers."""

    def __init__(self, name: str, timers: Timers, dl_only: bool):
        self.name, self.timers, self.dl_only = name, timers, dl_only
        self.state = "idle"
        self.call_id = 0
        self.events: list[dict] = []
        self.request: _Request | None = None
        self.answers: deque[Frame] = deque()
        self.tx_seq = 0
        self.last_good_rx = -1
        self.dial_frame: int | None = None
        self.setup_time_s: float | None = None
        self.release_cause: Cause | None = None

    @property
    def in_call(self) -> bool:
        return self.state == "connected"

    def _set(self, frame_no: int, state: str, **info) -> None:
        if state != self.state:
            self.state = state
            self.events.append({"t": "call_state", "side": self.name, "frame": frame_no, "state": state, **info})

    def _frame(self, msg: MsgType, payload: bytes = b"", call_id: int | None = None) -> Frame:
        self.tx_seq = (self.tx_seq + 1) % 4096
        return Frame(
            type=int(msg), seq=self.tx_seq, call_id=self.call_id if call_id is None else call_id, payload=payload
        )

    def _request(self, frame_no: int, msg: MsgType, payload: bytes = b"") -> None:
        self.request = _Request(self._frame(msg, payload), frame_no, self.timers)

    def _connected(self, frame_no: int) -> None:
        self.request = None
        self.last_good_rx = frame_no
        if self.dial_frame is not None:
            self.setup_time_s = (frame_no - self.dial_frame) * FRAME_S
        self._set(frame_no, "connected", call_id=self.call_id, setup_time_s=self.setup_time_s)

    def _released(self, frame_no: int, cause: Cause, next_state: str) -> None:
        self.request = None
        self.release_cause = cause
        self.dial_frame = None
        self._set(frame_no, next_state, cause=cause.name)

    def dial(self, frame_no: int, call_id: int) -> bool:
        """Place a call (send SETUP until answered); False, logged, when the side's ``can_dial`` is false."""
        if not self.can_dial:
            self.events.append({"t": "dial_refused", "side": self.name, "frame": frame_no, "state": self.state})
            return False
        self.call_id, self.dial_frame = call_id, frame_no
        self._set(frame_no, "dialing", call_id=call_id)
        self._request(frame_no, MsgType.SETUP)
        return True

    def hangup(self, frame_no: int, cause: Cause = Cause.NORMAL) -> None:
        """Start releasing the current call (no-op outside a call)."""
        if self.state in ("connected", "dialing"):
            self.release_cause = cause
            self._set(frame_no, "releasing", cause=cause.name)
            if self.dl_only:
                self._released(frame_no, cause, self._idle_state())
            else:
                self._request(frame_no, MsgType.RELEASE, pack_cause(cause))

    def _idle_state(self) -> str:
        return "idle"

    def _common_rx(self, frame_no: int, msg: MsgType, rx) -> bool:
        """Handle CONNECT (answer to our SETUP), RELEASE, RELEASE_ACK; True when the frame was consumed."""
        if msg == MsgType.CONNECT and self.state == "dialing" and rx.call_id == self.call_id:
            self._connected(frame_no)
            return True
        if msg == MsgType.RELEASE and rx.call_id == self.call_id and self.state in ("connected", "releasing"):
            if not self.dl_only:
                self.answers.append(self._frame(MsgType.RELEASE_ACK))
            self._released(frame_no, unpack_cause(rx.payload) if rx.payload else Cause.NORMAL, self._idle_state())
            return True
        if msg == MsgType.RELEASE_ACK and self.state == "releasing":
            self._released(frame_no, self.release_cause or Cause.NORMAL, self._idle_state())
            return True
        return False

    def _poll_request(self, frame_no: int) -> Frame | None:
        if self.request is None:
            return None
        if self.request.exhausted and frame_no >= self.request.due:
            self._request_failed(frame_no)
            return None
        return self.request.poll(frame_no)

    def _request_failed(self, frame_no: int) -> None:
        msg = MsgType(self.request.frame.type)
        self.request = None
        if msg == MsgType.RELEASE:
            self._released(frame_no, self.release_cause or Cause.NORMAL, self._idle_state())
        elif msg == MsgType.SETUP:
            self._released(frame_no, Cause.NO_ANSWER, self._idle_state())
        elif msg == MsgType.ACCESS:
            self._released(frame_no, Cause.ACCESS_FAILURE, "camped")

    def _supervise(self, frame_no: int) -> None:
        if self.state == "connected" and not self.dl_only:
            if frame_no - self.last_good_rx > self.timers.supervision_frames:
                self.events.append(
                    {
                        "t": "radio_link_failure",
                        "side": self.name,
                        "frame": frame_no,
                        "silent_frames": frame_no - self.last_good_rx,
                    }
                )
                self.hangup(frame_no, Cause.RADIO_LINK_FAILURE)


class HandsetSession(_Side):
    """The phone: search → camped → registered (idle) → dialing/connected → releasing → idle."""

    def __init__(self, ue_id: int, timers: Timers = Timers(), dl_only: bool = False, camp_loss_frames: int = 50):
        super().__init__("handset", timers, dl_only)
        self.ue_id = ue_id
        self.state = "searching"
        self.camp_loss_frames = camp_loss_frames
        self.system_info: SystemInfo | None = None
        self.network_ta_s = 0.0  # timing advance commanded by the network since the last ACCESS

    def _idle_state(self) -> str:
        return "camped" if self.dl_only else "idle"

    @property
    def can_dial(self) -> bool:
        """Registered, not in a call, and able to transmit."""
        return self.state == "idle" and not self.dl_only

    def on_frame(self, frame_no: int, rx) -> None:
        """Digest one received downlink frame (``rx`` has type, seq, call_id, payload, crc_ok)."""
        if not rx.crc_ok:
            return
        self.last_good_rx = frame_no
        msg = MsgType(rx.type) if rx.type in MsgType._value2member_map_ else MsgType.IDLE
        if msg == MsgType.BEACON:
            self.system_info = SystemInfo.unpack(rx.payload)
            if self.state == "searching":
                self._set(frame_no, "camped", beam_id=self.system_info.beam_id)
                if not self.dl_only:
                    self._set(frame_no, "registering")
                    self.call_id = self.ue_id
                    self.network_ta_s = 0.0  # a random access starts from the downlink timing alone
                    self._request(frame_no, MsgType.ACCESS, self.ue_id.to_bytes(2, "little"))
        elif msg == MsgType.ACCESS_ACK and self.state == "registering" and rx.call_id == self.ue_id:
            self.request = None
            self.network_ta_s = unpack_ta(rx.payload)
            self._set(frame_no, "idle", timing_advance_us=round(self.network_ta_s * 1e6, 1))
        elif msg == MsgType.TIMING_ADVANCE and rx.call_id == self.ue_id and not self.dl_only:
            self.network_ta_s += unpack_ta(rx.payload)
            self.events.append({"t": "timing_advance", "side": self.name, "frame": frame_no,
                                "timing_advance_us": round(self.network_ta_s * 1e6, 1)})
        elif (
            msg == MsgType.SETUP
            and self.state in ("idle", "camped", "connected")
            and (self.state != "camped" or self.dl_only)
        ):
            if self.state != "connected":
                self.call_id = rx.call_id
                self._connected(frame_no)
            if not self.dl_only and rx.call_id == self.call_id:
                self.answers.append(self._frame(MsgType.CONNECT))
        else:
            self._common_rx(frame_no, msg, rx)

    def tick(self, frame_no: int) -> Frame | None:
        """The uplink signalling frame for this slot, or None (voice may use the slot while in_call)."""
        if self.state != "searching" and frame_no - self.last_good_rx > self.camp_loss_frames:
            if self.state in ("connected", "releasing", "dialing"):
                self.events.append(
                    {
                        "t": "radio_link_failure",
                        "side": self.name,
                        "frame": frame_no,
                        "silent_frames": frame_no - self.last_good_rx,
                    }
                )
                self.release_cause = Cause.RADIO_LINK_FAILURE
            self.request = None
            self.answers.clear()
            self._set(frame_no, "searching", cause="downlink lost")
            return None
        if self.dl_only:
            return None
        if self.answers:
            return self.answers.popleft()
        return self._poll_request(frame_no)


class NetworkSession(_Side):
    """The satellite's call control for one handset: idle → registered → paging/connected → releasing."""

    def __init__(self, sat_id: int, beam_id: int, timers: Timers = Timers(), dl_only: bool = False):
        super().__init__("groundstation", timers, dl_only)
        self.sat_id, self.beam_id = sat_id, beam_id
        self.ue_id: int | None = None
        self.utc_ms0 = 0
        self.common_ta_s = 0.0  # broadcast in the beacon (see skycall.call.timing)
        self.access_ta_s = 0.0  # measured on the last ACCESS, sent back in its ACCESS_ACK

    def _idle_state(self) -> str:
        return "registered" if self.ue_id is not None else "idle"

    @property
    def can_dial(self) -> bool:
        """A registered handset (or, downlink-only, any camped one) and no call in progress."""
        return self.state == "registered" or (self.dl_only and self.state == "idle")

    def on_frame(self, frame_no: int, rx) -> None:
        """Digest one received uplink frame."""
        if not rx.crc_ok:
            return
        msg = MsgType(rx.type) if rx.type in MsgType._value2member_map_ else MsgType.IDLE
        if self.state not in ("connected", "releasing") or rx.call_id == self.call_id:
            self.last_good_rx = frame_no  # in a call, only the call's own frames keep it alive
        if msg == MsgType.ACCESS:
            if self.state in ("connected", "dialing", "releasing") and rx.call_id == self.ue_id:
                # the handset registers afresh: it has lost the call (restarted, or lost the downlink)
                self.events.append({"t": "radio_link_failure", "side": self.name, "frame": frame_no,
                                    "reason": "handset re-registered during the call"})
                self._released(frame_no, Cause.RADIO_LINK_FAILURE, "registered")
            self.ue_id = rx.call_id
            self.answers.append(self._frame(MsgType.ACCESS_ACK, pack_ta(self.access_ta_s), call_id=self.ue_id))
            if self.state == "idle":
                self._set(frame_no, "registered", ue_id=self.ue_id)
        elif msg == MsgType.SETUP and self.state in ("registered", "connected"):
            if self.state == "registered":
                self.call_id = rx.call_id
                self._connected(frame_no)
            if rx.call_id == self.call_id:
                self.answers.append(self._frame(MsgType.CONNECT))
        else:
            self._common_rx(frame_no, msg, rx)

    def command_timing_advance(self, frame_no: int, delta_s: float) -> None:
        """Tell the registered handset to transmit ``delta_s`` earlier (a TIMING_ADVANCE frame, which
        takes a slot like any signalling frame)."""
        self.answers.append(self._frame(MsgType.TIMING_ADVANCE, pack_ta(delta_s), call_id=self.ue_id))
        self.events.append({"t": "timing_advance", "side": self.name, "frame": frame_no,
                            "delta_us": round(delta_s * 1e6, 1)})

    def tick(self, frame_no: int) -> Frame | None:
        """The downlink signalling frame for this slot; None leaves it to voice (in call) or IDLE filler."""
        self._supervise(frame_no)
        if self.answers:
            return self.answers.popleft()
        if self.dl_only and self.state == "dialing" and self.request is not None:
            if self.request.tries >= self.timers.page_frames_dl_only:
                self._connected(frame_no)
                return None
        frame = self._poll_request(frame_no)
        if frame is not None:
            return frame
        if not self.in_call and frame_no % self.timers.beacon_period_frames == 0:
            info = SystemInfo(self.sat_id, self.beam_id, frame_no, self.utc_ms0 + int(frame_no * FRAME_S * 1000),
                              int(round(self.common_ta_s * 1e9)))
            return self._frame(MsgType.BEACON, info.pack(), call_id=0)
        return None
