"""A whole call over two peered virtual Plutos through the unmodified pyadi-iio + libiio client path.

The lab procedure of ``flowgraphs/virtual_pluto_call.toml`` on one machine: two virtual Plutos with
crystals 15 ppm apart (23 kHz at L-band, far outside the unmodified phone's ±5 kHz pull-in) serve
each other's receiver; ``skycall calibrate`` measures the pair; ``skycall run`` (the supervisor)
starts the ground station and the handset, each driving its Pluto through ``adi.Pluto``; the
report must show a connected call with a clean link both ways.
"""

import argparse
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skycall.call.report import summarise
from skycall.channel.air import AirModel
from skycall.config.hw_profile import load_hw_profile
from skycall.errors import SkycallError
from skycall.radio import calibrate_cli
from skycall.radio.base import RadioConfig
from skycall.radio.calibration import load_calibrations, require_calibrated
from skycall.radio.pluto import PlutoRadio
from skycall.radio.virtual_pluto import IiodServer, VirtualPluto
from skycall.radio.virtual_pluto.peer import PeerLink
from skycall.rng import make_rng
from skycall.runner.supervisor import Supervisor

pytest.importorskip("adi")

ROOT = Path(__file__).resolve().parents[2]
FLOW = ROOT / "flowgraphs" / "virtual_pluto_call.toml"
GS_PPM, HS_PPM = 10.0, -5.0
CALL_S = 9.0  # call placed at 1 s, connected by ~1.5 s: ~7 s of two-way speech


def _pluto(serial: str, ppm: float, seed: int) -> VirtualPluto:
    air = AirModel(960e3, 1545e6, -50.0, 0.0, 0.0, make_rng(seed))  # receiver noise only
    return VirtualPluto(serial=serial, lo_offset_ppm=ppm, air=air)


@pytest.fixture
def pluto_pair():
    """Two peered virtual Plutos on free ports: ``(ground, handset, ground_server, handset_server)``."""
    ground, handset = _pluto("vpluto-gs", GS_PPM, 1), _pluto("vpluto-hs", HS_PPM, 2)
    link_g = PeerLink(ground, "tcp://127.0.0.1:0")
    link_h = PeerLink(handset, "tcp://127.0.0.1:0", connect=link_g.endpoint)
    link_g.connect(link_h.endpoint)
    try:
        with IiodServer(ground, port=0) as srv_g, IiodServer(handset, port=0) as srv_h:
            yield ground, handset, srv_g, srv_h
    finally:
        link_g.close()
        link_h.close()


def _flowgraph(tmp_path: Path, gs_uri: str, hs_uri: str) -> Path:
    """The shipped flowgraph, its radios pointed at the test's Plutos."""
    text = FLOW.read_text()
    text, n = re.subn(r'radio_args = "ip:127\.0\.0\.1:40431"', f'radio_args = "{gs_uri}"', text)
    text, m = re.subn(r'radio_args = "ip:127\.0\.0\.1:40433"', f'radio_args = "{hs_uri}"', text)
    assert n == m == 1, "flowgraphs/virtual_pluto_call.toml no longer names the documented URIs"
    path = tmp_path / "virtual_pluto_call.toml"
    path.write_text(text)
    return path


