"""Multi-process transport: IQ through the loopback air between OS processes run by the supervisor.

Test-only peers (tests/integration/peers/lockstep_peer.py) stand in for the process mains.
"""

import json
import shutil
import subprocess
import textwrap

import numpy as np
import pytest

from skycall.channel.air import AirModel
from skycall.runner.node import process_rng
from skycall.runner.supervisor import Supervisor
from tests.integration.peers.lockstep_peer import tone

PEER = "tests.integration.peers.lockstep_peer"
FS = 240e3


def _flowgraph(
    tmp_path, *, duplex=True, realtime=False, duration_s=0.3, floor=-50.0, lo_ppm=0.5, clock_ppm=0.0
):
    links = '[[link]]\nsrc = "gs.tx"\ndst = "hs.rx"\n'
    if duplex:
        links += '[[link]]\nsrc = "hs.tx"\ndst = "gs.rx"\n'
    text = (
        textwrap.dedent(f"""\
        name = "transport_test"
        seed = 7
        duration_s = {duration_s}
        realtime = {str(realtime).lower()}
        [air]
        noise_floor_dbfs = {floor}
        lo_offset_ppm = {lo_ppm}
        clock_offset_ppm = {clock_ppm}
        [[process]]
        name = "gs"
        role = "groundstation"
        [[process]]
        name = "hs"
        role = "handset"
        """)
        + links
    )
    path = tmp_path / "flow.toml"
    path.write_text(text)
    return path


def _run(flow, out, chunks, realtime=None, timeout_s=120):
    env = {f"PEER_CHUNK_{name.upper()}": str(c) for name, c in chunks.items()}
    env["SKYCALL_STREAM_TIMEOUT_S"] = "20"  # paced, but tolerant of a loaded machine's stalls
    sup = Supervisor(
        flow, out, entries={"gs": PEER, "hs": PEER}, realtime=realtime, capture_logs=True, env=env
    )
    with sup:
        codes = sup.wait(timeout_s)
    logs = {n: (out / f"{n}.log").read_text() for n in ("gs", "hs")}
    assert codes == {"gs": 0, "hs": 0}, logs
    return {n: np.load(out / f"{n}_rx.npy") for n in ("gs", "hs")}, sup


def _expected(rx_index, tx_index, n, rx_freq_hz, floor, lo_ppm, clock_ppm):
    """Independent reference: the sender's tone through a fresh AirModel with the receiver's seed."""
    air = AirModel(
        FS, rx_freq_hz, floor, lo_ppm, clock_ppm, process_rng(7, rx_index, 1), horizon_samples=n + 1
    )
    return air.process(tone(tx_index, 0, n, FS), 0)


def test_iq_crosses_processes_bit_identical_for_any_chunking_and_pacing(tmp_path):
    flow = _flowgraph(tmp_path)
    n = int(0.3 * FS)
    fast, sup = _run(flow, tmp_path / "fast", {"gs": 4096, "hs": 4096})
    odd, _ = _run(flow, tmp_path / "odd", {"gs": 1000, "hs": 3001})
    paced, _ = _run(flow, tmp_path / "paced", {"gs": 8192, "hs": 2048}, realtime=True)
    want_hs = _expected(1, 0, n, 1545e6, -50.0, 0.5, 0.0)
    want_gs = _expected(0, 1, n, 1646.5e6, -50.0, 0.5, 0.0)
    for run in (fast, odd, paced):
        assert run["hs"].size == n and run["gs"].size == n
        assert np.array_equal(run["hs"], want_hs)
        assert np.array_equal(run["gs"], want_gs)
    events = [json.loads(line) for line in (tmp_path / "fast" / "telemetry.jsonl").read_text().splitlines()]
    done = {e["proc"]: e for e in events if e["t"] == "done"}
    assert done["gs"]["missing"] == 0 and done["hs"]["missing"] == 0 and done["hs"]["gaps"] == 0


def test_clock_offset_through_the_air_between_processes(tmp_path):
    pytest.importorskip("skycall.dsp.farrow")
    flow = _flowgraph(tmp_path, duplex=False, clock_ppm=20.0, floor=-200.0, lo_ppm=0.0, duration_s=0.2)
    got, _ = _run(flow, tmp_path / "a", {"gs": 3000, "hs": 4096})
    n = int(0.2 * FS)
    assert np.array_equal(got["hs"], _expected(1, 0, n, 1545e6, -200.0, 0.0, 20.0))


