"""Issue 20 #6 (peer link side): the virtual Pluto's transmit stream binds through ``security.bind``
(no unencrypted bind on another interface) and no request — short, multi-frame, huge, NaN or an absurd wait — ends
its serving thread: the link keeps serving its real peer afterwards."""

import struct

import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skycall.radio.virtual_pluto import VirtualPluto
from skycall.radio.virtual_pluto.peer import PeerLink
from skycall.transport.security import InsecureBind


@pytest.fixture
def link():
    model = VirtualPluto(serial="attacked")
    peer = PeerLink(model, "tcp://127.0.0.1:0")
    yield peer
    peer.close()


def _ask(ctx, endpoint, frames, timeout_ms=5000):
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    req.rcvtimeo = timeout_ms
    req.connect(endpoint)
    try:
        req.send_multipart(frames)
        return req.recv_multipart()
    finally:
        req.close()


def _served(ctx, link) -> bool:
    """A well-formed request (no waiting) is still answered with the LO and the samples."""
    header, payload = _ask(ctx, link.endpoint, [struct.pack("<Qd?", 16, 0.0, False)])
    return len(header) == 8 and np.frombuffer(payload, np.complex64).size == 16


def test_the_transmit_stream_refuses_an_unencrypted_bind_on_all_interfaces():
    with pytest.raises(InsecureBind, match="0.0.0.0"):
        PeerLink(VirtualPluto(serial="x"), "tcp://0.0.0.0:0")


def test_short_multiframe_huge_and_nan_requests_are_refused_and_the_link_keeps_serving(ctx, link):
    for frames in ([b"abc"], [b"a", b"b"], [struct.pack("<Qd?", 2**64 - 1, 0.0, False)],
                   [struct.pack("<Qd?", 16, float("nan"), False)]):
        assert _ask(ctx, link.endpoint, frames) == [b""]
    assert link.malformed == 4
    assert len(_ask(ctx, link.endpoint, [struct.pack("<Qd?", 16, 1e300, False)])) == 2  # an absurd wait is bounded
    assert _served(ctx, link)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=3))
def test_fuzzed_peer_requests_are_always_answered(ctx, link, frames):
    assert isinstance(_ask(ctx, link.endpoint, frames), list)
    assert _served(ctx, link)
