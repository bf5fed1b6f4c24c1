"""Issue 20 #15: call-state consistency after a long stall — a handset frozen (SIGSTOP) for longer than the
network's supervision notices on resuming that the network released the call (it was "connected" for
the rest of the run, 14 s after the release, because beacons and IDLE filler kept it happy)."""

from collections import deque
from types import SimpleNamespace

import pytest

from skycall.call.messages import MsgType
from skycall.call.session import HandsetSession, NetworkSession
from skycall.modem.frame import Frame

DELAY = 2  # steps from one side's transmission to the other's reception


class Air:
    """Both sides step together, except the handset while it is stopped; each keeps its own slot count
    (a process's slot loop does not advance while it is stopped), frames are lost while it is."""

    def __init__(self):
        self.hs, self.net = HandsetSession(ue_id=77), NetworkSession(sat_id=1, beam_id=5)
        self.k_hs = self.k_net = self.step = 0
        self.dl, self.ul = deque(), deque()

    def _deliver(self, queue, side, k):
        while queue and queue[0][0] <= self.step:
            side.on_frame(k, queue.popleft()[1])

    @staticmethod
    def _rx(f: Frame):
        return SimpleNamespace(type=f.type, seq=f.seq, call_id=f.call_id, payload=f.payload, crc_ok=True)

    def run(self, steps: int, handset_stopped: bool = False, actions=None):
        for _ in range(steps):
            self._deliver(self.ul, self.net, self.k_net)
            f = self.net.tick(self.k_net) or Frame(
                type=int(MsgType.VOICE if self.net.in_call else MsgType.IDLE), seq=self.k_net % 4096,
                call_id=self.net.call_id, payload=b"")  # fmt: skip
            if handset_stopped:
                self.dl.clear()  # nobody reads the downlink: the stream drops it
            else:
                self.dl.append((self.step + DELAY, self._rx(f)))
                self._deliver(self.dl, self.hs, self.k_hs)
                if actions and self.k_hs in actions:
                    actions[self.k_hs](self.hs, self.k_hs)
                u = self.hs.tick(self.k_hs)
                if u is None and self.hs.in_call:
                    u = Frame(type=int(MsgType.VOICE), seq=self.k_hs % 4096, call_id=self.hs.call_id, payload=b"")
                if u is not None:
                    self.ul.append((self.step + DELAY, self._rx(u)))
                self.k_hs += 1
            self.k_net += 1
            self.step += 1


@pytest.mark.parametrize("stall_s", [5.0, 20.0])
def test_a_handset_stalled_past_the_networks_supervision_ends_the_call_on_resuming(stall_s):
    air = Air()
    air.run(100, actions={40: lambda hs, k: hs.dial(k, call_id=1234)})
    assert air.hs.in_call and air.net.in_call
    air.run(int(stall_s / 0.04), handset_stopped=True)
    assert air.net.state == "registered" and air.net.release_cause.name == "RADIO_LINK_FAILURE"
    resumed = air.k_hs
    air.run(200)
    states = [(e["frame"], e["state"]) for e in air.hs.events if e["t"] == "call_state" and e["frame"] >= resumed]
    assert air.hs.state == "idle" and air.hs.release_cause.name == "RADIO_LINK_FAILURE", states
    left = next(frame for frame, state in states if state != "connected")
    assert (left - resumed) * 0.04 <= 2.5  # the network's own supervision time, not the rest of the run
    assert air.net.state == "registered"  # and the network acknowledged the late release


def test_a_short_stall_within_supervision_keeps_the_call():
    air = Air()
    air.run(100, actions={40: lambda hs, k: hs.dial(k, call_id=1234)})
    air.run(int(1.0 / 0.04), handset_stopped=True)  # 1 s: shorter than the 2 s supervision
    air.run(200)
    assert air.hs.in_call and air.net.in_call
    assert not [e for e in air.hs.events + air.net.events if e["t"] == "radio_link_failure"]
