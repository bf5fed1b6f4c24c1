"""Shared pytest fixtures."""

from pathlib import Path

import pytest

from skycall.rng import make_rng

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rng():
    """A fresh seeded generator (every test that draws random numbers gets the same stream)."""
    return make_rng(12345)


@pytest.fixture
def repo_root() -> Path:
    return ROOT
