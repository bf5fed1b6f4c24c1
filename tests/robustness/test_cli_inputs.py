"""Bad command-line input and damaged files outside ``skycall run``: one clear line each, never a traceback."""

import socket

import pytest
from robust_helpers import skycall


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_virtual_pluto_refuses_a_port_that_is_not_one(port):
    res = skycall("virtual-pluto", "--port", port, timeout=30)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.strip().splitlines() == [
        f"skycall virtual-pluto: error: <cli>: --port: {port} is not a TCP port (0-65535; 0 = any free one)"
    ]


def test_virtual_pluto_names_the_address_it_cannot_listen_on():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        res = skycall("virtual-pluto", "--port", port, timeout=30)
    assert res.returncode == 2, res.stdout + res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert f"cannot listen on 127.0.0.1:{port} (Address already in use)" in line and "--port 0" in line


def test_a_damaged_record_is_named_as_such_not_as_a_pickle(tmp_path):
    (tmp_path / "handset.npz").write_bytes(b"garbage that is no zip archive")
    res = skycall("report", tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "handset.npz is not an .npz archive" in res.stderr
    assert "pickle" not in res.stderr and "Traceback" not in res.stderr
