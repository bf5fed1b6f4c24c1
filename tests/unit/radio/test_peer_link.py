"""The virtual Pluto's peer link: loopback-only without CURVE, survives bad requests, dies loudly."""

import threading

import numpy as np
import pytest
import zmq

from skycall.config.virtual_pluto import VirtualPlutoConfig
from skycall.radio.virtual_pluto import VirtualPluto
from skycall.radio.virtual_pluto.peer import AirLink, PeerLink
from skycall.transport.security import InsecureBind


@pytest.mark.parametrize("kind", [PeerLink, AirLink])
def test_binding_every_interface_without_curve_is_refused(kind):
    model = VirtualPluto() if kind is PeerLink else VirtualPluto(twin=VirtualPlutoConfig(serial="a", port=1))
    with pytest.raises(InsecureBind, match="refusing to bind tcp://0.0.0.0:0"):
        kind(model, "tcp://0.0.0.0:0")


@pytest.mark.parametrize("kind", [PeerLink, AirLink])
def test_malformed_requests_get_an_empty_reply_and_the_link_keeps_serving(kind):
    model = VirtualPluto() if kind is PeerLink else VirtualPluto(twin=VirtualPlutoConfig(serial="a", port=1))
    link = kind(model, "tcp://127.0.0.1:0")
    ctx = zmq.Context.instance()
    try:
        for bad in ([b"abc"], [b"\x00" * 17, b"x"], [b"\xff" * 20]):
            req = ctx.socket(zmq.REQ)
            req.setsockopt(zmq.RCVTIMEO, 2000)
            req.connect(link.endpoint)
            req.send_multipart(bad)
            assert req.recv_multipart() == [b""]
            req.close(linger=0)
        assert link.malformed == 3 and link.failed is None
        peer = kind(model, "tcp://127.0.0.1:0", connect=link.endpoint)  # a well-formed request still works
        x, _ = peer.pull(16) if kind is PeerLink else peer.signal(1.0, 1e-6, 16)
        assert x.shape == (16,) and np.all(np.isfinite(x))
        peer.close()
    finally:
        link.close()


def test_a_dead_service_thread_fails_loudly(caplog):
    died = threading.Event()
    link = AirLink(VirtualPluto(twin=VirtualPlutoConfig(serial="a", port=1)), "tcp://127.0.0.1:0",
                   on_fatal=lambda err: died.set())
    link._rep.close(linger=0)  # the service's socket goes away under it
    assert died.wait(5.0)
    assert link.failed and "link service died" in link.failed and "link service died" in caplog.text
    link._stop.set()
    link._thread.join()
