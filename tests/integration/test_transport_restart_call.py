"""The real process mains over the runner: kill the handset mid-call, it rejoins and re-acquires."""

import pytest

from skycall.runner.supervisor import Supervisor

pytest.importorskip("handset_emu.main")
pytest.importorskip("groundstation.main")


def test_handset_killed_mid_call_rejoins_reacquires_and_the_call_resumes(repo_root, tmp_path):
    out = tmp_path / "out"
    sup = Supervisor(
        repo_root / "flowgraphs/loopback_call.toml", out, duration_s=9.0, realtime=True, capture_logs=True
    )
    with sup:
        locked = sup.wait_event(
            lambda e: e["proc"] == "handset" and e["t"] == "rx_status" and e["locked"], 90
        )
        connected = sup.wait_event(
            lambda e: e["proc"] == "groundstation" and e.get("state") == "connected", 90
        )
        assert locked and connected, (out / "handset.log").read_text()
        seen = len(sup.events)
        sup.restart("handset")
        assert sup.wait_registered("handset", generation=2, timeout_s=60)

        def after(pred):
            return sup.wait_event(lambda e: e in sup.events[seen:] and pred(e), 90)

        relocked = after(lambda e: e["proc"] == "handset" and e["t"] == "rx_status" and e["locked"])
        resumed = after(lambda e: e["proc"] == "groundstation" and e.get("state") == "connected")
        codes = sup.wait(90)
    logs = {n: (out / f"{n}.log").read_text()[-3000:] for n in ("groundstation", "handset")}
    assert relocked is not None and resumed is not None, logs
    assert codes == {"groundstation": 0, "handset": 0}, logs  # the ground station kept running throughout
