"""Variants of ``flowgraphs/virtual_pluto_lab.toml`` for tests: free ports, call length, twin overrides.

The shipped file is rewritten as text (its tables and comments stay as they are): the twins' iiod
ports (and so the processes' URIs) move to free ones, ``[call]`` gets extra keys, and each
``[[virtual_pluto]]`` table its keys set (replaced, or added after its ``serial`` line).
"""

import random
import re
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "flowgraphs" / "virtual_pluto_lab.toml"
GS, HS = "vpluto-lab-gs", "vpluto-lab-hs"


def free_ports(n: int) -> list[int]:
    """``n`` free ports, each followed by a free one (a twin's air port is its iiod port + 1), chosen
    below the kernel's ephemeral range so no outgoing connection takes one before the twin binds it."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = random.Random()
    ports: list[int] = []
    while len(ports) < n:
        port = rng.randrange(10_000, low - 2)
        if {port, port + 1} & {p for q in ports for p in (q, q + 1)}:
            continue
        try:
            for p in (port, port + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        ports.append(port)
    return ports


def lab_flowgraph(tmp_path: Path, name: str = "lab.toml", call: dict | None = None,
                  twins: dict[str, dict] | None = None) -> tuple[Path, dict[str, int]]:
    """A copy of the lab flowgraph in ``tmp_path``; returns its path and ``{serial: iiod port}``."""
    text = LAB.read_text()
    ports = dict(zip((GS, HS), free_ports(2), strict=True))
    for serial, old in ((GS, 40441), (HS, 40443)):
        text, n = re.subn(rf"\b{old}\b", str(ports[serial]), text)
        assert n == 2, f"{LAB} no longer uses port {old} once for the process and once for its twin"
    if call:
        text = text.replace("[call]\n", "[call]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in call.items()), 1)
    for serial, keys in (twins or {}).items():
        text = _set_in_table(text, f'serial = "{serial}"\n', keys)
    path = tmp_path / name
    path.write_text(text)
    return path, ports


def _set_in_table(text: str, marker: str, keys: dict) -> str:
    """Set ``keys`` in the table whose body has the line ``marker`` (replacing a key already there)."""
    at = text.index(marker)
    start = text.rfind("\n[", 0, at) + 1
    end = text.find("\n[", at)
    end = len(text) if end < 0 else end + 1
    body = text[start:end]
    for key, value in keys.items():
        line = f"{key} = {_toml(value)}"
        body, n = re.subn(rf"(?m)^{key} = .*$", line, body)
        if not n:
            body = body.replace(marker, marker + line + "\n", 1)
    return text[:start] + body + text[end:]


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)
