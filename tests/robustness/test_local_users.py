"""Issue 20 #2: nobody outside the run gets in — another local user (uid ``nobody``) can neither read the
endpoints nor connect to any socket, and a process of the same user without the run key can neither
command a process nor register with the directory."""

import json
import os
import shutil
import socket
import stat
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import zmq
from robust_helpers import PEER, Run, peer_entries, read_json, wait_ports, write_flowgraph

from skycall.errors import SkycallError
from skycall.transport.control import ControlClient, ControlError, ControlTimeout, connect_run

NOBODY = 65534


@pytest.fixture(scope="module")
def live():
    """One running flowgraph (test peers, paced, long) shared by this module's tests."""
    tmp_path = Path(tempfile.mkdtemp(prefix="skycall-test-"))  # not under pytest's 0700 directories:
    os.chmod(tmp_path, 0o755)  # what keeps another user out must be the run directory itself
    flow = write_flowgraph(tmp_path, duration_s=60.0, realtime=True)
    out = tmp_path / "out"
    run = Run(flow, "--out", out, *peer_entries("gs", "hs", module=PEER))
    try:
        run.wait_running()
        table = wait_ports(out, "telemetry")  # the peers' last registration: the table is final
        sock_dir = Path(table["hs"]["control"].removeprefix("ipc://")).parent
        yield SimpleNamespace(run=run, out=out, table=table, sock_dir=sock_dir, tmp_path=tmp_path)
        run.proc.send_signal(2)
        code, stdout, stderr = run.finish()
        assert code == 130 and "gs: exit 0" in stdout and "hs: exit 0" in stdout, stdout + stderr
        assert not sock_dir.exists() and not (out / "run.key").exists()  # removed when the run ends
    finally:
        run.kill()
        shutil.rmtree(tmp_path, ignore_errors=True)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_run_directory_key_and_sockets_are_private(live):
    out, sock_dir = live.out, live.sock_dir
    assert _mode(out) == 0o700 and _mode(sock_dir) == 0o700 and sock_dir.stat().st_uid == os.getuid()
    assert _mode(out / "endpoints.json") == 0o600 and _mode(out / "run.key") == 0o600
    assert len((out / "run.key").read_text().strip()) == 64
    endpoints = [ep for ports in live.table.values() for ep in ports.values()]
    assert endpoints and all(ep.startswith(f"ipc://{sock_dir}/") for ep in endpoints)  # no TCP at all
    assert all(len(ep) - len("ipc://") <= 107 for ep in endpoints)  # sun_path holds them


def test_requests_without_the_run_key_or_from_outside_the_run_are_refused(live):
    out, table, sock_dir = live.out, live.table, live.sock_dir
    ctx = zmq.Context()
    try:
        key = (out / "run.key").read_text().strip()
        before = (out / "endpoints.json").read_text()
        for wrong in (None, "0" * 64, key[:-1]):
            with pytest.raises(ControlError, match="run's key"):
                ControlClient(ctx, table["hs"]["control"], timeout_s=5, key=wrong).call("status")
        directory = ControlClient(ctx, f"ipc://{sock_dir}/directory", timeout_s=5, key=key)
        hs_pid = int(table["hs"]["control"].rsplit(".", 1)[1])
        forged = [
            ({"proc": "hs", "endpoints": {"tx": "bogus://x"}, "pid": hs_pid}, "local"),
            ({"proc": "hs", "endpoints": {"tx": "tcp://127.0.0.1:9"}, "pid": hs_pid}, "socket directory"),
            ({"proc": "hs", "endpoints": {"tx": f"ipc://{sock_dir}/evil"}, "pid": 1}, "pid 1"),
            ({"proc": "mallory", "endpoints": {"tx": f"ipc://{sock_dir}/evil"}, "pid": 1}, "not a process"),
            ({"proc": "../x", "endpoints": {"tx": f"ipc://{sock_dir}/evil"}}, "process name"),
        ]
        for args, why in forged:
            with pytest.raises(ControlError, match=why):
                directory.call("register", **args)
        with pytest.raises(ControlError, match="run's key"):
            ControlClient(ctx, directory.endpoint, timeout_s=5).call("lookup", proc="hs")
        assert (out / "endpoints.json").read_text() == before  # nothing believed
        clients = connect_run(out, ctx, timeout_s=5)  # the run's own key still works
        assert clients["hs"].call("status")["ok"]
        for client in (*clients.values(), directory):
            client.close()
    finally:
        ctx.destroy(linger=0)


def _as_nobody(attack) -> dict:
    """Run ``attack()`` in a forked child that dropped to uid/gid nobody; return its JSON result."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = attack()
        except BaseException as err:  # noqa: BLE001 - report, never run pytest's code in the child
            result = {"error": repr(err)}
        os.write(write_fd, json.dumps(result).encode())
        os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


def _outcome(action) -> str:
    try:
        action()
    except (PermissionError, ControlTimeout):
        return "denied"
    except (OSError, SkycallError, zmq.ZMQError) as err:
        return f"failed: {err!r}"
    return "ALLOWED"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to uid nobody (run the suite as root)")
def test_another_local_user_can_neither_read_the_endpoints_nor_reach_any_socket(live):
    out, table, sock_dir = live.out, live.table, live.sock_dir
    before = (out / "endpoints.json").read_text()
    control, tx = table["hs"]["control"], table["gs"]["tx"]
    directory = f"ipc://{sock_dir}/directory"

    def attack() -> dict:
        ctx = zmq.Context()

        def unix_connect(endpoint):
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(endpoint.removeprefix("ipc://"))

        def command():
            ControlClient(ctx, control, timeout_s=1.0).call("shutdown")

        def register():
            ControlClient(ctx, directory, timeout_s=1.0).call(
                "register", proc="hs", endpoints={"tx": "ipc:///tmp/evil"}, pid=1)

        def steal_iq():
            pull = ctx.socket(zmq.PULL)
            pull.connect(tx)
            if pull.poll(1000):
                raise AssertionError(f"stole {len(pull.recv())} bytes of IQ")
            raise PermissionError("nothing received")

        result = {
            "read endpoints.json": _outcome(lambda: (out / "endpoints.json").read_text()),
            "read run.key": _outcome(lambda: (out / "run.key").read_text()),
            "list the socket directory": _outcome(lambda: os.listdir(sock_dir)),
            "connect to the control socket": _outcome(lambda: unix_connect(control)),
            "connect to the tx stream": _outcome(lambda: unix_connect(tx)),
            "send a control command": _outcome(command),
            "register with the directory": _outcome(register),
            "pull IQ from the tx stream": _outcome(steal_iq),
        }
        ctx.destroy(linger=0)
        return result

    result = _as_nobody(attack)
    assert result == {k: "denied" for k in result} and len(result) == 8, result
    assert (out / "endpoints.json").read_text() == before
    assert read_json(out / "endpoints.json")["gs"]["tx"] == tx
