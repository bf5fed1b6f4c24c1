"""Free-running hardware twins behind the unmodified pyadi-iio/libiio path, in real time.

What the lab flowgraph does over two twins (``skycall run flowgraphs/virtual_pluto_lab.toml``), that a
host stall is survived and every lost sample accounted for, and that a radio left alone (stop, SIGTERM)
radiates nothing. The 5-minute runs and the level sweep are in ``test_virtual_pluto_lab_slow.py``.
"""

import json
import os
import signal
import subprocess
import sys
import time

import iio
import numpy as np
import pytest

from skycall.config.hw_profile import load_hw_profile
from skycall.config.virtual_pluto import VirtualPlutoConfig
from skycall.radio.base import RadioConfig
from skycall.radio.pluto import PlutoRadio
from skycall.radio.virtual_pluto import IiodServer, VirtualPluto
from skycall.runner.supervisor import Supervisor
from tests.integration.lab_twins import GS, HS, ROOT, free_ports, lab_flowgraph

pytest.importorskip("adi")

SUMMARY_RADIO_KEYS = {"overflows", "underflows", "lost_samples", "discontinuities", "rx_rms_dbfs", "rx_peak_dbfs",
                      "clipped", "discontinuity_list"}


@pytest.fixture(scope="module")
def calibration_file(tmp_path_factory):
    """One calibration file for the module: the twins (same crystals every run) are measured once."""
    return tmp_path_factory.mktemp("cal") / "calibration.toml"


def _tx_state(uri: str) -> tuple[str, str]:
    """``(TX hardwaregain, TX LO powerdown)`` as the board reports them."""
    phy = iio.Context(uri).find_device("ad9361-phy")
    return (phy.find_channel("voltage0", True).attrs["hardwaregain"].value,
            phy.find_channel("altvoltage1", True).attrs["powerdown"].value)


