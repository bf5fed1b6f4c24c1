"""Shared fixtures of the bridge tests."""

import pytest
import zmq
from bridge_flows import leo_flow
from zmq_peers import PEERS

from skycall.config.flowgraph import Flowgraph


@pytest.fixture
def flow() -> Flowgraph:
    return leo_flow()


@pytest.fixture
def ctx():
    """A ZeroMQ context; the fake transmitters still serving are ended before it is destroyed."""
    c = zmq.Context()
    yield c
    while PEERS:
        peer = PEERS.pop()
        peer.stop.set()
        peer.thread.join(10)
    c.destroy(linger=0)
