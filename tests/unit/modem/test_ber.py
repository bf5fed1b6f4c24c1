import argparse
import json

import numpy as np
import pytest

from skycall.errors import SkycallError
from skycall.metrics.ber_theory import qpsk_ber
from skycall.modem import ber_cli
from skycall.modem.ber import simulate_chain, simulate_genie
from skycall.modem.profiles import SATELLITE
from skycall.modem.waveform import WaveformConfig

WF = WaveformConfig()


def _within(measured, n_bits, expected, n_sigma=4.0):
    return abs(measured - expected) <= n_sigma * np.sqrt(expected / n_bits)


def test_genie_uncoded_ber_matches_closed_form():
    """Checks the Eb/N0 convention (Es/N0 = Eb/N0 + 3 dB) independently of the receiver."""
    g = simulate_genie(WF, 3.0, 120, seed=4)
    assert _within(g.ber, g.bits, float(qpsk_ber(3.0)))


def test_full_chain_ber_point_on_a_doppler_ramp():
    """40 kHz + 600 Hz/s at Eb/N0 5 dB: every counted frame delivered, uncoded BER on the closed form."""
    c = simulate_chain(WF, SATELLITE, 5.0, 60, seed=5, cfo_hz=40_000.0, rate_hz_s=600.0)
    assert c.missed_frames == 0 and c.cycle_slips == 0 and c.lock_losses == 0
    assert _within(c.ber, c.bits, float(qpsk_ber(5.0)), n_sigma=5.0)
    assert c.frame_errors == 0  # coded: 8 dB per info bit is far above the waterfall


def test_ber_is_seeded_and_reproducible():
    a = simulate_chain(WF, SATELLITE, 2.0, 10, seed=6)
    b = simulate_chain(WF, SATELLITE, 2.0, 10, seed=6)
    assert a == b and a.bit_errors > 0


def test_cli_writes_json_and_plot(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    ber_cli.add_arguments(parser)
    args = parser.parse_args(
        ["--ebn0", "5:2:7", "--frames", "12", "--cfo-hz", "1000", "--json", str(tmp_path / "b.json"),
         "--plot", str(tmp_path / "b.png")]
    )  # fmt: skip
    assert ber_cli.run(args) == 0
    out = json.loads((tmp_path / "b.json").read_text())
    assert [p["ebn0_db"] for p in out["points"]] == [5.0, 7.0]
    for p in out["points"]:
        assert {"ebn0_db", "ber", "fer", "ber_theory_uncoded", "ber_coded", "ber_coded_genie"} <= set(p)
        assert p["ber_theory_uncoded"] == pytest.approx(float(qpsk_ber(p["ebn0_db"])))
    assert "impl_loss_db" in out and "coded_loss_db" in out
    assert (tmp_path / "b.png").stat().st_size > 10_000
    assert "Eb/N0" in capsys.readouterr().out


def test_parse_range():
    assert np.allclose(ber_cli.parse_range("0:0.5:2"), [0, 0.5, 1, 1.5, 2])
    assert np.allclose(ber_cli.parse_range("4"), [4])
    with pytest.raises(SkycallError, match="START:STEP:STOP"):
        ber_cli.parse_range("3:0:1")
