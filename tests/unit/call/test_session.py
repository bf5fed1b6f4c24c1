"""Call control: the two state machines talk to each other through a lossy, delayed frame link."""

from collections import deque
from types import SimpleNamespace

import pytest

from skycall.call.messages import Cause, MsgType
from skycall.call.session import HandsetSession, NetworkSession, Timers
from skycall.rng import make_rng


class Link:
    """Frames arrive ``delay`` slots later; each is lost with probability ``loss`` (seeded)."""

    def __init__(self, delay=2, loss=0.0, seed=0):
        self.q, self.delay, self.loss, self.rng, self.up = deque(), delay, loss, make_rng(seed), True

    def send(self, frame_no, frame):
        if frame is not None and self.up:
            ok = self.rng.random() >= self.loss
            rx = SimpleNamespace(
                type=frame.type, seq=frame.seq, call_id=frame.call_id, payload=frame.payload, crc_ok=ok
            )
            self.q.append((frame_no + self.delay, rx))

    def deliver(self, frame_no):
        while self.q and self.q[0][0] <= frame_no:
            yield self.q.popleft()[1]


def run(hs, net, frames, dl, ul, actions=None, voice=True, start=0):
    """Step both sides; the network fills idle slots with IDLE (carrier on), voice with VOICE."""
    from skycall.modem.frame import Frame

    for k in range(start, frames):
        for rx in dl.deliver(k):
            hs.on_frame(k, rx)
        for rx in ul.deliver(k):
            net.on_frame(k, rx)
        if actions and k in actions:
            actions[k]()
        f = net.tick(k)
        if f is None:
            f = Frame(
                type=int(MsgType.VOICE if net.in_call else MsgType.IDLE), seq=k % 4096, call_id=net.call_id, payload=b""
            )
        dl.send(k, f)
        u = hs.tick(k)
        if u is None and hs.in_call and voice and not hs.dl_only:
            u = Frame(type=int(MsgType.VOICE), seq=k % 4096, call_id=hs.call_id, payload=b"")
        ul.send(k, u)


def test_handset_originated_call_connects_and_releases():
    hs, net = HandsetSession(ue_id=77), NetworkSession(sat_id=1, beam_id=5)
    dl, ul = Link(), Link()
    run(hs, net, 300, dl, ul, {40: lambda: hs.dial(40, call_id=1234), 200: lambda: hs.hangup(200)})
    states = [e["state"] for e in hs.events if e["t"] == "call_state"]
    assert states == ["camped", "registering", "idle", "dialing", "connected", "releasing", "idle"]
    assert net.state == "registered" and net.ue_id == 77
    # SETUP out (2 slots) + CONNECT back (2 slots): one round trip of 4 frames = 0.16 s
    assert hs.setup_time_s == pytest.approx(0.16)
    assert hs.system_info.beam_id == 5


def test_network_originated_call():
    hs, net = HandsetSession(ue_id=9), NetworkSession(sat_id=1, beam_id=2)
    dl, ul = Link(), Link()
    run(hs, net, 200, dl, ul, {60: lambda: net.dial(60, call_id=555)})
    assert hs.in_call and net.in_call and hs.call_id == net.call_id == 555
    assert net.setup_time_s == pytest.approx(0.16)


def test_call_survives_heavy_frame_loss_with_retries():
    hs, net = HandsetSession(ue_id=3), NetworkSession(sat_id=1, beam_id=1)
    dl, ul = Link(loss=0.4, seed=1), Link(loss=0.4, seed=2)
    run(hs, net, 400, dl, ul, {60: lambda: hs.dial(60, call_id=42)})
    assert hs.in_call and net.in_call


def test_network_releases_after_supervision_when_handset_vanishes():
    timers = Timers()
    hs, net = HandsetSession(ue_id=3), NetworkSession(sat_id=1, beam_id=1, timers=timers)
    dl, ul = Link(), Link()

    def kill():
        ul.up = False

    run(hs, net, 400, dl, ul, {40: lambda: hs.dial(40, call_id=42), 100: kill})
    failure = [e for e in net.events if e["t"] == "radio_link_failure"]
    assert failure and failure[0]["frame"] == 100 + 2 + timers.supervision_frames  # last UL frame sent at 99
    assert net.release_cause == Cause.RADIO_LINK_FAILURE
    assert net.state == "registered"  # released after RELEASE retries were exhausted; still up


def test_setup_gives_up_with_no_answer():
    hs, net = HandsetSession(ue_id=3), NetworkSession(sat_id=1, beam_id=1)
    dl, ul = Link(), Link()
    run(hs, net, 60, dl, ul)
    ul.up = False
    hs.dial(60, call_id=7)
    run_from = 60
    for k in range(run_from, 200):
        for rx in dl.deliver(k):
            hs.on_frame(k, rx)
        dl.send(k, net.tick(k) or SimpleNamespace(type=0, seq=0, call_id=0, payload=b""))
        hs.tick(k)
    assert hs.state == "idle" and hs.release_cause == Cause.NO_ANSWER


def test_downlink_only_call_needs_no_uplink():
    hs, net = HandsetSession(ue_id=3, dl_only=True), NetworkSession(sat_id=1, beam_id=1, dl_only=True)
    dl, ul = Link(), Link()
    run(hs, net, 100, dl, ul, {20: lambda: net.dial(20, call_id=99)})
    assert hs.in_call and net.in_call
    assert not ul.q  # the handset never transmitted
    assert not hs.dial(100, call_id=1)  # a receive-only handset cannot dial


def test_handset_drops_to_search_when_downlink_disappears():
    hs, net = HandsetSession(ue_id=3, camp_loss_frames=25), NetworkSession(sat_id=1, beam_id=1)
    dl, ul = Link(), Link()
    run(hs, net, 100, dl, ul, {40: lambda: hs.dial(40, call_id=5)})
    dl.up = False
    run(hs, net, 140, dl, ul, start=100)
    assert hs.state == "searching" and hs.release_cause == Cause.RADIO_LINK_FAILURE


def test_network_releases_when_the_handset_registers_again_mid_call():
    """A restarted handset sends ACCESS: the network must not keep a call that no longer exists."""
    hs, net = HandsetSession(ue_id=3), NetworkSession(sat_id=1, beam_id=1)
    dl, ul = Link(), Link()
    run(hs, net, 100, dl, ul, {40: lambda: hs.dial(40, call_id=42)})
    assert net.in_call
    fresh = HandsetSession(ue_id=3)  # the restarted process
    run(fresh, net, 200, dl, ul, start=100)
    assert net.release_cause == Cause.RADIO_LINK_FAILURE and net.state == "registered"
    assert fresh.state == "idle"