@pytest.mark.timeout(300)
def test_lab_flowgraph_runs_a_call_over_two_free_running_twins(tmp_path, calibration_file):
    """The interface: ``skycall run`` starts the twins, calibrates, runs the call; ``skycall report``
    writes the radio object; a host stall longer than the receive ring (1.3 s) is survived and every
    sample it cost is accounted for."""
    flow, _ = lab_flowgraph(tmp_path, twins={GS: {"stalls_s": [[4.0, 1.3]]}})
    out = tmp_path / "run"
    env = {**os.environ, "SKYCALL_CALIBRATION": str(calibration_file)}
    skycall = [sys.executable, "-m", "skycall.cli"]
    run = subprocess.run([*skycall, "run", str(flow), "--out", str(out), "--duration-s", "9", "--logs"], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, (run.stdout, run.stderr)
    subprocess.run([*skycall, "report", str(out)], env=env, cwd=ROOT, capture_output=True, timeout=120)
    summary = json.loads((out / "summary.json").read_text())
    logs = {p: (out / f"{p}.log").read_text()[-2000:] for p in ("groundstation", "handset")}
    assert summary["call_connected"], (summary["failure_reason"], logs)
    for d in ("dl", "ul"):
        assert {"pesq_nb", "codec_ceiling_pesq_nb", "fer"} <= set(summary[d])
    radio = summary["radio"]
    assert set(radio) == {"groundstation", "handset"} and all(SUMMARY_RADIO_KEYS <= set(r) for r in radio.values())
    # the levels designed in the flowgraph: UL −30 dBFS (+ its own DC and the handset's leakage, both
    # equal to it) at the ground station, DL −40.5 dBFS (+ DC) at the handset
    assert radio["groundstation"]["rx_rms_dbfs"] == pytest.approx(-30 + 10 * np.log10(3), abs=2.0)
    assert radio["handset"]["rx_rms_dbfs"] == pytest.approx(-40.5 + 10 * np.log10(2), abs=2.0)
    assert radio["groundstation"]["clipped"] == radio["handset"]["clipped"] == 0
    for serial, proc in ((GS, "groundstation"), (HS, "handset")):
        truth, host = json.loads((out / f"twin-{serial}.json").read_text()), radio[proc]
        read_until = json.loads((out / f"{proc}.json").read_text())["n_slots"] * 38_400
        stream = max(g[0] for g in truth["rx_gaps"]) if truth["rx_gaps"] else 0
        lost = [g for g in truth["rx_gaps"] if g[0] == stream and g[1] < read_until]  # this run's, while read
        # every receive sample the board lost is counted by the host (its own estimate, from its clock:
        # within 10 ms a jump), on top of the stale ones it dropped to catch up
        assert len(host["discontinuity_list"]) == host["discontinuities"] == host["overflows"] <= len(lost)
        assert host["lost_samples"] - host["stale_samples"] == pytest.approx(sum(g[2] for g in lost),
                                                                             abs=1 + 9600 * len(lost))
        if serial == GS:
            assert host["discontinuities"] >= 1 and host["stale_samples"] > 0  # the stall overflowed the ring
    events = [json.loads(line) for line in (out / "telemetry.jsonl").read_text().splitlines()]
    status = [e for e in events if e["t"] == "radio_status"]
    assert {e["proc"] for e in status} == {"groundstation", "handset"}
    assert {"overflows", "underflows", "lost_samples", "discontinuities", "rx_rms_dbfs", "rx_peak_dbfs",
            "clipped"} <= set(status[-1])


def test_stop_leaves_the_transmitter_off_and_configure_turns_it_on_again():
    twin = VirtualPluto(twin=VirtualPlutoConfig(serial="safe", port=1))
    with IiodServer(twin, port=0) as server:
        radio = PlutoRadio(load_hw_profile("pluto"), server.uri)
        radio.open()
        config = RadioConfig(rx_freq_hz=1545e6, tx_freq_hz=1545e6, sample_rate_sps=960e3, rx_gain_db=30,
                             tx_gain_db=-20, buffer_size=38400, extra={"tx_lead_s": 0.1})
        radio.configure(config)
        assert _tx_state(server.uri) == ("-20.000000 dB", "0")
        radio.start()
        radio.write(np.zeros(38400, np.complex64), 96000)
        radio.read(1000)
        radio.stop()
        assert _tx_state(server.uri) == ("-89.750000 dB", "1")
        radio.configure(config)  # on again for the next run
        assert _tx_state(server.uri) == ("-20.000000 dB", "0")
        radio.close()
        assert _tx_state(server.uri) == ("-89.750000 dB", "1")


def test_a_transmit_start_that_waits_anchors_the_dac_where_it_really_started():
    """A cold start (the board holds the host's first requests for 0.5 s) delays the first transmit
    push: the DAC starts as it goes through, and the host's placement of later samples starts there
    (anchored at the call instead, every transmission would leave 0.5 s later than asked, for good)."""
    twin = VirtualPluto(twin=VirtualPlutoConfig(serial="cold", port=1, stalls_s=[[0.0, 0.5]]))
    with IiodServer(twin, port=0) as server:
        radio = PlutoRadio(load_hw_profile("pluto"), server.uri)
        radio.open()
        radio.configure(RadioConfig(rx_freq_hz=1545e6, tx_freq_hz=1545e6, sample_rate_sps=960e3, rx_gain_db=30,
                                    tx_gain_db=-20, buffer_size=38400, extra={"tx_lead_s": 0.08}))
        t_call = time.monotonic()
        radio.start()
        try:
            writer, dac = radio._writer, twin.streams.tx.clock
            host_start = radio.clock.time_of(writer.tx_end - 2 * 38400)
            assert dac.time_of(0) - t_call > 0.45  # the first push waited for the stall
            assert host_start == pytest.approx(dac.time_of(0), abs=0.01)
        finally:
            radio.stop()
            radio.close()


@pytest.mark.timeout(300)
def test_sigterm_leaves_the_transmitter_off(tmp_path, calibration_file):
    """A ground station killed with SIGTERM mid-call still switches its Pluto's transmitter off."""
    flow, ports = lab_flowgraph(tmp_path)
    with Supervisor(flow, tmp_path / "run", capture_logs=True, duration_s=60,
                    env={"SKYCALL_CALIBRATION": str(calibration_file)}) as sup:
        assert sup.wait_event(lambda e: e["t"] == "radio_status" and e["proc"] == "groundstation", 120)
        uri = f"ip:127.0.0.1:{ports[GS]}"
        gain, powerdown = _tx_state(uri)
        assert powerdown == "0" and gain == "-30.000000 dB"  # transmitting as the flowgraph says
        sup.procs["groundstation"].send_signal(signal.SIGTERM)
        assert sup.procs["groundstation"].wait(30) == 130  # ended like Ctrl-C: its finally blocks ran
        assert _tx_state(uri) == ("-89.750000 dB", "1")
    assert (tmp_path / "run" / "groundstation.npz").exists()  # and its record was written


def test_free_ports_are_paired():
    ports = free_ports(3)
    assert len({p for q in ports for p in (q, q + 1)}) == 6


def test_a_late_host_sees_the_overflow_bit_through_libiio_and_clears_it():
    """A free-running twin has no pacing attribute (the host runs its real-time path); a host that does
    not read its receive buffer for longer than the ring holds finds the DMA core's overflow bit set,
    as ``iio_adi_xflow_check`` reads it (register 0x80000088 through ``direct_reg_access``)."""
    twin = VirtualPluto(twin=VirtualPlutoConfig(serial="xflow", port=1))
    with IiodServer(twin, port=0) as server:
        radio = PlutoRadio(load_hw_profile("pluto"), server.uri)
        radio.open()
        assert not radio.lockstep
        radio.configure(RadioConfig(rx_freq_hz=1545e6, sample_rate_sps=960e3, rx_gain_db=30, buffer_size=9600))
        rxadc = radio._sdr._rxadc
        rxadc.set_kernel_buffers_count(4)
        radio._sdr._rx_init_channels()
        radio._refill()
        assert rxadc.reg_read(0x80000088) & 0x4 == 0
        time.sleep(0.1)  # 4 blocks of 10 ms fill in 40 ms: then samples are lost
        assert rxadc.reg_read(0x80000088) & 0x4
        assert twin.streams.status()["rx_lost_samples"] > 0
        for _ in range(8):  # the host is back and keeps up: the bit, written 1 to clear, stays clear
            radio._refill()
            rxadc.reg_write(0x80000088, 0x4)
            if rxadc.reg_read(0x80000088) & 0x4 == 0:
                break
        else:
            pytest.fail("the overflow bit never cleared")
        radio.close()
