"""srsUE/srsENB console lines → events."""

import pytest

from skycall.bridge.console import parse_line

CASES = [
    ("srsue", "Found Cell:  Mode=FDD, PCI=1, PRB=6, Ports=1, CP=Normal, CFO=-0.2 KHz",
     {"t": "cell_found", "pci": 1, "prb": 6, "cfo_hz": pytest.approx(-200.0)}),
    ("srsue", "Found PLMN:  Id=00101, TAC=7", {"t": "plmn_found", "plmn": "00101", "tac": 7}),
    ("srsue", "Random Access Transmission: seq=33, tti=341, ra-rnti=0x2",
     {"t": "prach_sent", "preamble": 33, "tti": 341}),
    ("srsue", "Random Access Complete.     c-rnti=0x46, ta=3", {"t": "rach_complete", "rnti": "46", "ta": 3}),
    ("srsue", "Received ConnectionReject. Wait time: 10", {"t": "rrc_reject", "wait_s": 10}),
    ("srsue", "Network attach successful. IP: 10.45.0.2", {"t": "attach", "ip": "10.45.0.2"}),
    ("srsue", "Attach failed (attempt 2/5)", {"t": "attach_failed", "attempt": 2}),
    ("srsenb", "RACH:  tti=341, cc=0, pci=1, preamble=33, offset=3, temp_crnti=0x46",
     {"t": "enb_rach", "tti": 341, "pci": 1, "preamble": 33, "ta_offset": 3, "rnti": "46"}),
]


@pytest.mark.parametrize(("proc", "line", "want"), CASES, ids=[c[2]["t"] for c in CASES])
def test_console_lines_become_events(proc, line, want):
    event = parse_line(proc, line)
    assert event == {"proc": proc, **want}


@pytest.mark.parametrize("line", ["Current sample rate is 1.92 MHz", "", "Found Cell: garbled", "RACH: tti=x"])
def test_other_lines_are_not_events(line):
    assert parse_line("srsue", line) is None and parse_line("srsenb", line) is None


def test_a_line_counts_only_for_its_own_process():
    assert parse_line("srsenb", "Found PLMN:  Id=00101, TAC=7") is None
