"""The unmodified pyadi-iio client (libiio 0.24 network backend) against virtual Plutos."""

import threading

import numpy as np
import pytest

from skycall.radio.virtual_pluto import IiodServer, VirtualPluto
from skycall.radio.virtual_pluto.peer import PeerLink

adi = pytest.importorskip("adi")

DELAY = 64
RATE_SPS = 1_000_000


@pytest.fixture
def no_leaks():
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"


def _pluto(uri: str, lo_hz: int = 1_545_000_000, tx_lo_hz: int | None = None, buffer_size: int = 4096):
    sdr = adi.Pluto(uri=uri)
    sdr.sample_rate = RATE_SPS
    sdr.rx_lo = lo_hz
    sdr.tx_lo = tx_lo_hz or lo_hz
    sdr.gain_control_mode_chan0 = "manual"
    sdr.rx_hardwaregain_chan0 = 30  # with 0 dB TX attenuation and 30 dB bench loss: unity
    sdr.tx_hardwaregain_chan0 = 0
    sdr.rx_buffer_size = buffer_size
    return sdr


def _ramp(n: int, rng) -> np.ndarray:
    """Random TX integers that the 12-bit receiver reproduces exactly (multiples of 8 = 2^14/2^11)."""
    return (rng.integers(-2000, 2000, n) * 8 + 1j * rng.integers(-2000, 2000, n) * 8).astype(np.complex128)


def test_loopback_returns_transmit_stream_delayed_sample_exactly(no_leaks, rng):
    with IiodServer(VirtualPluto(delay_samples=DELAY), port=0) as server:
        sdr = _pluto(server.uri, buffer_size=3000)
        tx = _ramp(4096, rng)
        sdr.tx(tx)
        rx = np.concatenate([sdr.rx(), sdr.rx()[:1000]])
        np.testing.assert_array_equal(rx[:DELAY], 0)
        np.testing.assert_array_equal(rx[DELAY:] * 8, tx[: len(rx) - DELAY])
        sdr.tx_destroy_buffer()
        sdr.rx_destroy_buffer()
        del sdr


def test_two_virtual_plutos_carry_iq_sample_exactly(no_leaks, rng):
    a, b = VirtualPluto(serial="A", delay_samples=DELAY), VirtualPluto(serial="B", delay_samples=DELAY)
    link_a = PeerLink(a, "tcp://127.0.0.1:0")
    link_b = PeerLink(b, "tcp://127.0.0.1:0", connect=link_a.endpoint)
    link_a.connect(link_b.endpoint)
    try:
        with IiodServer(a, port=0) as server_a, IiodServer(b, port=0) as server_b:
            sdr_a, sdr_b = _pluto(server_a.uri, buffer_size=2048), _pluto(server_b.uri, buffer_size=2048)
            tx_a, tx_b = _ramp(8192, rng), _ramp(8192, rng)
            sdr_a.tx(tx_a)
            sdr_b.tx(tx_b)
            rx_b = np.concatenate([sdr_b.rx() for _ in range(3)])
            rx_a = np.concatenate([sdr_a.rx() for _ in range(3)])
            np.testing.assert_array_equal(rx_b[DELAY:] * 8, tx_a[: len(rx_b) - DELAY])
            np.testing.assert_array_equal(rx_a[DELAY:] * 8, tx_b[: len(rx_a) - DELAY])
            assert a.tx_underflow_samples == b.tx_underflow_samples == 0
            for sdr in (sdr_a, sdr_b):
                sdr.tx_destroy_buffer()
                sdr.rx_destroy_buffer()
            del sdr_a, sdr_b, sdr
    finally:
        link_a.close()
        link_b.close()


@pytest.mark.parametrize("lo_offset_ppm", [0.0, 7.5])
def test_cyclic_tone_comes_back_at_lo_difference_plus_tone(no_leaks, lo_offset_ppm):
    """Alone, a Pluto hears itself at TX LO − RX LO + tone, scaled by its own crystal error."""
    rx_lo, tx_lo, tone_hz = 1_545_000_000, 1_545_050_000, 100_000.0
    with IiodServer(VirtualPluto(lo_offset_ppm=lo_offset_ppm), port=0) as server:
        sdr = _pluto(server.uri, lo_hz=rx_lo, tx_lo_hz=tx_lo, buffer_size=8192)
        n = np.arange(1000)  # 1000 samples = 100 whole tone periods: seamless when repeated
        sdr.tx_cyclic_buffer = True
        sdr.tx(4096 * np.exp(2j * np.pi * tone_hz / RATE_SPS * n))
        sdr.rx()
        rx = sdr.rx()
        expected_hz = (tx_lo - rx_lo) * (1 + lo_offset_ppm * 1e-6) + tone_hz
        spectrum = np.abs(np.fft.fft(rx * np.hanning(len(rx))))
        peak_hz = np.fft.fftfreq(len(rx), 1 / RATE_SPS)[np.argmax(spectrum)]
        assert abs(peak_hz - expected_hz) <= RATE_SPS / len(rx)
        # phase slope gives the exact offset
        measured_hz = np.angle(np.vdot(rx[:-1], rx[1:])) * RATE_SPS / (2 * np.pi)
        assert measured_hz == pytest.approx(expected_hz, abs=1.0)
        sdr.tx_destroy_buffer()
        sdr.rx_destroy_buffer()
        del sdr


def test_driver_rules_are_enforced_through_libiio(no_leaks):
    with IiodServer(VirtualPluto(), port=0) as server:
        sdr = adi.Pluto(uri=server.uri)
        phy = sdr._ctrl
        with pytest.raises(OSError):  # below 25 MHz/12 without the FIR decimation
            phy.find_channel("voltage0").attrs["sampling_frequency"].value = "1000000"
        with pytest.raises(OSError):
            sdr.rx_lo = 300_000_000
        with pytest.raises(OSError):
            sdr.tx_hardwaregain_chan0 = 3.0
        with pytest.raises(OSError):
            phy.find_channel("voltage0").attrs["gain_control_mode"].value = "turbo"
        sdr.sample_rate = 521_000  # pyadi loads a decimate-by-4 FIR first: accepted
        assert sdr.sample_rate == 521_000
        with pytest.raises(OSError):  # the FIR cannot be disabled while the rate needs it
            phy.find_channel("out").attrs["voltage_filter_fir_en"].value = "0"
        sdr.gain_control_mode_chan0 = "slow_attack"
        with pytest.raises(OSError):  # the driver refuses manual gain under AGC
            phy.find_channel("voltage0").attrs["hardwaregain"].value = "10"
        del sdr, phy
