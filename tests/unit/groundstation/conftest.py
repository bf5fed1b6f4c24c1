import pytest
from gs_reference import TLE_FILE


@pytest.fixture
def tle_file():
    """The example TLE shipped in groundstation/data/."""
    return TLE_FILE
