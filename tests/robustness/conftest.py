"""Fixtures of the reliability suite (helpers in ``robust_helpers.py``)."""

import pytest
import zmq
from robust_helpers import Run


@pytest.fixture
def ctx():
    """A fresh ZeroMQ context, destroyed after the test."""
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


@pytest.fixture
def runs():
    """Start ``skycall run`` processes with ``runs(*args)``; all are killed at the end of the test."""
    started: list[Run] = []

    def start(*args) -> Run:
        run = Run(*args)
        started.append(run)
        return run

    yield start
    for run in started:
        run.kill()