@pytest.mark.timeout(240)
def test_whole_call_over_two_virtual_plutos(tmp_path, pluto_pair):
    ground, handset, srv_g, srv_h = pluto_pair
    cal_file = tmp_path / "calibration.toml"
    args = argparse.Namespace(
        tx_uri=srv_g.uri, rx_uri=srv_h.uri, rx_args=None, freq_hz=1545e6, tone_hz=50e3,
        sample_rate_sps=None, samples=1 << 15, calibration_file=cal_file, allow_any_tx=False,
    )  # fmt: skip
    assert calibrate_cli.run(args) == 0
    # one measurement calibrates both: the handset's error relative to the ground station is -15 ppm
    assert load_calibrations(cal_file)["vpluto-gs"].freq_error_ppm == pytest.approx(GS_PPM - HS_PPM, abs=0.01)
    assert require_calibrated("vpluto-hs", cal_file).freq_error_ppm == pytest.approx(HS_PPM - GS_PPM, abs=0.01)

    out = tmp_path / "call"
    flow = _flowgraph(tmp_path, srv_g.uri, srv_h.uri)
    env = {"SKYCALL_CALIBRATION": str(cal_file)}
    with Supervisor(flow, out, duration_s=CALL_S, capture_logs=True, env=env) as sup:
        codes = sup.wait(timeout_s=200)
    logs = {p: (out / f"{p}.log").read_text()[-3000:] for p in ("groundstation", "handset")}
    assert codes == {"groundstation": 0, "handset": 0}, logs

    summary = summarise(out)
    assert summary["call_connected"], (summary["failure_reason"], logs)
    assert summary["setup_time_s"] < 2.0
    for d in ("dl", "ul"):
        assert summary[d]["fer"] <= 0.02, (d, summary[d])
        assert summary[d]["pesq_nb"] >= summary[d]["codec_ceiling_pesq_nb"] - 0.3, (d, summary[d])
        # both ends start at sample 0 (lock-step): one-way latency within ITU-T G.114's 150 ms target
        assert 0 < summary[d]["mouth_to_ear_ms"] <= 150, (d, summary[d])
    # lock-step end to end: no transmit stream was ever padded because its sender fell behind
    assert ground.tx_underflow_samples == handset.tx_underflow_samples == 0


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.timeout(120)
def test_virtual_pluto_cli_pair_peers_and_calibrates(tmp_path):
    """``skycall virtual-pluto --peer`` as two OS processes: the lab's first step, ``calibrate``, works."""
    iiod_g, air_g, iiod_h, air_h = _free_ports(4)
    cmd = [sys.executable, "-m", "skycall.cli", "virtual-pluto"]
    procs = [
        subprocess.Popen(
            [
                *cmd,
                "--port",
                str(iiod),
                "--air-endpoint",
                f"tcp://127.0.0.1:{air}",
                "--peer",
                f"127.0.0.1:{peer}",
                "--serial",
                serial,
                "--lo-offset-ppm",
                str(ppm),
                "--noise-floor-dbfs",
                "-60",
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )  # fmt: skip
        for iiod, air, peer, serial, ppm in (
            (iiod_g, air_g, air_h, "cli-gs", 4.0),
            (iiod_h, air_h, air_g, "cli-hs", -2.5),
        )
    ]
    try:
        banners = [p.stdout.readline() for p in procs]  # printed once serving
        assert f"cli-gs at ip:127.0.0.1:{iiod_g}" in banners[0] and f"tcp://127.0.0.1:{air_g}" in banners[0]
        cal_file = tmp_path / "calibration.toml"
        args = argparse.Namespace(
            tx_uri=f"ip:127.0.0.1:{iiod_g}", rx_uri=f"ip:127.0.0.1:{iiod_h}", rx_args=None, freq_hz=1545e6,
            tone_hz=50e3, sample_rate_sps=None, samples=1 << 15, calibration_file=cal_file, allow_any_tx=False,
        )  # fmt: skip
        assert calibrate_cli.run(args) == 0
        assert require_calibrated("cli-gs", cal_file).freq_error_ppm == pytest.approx(6.5, abs=0.01)
    finally:
        for p in procs:
            p.terminate()
        codes = [p.wait(timeout=30) for p in procs]
        for p in procs:
            p.stdout.close()
    assert codes == [0, 0]  # SIGTERM is a clean shutdown


def test_pluto_radio_on_a_virtual_pluto_is_lockstep_and_sample_exact(rng):
    """Lock-step: the receiver awaits the transmitter, so any read sizes give the transmission delayed by
    exactly the device's fixed latency, with no overflow or underflow, however loaded the machine."""
    delay, size = 100, 1920
    with IiodServer(VirtualPluto(delay_samples=delay), port=0) as server:
        radio = PlutoRadio(load_hw_profile("pluto"), server.uri)
        radio.open()
        assert radio.lockstep
        radio.configure(
            RadioConfig(rx_freq_hz=1545e6, tx_freq_hz=1545e6, sample_rate_sps=960e3, rx_gain_db=40,
                        tx_gain_db=-10, buffer_size=size)
        )  # fmt: skip
        # multiples of 2^-11 (one 12-bit LSB) below 0.5: the ADC returns them exactly
        x = ((rng.integers(-1000, 1000, 40 * size) + 1j * rng.integers(-1000, 1000, 40 * size)) / 2048).astype(
            np.complex64
        )
        radio.start()
        got, firsts, written, read = [], [], 0, 0
        sizes = rng.integers(1, 3 * size, 200)
        for n in sizes:
            # keep one whole buffer ahead of the reader: a remainder below buffer_size is held back
            ahead = min(read + int(n) + size, len(x))
            radio.write(x[written:ahead])
            written = ahead
            first, y = radio.read(int(n))
            firsts.append(first)
            got.append(y)
            read += len(y)
            if read > 30 * size:
                break
        radio.close()
    y = np.concatenate(got)
    assert [len(g) for g in got] == list(sizes[: len(got)])  # every read returned all it asked for
    np.testing.assert_array_equal(firsts, np.cumsum([0] + [len(g) for g in got[:-1]]))
    np.testing.assert_array_equal(y[:delay], 0)
    np.testing.assert_array_equal(y[delay:], x[: len(y) - delay])
    assert radio.counters.overflows == radio.counters.underflows == 0


def test_pluto_radio_read_ends_at_a_discontinuity_and_raises_on_a_dead_stream(rng):
    """Real time: reads are contiguous in index; where samples were lost (a jump in the block indices)
    a read ends short and the next one starts at the later index; a failed stream raises instead of
    blocking forever."""
    radio = PlutoRadio(load_hw_profile("pluto"), "ip:192.0.2.1")  # never opened: blocks are fed by hand
    blocks = [(rng.standard_normal(100) + 1j).astype(np.complex64) for _ in range(3)]
    for first, block in zip((0, 100, 300), blocks, strict=True):  # samples 200..299 were lost
        radio._rx_queue.put((first, block))
    first_a, a = radio.read(150)
    first_b, b = radio.read(250)
    first_c, c = radio.read(250, timeout_s=0.05)
    assert (first_a, first_b, first_c) == (0, 150, 300)
    np.testing.assert_array_equal(np.concatenate([a, b]), np.concatenate(blocks[:2]))
    np.testing.assert_array_equal(c, blocks[2])
    first_d, d = radio.read(10, timeout_s=0.05)  # nothing more arrived: an empty read at the next index
    assert first_d == 400 and len(d) == 0
    radio._fail("receive", OSError("cable pulled"))
    with pytest.raises(SkycallError, match="cable pulled"):
        radio.read(10)
