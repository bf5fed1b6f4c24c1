"""The scripted call of a flowgraph's ``[call]`` table: who dials when, and when to hang up.

The dialling side tries from slot ``start_s / 40 ms`` on, every slot, until its call control
accepts (the handset must have camped and registered first); it hangs up ``hold_s`` after
the call connected. All in slots, so the script is as deterministic as the rest.
"""

from skycall.call.session import FRAME_S, HandsetSession, NetworkSession
from skycall.config.flowgraph import CallConfig


class CallPlan:
    """Drives one side's session according to the flowgraph (only the dialling side acts)."""

    def __init__(self, call: CallConfig, role: str, call_id: int):
        self.active = call.placed_by == role
        self.start_slot = round(call.start_s / FRAME_S)
        self.hold_slots = round(call.hold_s / FRAME_S)
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
        if self.connect_slot is not None and slot >= self.connect_slot + self.hold_slots:
            session.hangup(slot)
            self.done = True
        elif self.connect_slot is None and session.state not in ("dialing", "connected"):
            self.done = True  # the attempt failed (no answer, access failure): the session logged why
