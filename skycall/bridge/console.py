"""srsUE's and srsENB's console lines → telemetry events.

What an unmodified LTE stack shows of the PHY/MAC exchange without a core network (the eNodeB answers
every RRC connection request with a reject, but cell search, SIB1, PRACH, RAR and Msg3/Msg4 run)::

    srsue   Attaching UE...                                                      → ue_ready (PHY up: stream flows)
    srsue   Found Cell:  Mode=FDD, PCI=1, PRB=6, Ports=1, CP=Normal, CFO=-0.2 KHz   → cell_found (cfo_hz)
    srsue   Found PLMN:  Id=00101, TAC=7                                            → plmn_found
    srsue   Random Access Transmission: seq=33, tti=341, ra-rnti=0x2                → prach_sent
    srsue   Random Access Complete.     c-rnti=0x46, ta=0                           → rach_complete (ta)
    srsue   Received ConnectionReject. Wait time: 10                                → rrc_reject
    srsue   RRC Connected / Network attach successful. IP: ... / Attach failed ...  → rrc_connected / attach / ...
    srsenb  RACH:  tti=341, cc=0, pci=1, preamble=33, offset=0, temp_crnti=0x46     → enb_rach (ta_offset)

The ``ta`` and ``offset`` fields are timing advances in units of 16·Ts (0.52 µs).
"""

import re

_UE = [
    ("ue_ready", re.compile(r"^Attaching UE\.\.\.")),
    ("cell_found", re.compile(r"Found Cell:.*?PCI=(?P<pci>\d+), PRB=(?P<prb>\d+).*?CFO=(?P<cfo_khz>[-+\d.]+) KHz")),
    ("plmn_found", re.compile(r"Found PLMN:\s+Id=(?P<plmn>\d+), TAC=(?P<tac>\d+)")),
    ("prach_sent", re.compile(r"Random Access Transmission:.*?(?:seq|preamble_index)=(?P<preamble>\d+)"
                              r".*?tti=(?P<tti>\d+)")),
    ("rach_complete", re.compile(r"Random Access Complete\.\s+c-rnti=0x(?P<rnti>[0-9a-fA-F]+), ta=(?P<ta>-?\d+)")),
    ("rrc_reject", re.compile(r"Received ConnectionReject\.(?: Wait time: (?P<wait_s>\d+))?")),
    ("rrc_connected", re.compile(r"RRC Connected")),
    ("attach", re.compile(r"Network attach successful\.(?: IP: (?P<ip>\S+))?")),
    ("attach_failed", re.compile(r"Attach failed(?: \(attempt (?P<attempt>\d+)/\d+\))?")),
]
_ENB = [
    ("enb_rach", re.compile(r"RACH:\s+tti=(?P<tti>\d+), cc=\d+, pci=(?P<pci>\d+), preamble=(?P<preamble>\d+), "
                            r"offset=(?P<ta_offset>-?\d+), temp_crnti=0x(?P<rnti>[0-9a-fA-F]+)")),
]
PATTERNS = {"srsue": _UE, "srsenb": _ENB}
_INT = {"pci", "prb", "tac", "preamble", "tti", "ta", "wait_s", "attempt", "ta_offset"}


def parse_line(proc: str, line: str) -> dict | None:
    """The event of one console line of ``proc`` (``"srsue"``/``"srsenb"``), or None."""
    for event_type, pattern in PATTERNS.get(proc, ()):
        match = pattern.search(line)
        if match:
            event = {"t": event_type, "proc": proc}
            for key, value in match.groupdict().items():
                if value is None:
                    continue
                if key == "cfo_khz":
                    event["cfo_hz"] = float(value) * 1e3
                else:
                    event[key] = int(value) if key in _INT else value
            return event
    return None