def test_receiver_killed_and_restarted_reconnects_while_the_sender_keeps_running(tmp_path):
    flow = _flowgraph(tmp_path, duplex=False, realtime=True, duration_s=4.0, floor=-200.0, lo_ppm=0.0)
    out = tmp_path / "restart"
    sup = Supervisor(
        flow, out, entries={"gs": PEER, "hs": PEER}, capture_logs=True, env={"PEER_CHUNK": "2400"}
    )
    with sup:
        first = sup.wait_event(lambda e: e["proc"] == "hs" and e["t"] == "rx" and e["index"] >= 0.5 * FS, 60)
        assert first is not None, (out / "hs.log").read_text()
        seen = len(sup.events)
        sup.restart("hs")
        assert sup.wait_registered("hs", generation=2, timeout_s=60)
        table = json.loads((out / "endpoints.json").read_text())  # what `skycall call` reads
        assert table["hs"]["control"] == sup.endpoints["hs"]["control"] and "tx" in table["gs"]
        again = sup.wait_event(
            lambda e: e in sup.events[seen:] and e["proc"] == "hs" and e["t"] == "rx" and e["sender_first"],
            60,
        )
        codes = sup.wait(60)
    logs = {n: (out / f"{n}.log").read_text() for n in ("gs", "hs")}
    assert again is not None, logs
    assert codes == {"gs": 0, "hs": 0}, logs
    # the restarted receiver joined mid-stream: its first samples are the sender's tone from there on
    rx = np.load(out / "hs_rx.npy")
    start = again["sender_first"] - again["index"]  # sender index of the receiver's sample 0
    assert start > 0.5 * FS
    ref = tone(0, start, 4800, FS)
    assert np.array_equal(rx[:4800], ref)
    gs_done = [e for e in sup.events if e["proc"] == "gs" and e["t"] == "done"]
    assert len(gs_done) == 1 and gs_done[0]["index"] == int(4.0 * FS)  # the sender ran to the end


def _gnuradio_python():
    py = shutil.which("python3", path="/usr/bin")
    if py is None:
        return None
    ok = subprocess.run([py, "-c", "import gnuradio.zeromq"], capture_output=True).returncode == 0
    return py if ok else None


@pytest.mark.skipif(_gnuradio_python() is None, reason="gnuradio not importable from /usr/bin/python3")
def test_gnuradio_zmq_sub_source_reads_the_raw_tap(tmp_path):
    flow = _flowgraph(tmp_path, duplex=False, realtime=True, duration_s=3.0, floor=-200.0, lo_ppm=0.0)
    out = tmp_path / "gr"
    script = textwrap.dedent("""\
        import sys
        from gnuradio import blocks, gr, zeromq
        tb = gr.top_block()
        src = zeromq.sub_source(gr.sizeof_gr_complex, 1, sys.argv[1], 2000, False, -1)
        head = blocks.head(gr.sizeof_gr_complex, 48000)
        sink = blocks.file_sink(gr.sizeof_gr_complex, sys.argv[2])
        tb.connect(src, head, sink)
        tb.run()
        """)
    sup = Supervisor(
        flow, out, entries={"gs": PEER, "hs": PEER}, capture_logs=True, env={"PEER_CHUNK": "2400"}
    )
    with sup:
        assert sup.wait_registered("gs", timeout_s=60)
        assert sup.wait_event(lambda e: e["proc"] == "gs" and e["t"] == "start", 60)
        tap = sup.endpoints["gs"]["tx.raw"]
        dump = tmp_path / "gr.c64"
        subprocess.run([_gnuradio_python(), "-c", script, tap, str(dump)], check=True, timeout=60)
        sup.wait(60)
    got = np.fromfile(dump, np.complex64)
    assert got.size == 48000
    # a SUB joins mid-stream at a message boundary: find where, then it must match the tone exactly
    k = int(round(np.angle(got[0] / 0.5) / (2 * np.pi * 3000 / FS))) % int(FS / 3000)
    candidates = [s for s in range(k, int(3.0 * FS), int(FS / 3000)) if s % 2400 == 0]
    assert any(np.array_equal(got, tone(0, s, got.size, FS)) for s in candidates)
