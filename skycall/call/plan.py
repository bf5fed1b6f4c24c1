"""The scripted call of a flowgraph's ``[call]`` table: who dials when, and when to hang up.

The dialling side tries from slot ``start_s / 40 ms`` on, every slot, until its call control
accepts (the handset must have camped and registered first); it hangs up ``hold_s`` after
the call connected, or with ``hold_until_end`` ``RELEASE_MARGIN_S`` before the run's last slot (the
release handshake still fits in the run). All in slots, so the script is as deterministic as the rest.
"""

from skycall.call.session import FRAME_S, HandsetSession, NetworkSession
from skycall.config.flowgraph import CallConfig

RELEASE_MARGIN_S = 1.0


class CallPlan:
    """Drives one side's session according to the flowgraph (only the dialling side acts) in a run of
    ``n_slots`` slots."""

    def __init__(self, call: CallConfig, role: str, call_id: int, n_slots: int):
        self.active = call.placed_by == role
        self.start_slot = round(call.start_s / FRAME_S)
        self.hold_slots = round(call.hold_s / FRAME_S)
        self.hangup_slot = n_slots - round(RELEASE_MARGIN_S / FRAME_S) if call.hold_until_end else None
        self.call_id = call_id
        self.dialled_slot: int | None = None
        self.connect_slot: int | None = None
        self.done = False

    def apply(self, slot: int, session: HandsetSession | NetworkSession) -> None:
        """Dial or hang up in ``slot`` when the script says so."""
        if not self.active or self.done:
            return
        if self.dialled_slot is None:
            if slot >= self.start_slot and session.can_dial and session.dial(slot, self.call_id):
                self.dialled_slot = slot
            return
        if session.in_call and self.connect_slot is None:
            self.connect_slot = slot
        due = self.hangup_slot if self.hangup_slot is not None else (self.connect_slot or 0) + self.hold_slots
        if self.connect_slot is not None and slot >= due:
            session.hangup(slot)
            self.done = True
        elif self.connect_slot is None and session.state not in ("dialing", "connected"):
            self.done = True  # the attempt failed (no answer, access failure): the session logged why
