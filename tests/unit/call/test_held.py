"""Why a call was not held: the offset out of the phone's reach, or a signal too weak inside it."""

import numpy as np

from skycall.call.held import _explain_search

LIMITS = {"pull_in_hz": 4730.0, "afc_range_hz": 7725.0, "max_rate_hz_s": 1490.0}


def test_offset_outside_the_search_is_blamed_on_frequency():
    truth = np.linspace(9e3, 30e3, 200)
    why = _explain_search(0, 200, truth, 0.0, LIMITS, centred=False)
    assert "stayed out of its reach" in why and "too weak" not in why


def test_offset_inside_the_search_is_blamed_on_the_signal_with_its_worst_sinr():
    truth = np.full(200, -3860.0)  # the TCXO error alone: well inside ±4.73 kHz
    sinr = np.linspace(-7.0, 3.0, 200)
    why = _explain_search(0, 200, truth, 0.0, LIMITS, centred=False, sinr_db=sinr)
    assert "within its reach" in why and "too weak to acquire" in why and "SINR -7.0 dB" in why


def test_search_centred_on_the_last_correction():
    truth = np.full(50, -9000.0)  # beyond the AFC range: out of reach wherever the search is centred
    assert "stayed out of its reach" in _explain_search(0, 50, truth, -7700.0, LIMITS, centred=True)
    truth = np.full(50, -7000.0)  # inside the AFC range and within the pull-in of -7.7 kHz
    assert "within its reach" in _explain_search(0, 50, truth, -7700.0, LIMITS, centred=True)
