"""The scripted call: dial from start_s, hang up hold_s after connecting, or 1 s before the run ends."""

import pytest

from skycall.call.plan import CallPlan
from skycall.config.flowgraph import CallConfig


class FakeSession:
    """Connects in the slot after a dial; records the hang-up slot."""

    def __init__(self):
        self.state, self.dialled, self.hung_up = "idle", None, None

    can_dial = property(lambda self: self.state == "idle")
    in_call = property(lambda self: self.state == "connected")

    def dial(self, slot, call_id):
        self.state, self.dialled = "dialing", slot
        return True

    def hangup(self, slot):
        self.state, self.hung_up = "releasing", slot

    def tick(self, slot):
        if self.state == "dialing" and slot > self.dialled:
            self.state = "connected"


def _run(call: CallConfig, n_slots: int) -> FakeSession:
    session, plan = FakeSession(), CallPlan(call, "handset", 7, n_slots)
    for slot in range(n_slots):
        session.tick(slot)
        plan.apply(slot, session)
    return session


def test_hold_counts_from_the_connection():
    s = _run(CallConfig(start_s=1.0, hold_s=2.0), n_slots=250)
    assert s.dialled == 25 and s.hung_up == 26 + 50  # connected in slot 26, 2 s = 50 slots later


@pytest.mark.parametrize("n_slots", [250, 7500])  # a 10 s run and a 5-minute run (--duration-s 300)
def test_hold_until_end_releases_one_second_before_the_run_ends(n_slots):
    s = _run(CallConfig(start_s=1.0, hold_s=2.0, hold_until_end=True), n_slots)
    assert s.hung_up == n_slots - 25


def test_the_other_side_does_nothing():
    session, plan = FakeSession(), CallPlan(CallConfig(placed_by="groundstation"), "handset", 7, 100)
    for slot in range(100):
        plan.apply(slot, session)
    assert session.dialled is None and session.hung_up is None
