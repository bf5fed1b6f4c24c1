"""Shared fixtures of the bridge tests."""

import pytest
from bridge_flows import leo_flow

from skycall.config.flowgraph import Flowgraph


@pytest.fixture
def flow() -> Flowgraph:
    return leo_flow()
