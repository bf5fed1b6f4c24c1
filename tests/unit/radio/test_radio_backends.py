"""Profile violations, the HackRF backend on a fake SoapySDR, the tone estimator, probe without hardware."""

import sys
import types

import numpy as np
import pytest

from skycall.config.hw_profile import load_hw_profile
from skycall.errors import ConfigError, MissingDependency, SkycallError
from skycall.radio.base import RadioConfig
from skycall.radio.calibration import estimate_tone_hz
from skycall.radio.pluto import PlutoRadio
from skycall.radio.soapy import SoapyRadio

L_BAND = 1_545_000_000.0


class Untouchable:
    def __getattr__(self, name):
        raise AssertionError(f"device touched: {name}")


@pytest.mark.parametrize(
    "config, key",
    [
        (RadioConfig(rx_freq_hz=100e6, sample_rate_sps=1e6), "rx_freq_hz"),
        (RadioConfig(rx_freq_hz=L_BAND, sample_rate_sps=300e3), "sample_rate_sps"),
        (RadioConfig(rx_freq_hz=L_BAND, sample_rate_sps=1e6, rx_gain_db=80), "rx_gain_db"),
        (RadioConfig(tx_freq_hz=2.4e9, sample_rate_sps=1e6), "tx_guard.allowed_bands_hz"),
        (RadioConfig(tx_freq_hz=L_BAND, sample_rate_sps=1e6, tx_gain_db=-5), "tx_guard.max_gain_db"),
        (RadioConfig(rx_freq_hz=L_BAND, sample_rate_sps=1e6, rx_gain_mode="agc"), "rx_gain_mode"),
    ],
)
def test_pluto_profile_violations_raise_one_error_before_touching_the_device(config, key):
    radio = PlutoRadio(load_hw_profile("pluto"), "ip:192.0.2.1")
    radio._sdr = Untouchable()
    with pytest.raises(ConfigError) as err:
        radio.configure(config)
    assert err.value.key == key and "pluto.toml" in err.value.file


class FakeAdiPluto(types.SimpleNamespace):
    """Stands in for ``adi.Pluto``: property writes land as attributes, IIO attribute writes in ``iio``."""

    def __init__(self):
        super().__init__(ctx=types.SimpleNamespace(attrs={}), iio={})

    def _set_iio_dev_attr_str(self, name, value):
        self.iio[name] = value

    def _set_iio_attr(self, channel, name, output, value):
        self.iio[(channel, name)] = value


def test_allow_any_tx_lifts_only_the_guard():
    radio = PlutoRadio(load_hw_profile("pluto"), "ip:192.0.2.1")
    radio._sdr = FakeAdiPluto()
    radio.configure(RadioConfig(tx_freq_hz=2.4e9, sample_rate_sps=1e6, extra={"allow_any_tx": True}))
    assert radio._sdr.tx_lo == 2_400_000_000
    assert radio._sdr.iio == {"xo_correction": "40000000", ("altvoltage1", "powerdown"): 0}
    with pytest.raises(ConfigError, match="tuning range"):
        radio.set_tx_freq(5e9)


class FakeSoapy(types.ModuleType):
    """Minimal SoapySDR module: constants and a Device recording calls and scripted stream results."""

    SOAPY_SDR_RX, SOAPY_SDR_TX, SOAPY_SDR_CF32 = 1, 0, "CF32"
    SOAPY_SDR_TIMEOUT, SOAPY_SDR_OVERFLOW, SOAPY_SDR_UNDERFLOW, SOAPY_SDR_HAS_TIME = -1, -4, -7, 4

    def __init__(self, results):
        super().__init__("SoapySDR")
        module = self

        class Device:
            def __init__(self, args):
                self.calls, module.device = [], self

            def __getattr__(self, name):
                return lambda *a, **k: self.calls.append((name, a))

            def setupStream(self, direction, fmt, channels=(), args=None):
                return "stream"

            def getStreamMTU(self, stream):
                return 0  # unknown: reads are not cut at transfer boundaries

            def readStream(self, stream, bufs, n, timeoutUs=0):
                ret, flags, time_ns = results.pop(0)
                if ret > 0:
                    bufs[0][:ret] = np.arange(ret)
                return types.SimpleNamespace(ret=ret, flags=flags, timeNs=time_ns)

            def writeStream(self, stream, bufs, n, timeoutUs=0):
                module.sent = bufs[0][:n].copy()
                return types.SimpleNamespace(ret=n)

            def readStreamStatus(self, stream, timeoutUs=0):
                return types.SimpleNamespace(ret=self.SOAPY_SDR_UNDERFLOW)

        Device.SOAPY_SDR_UNDERFLOW = self.SOAPY_SDR_UNDERFLOW
        self.Device = Device
        self.SoapySDR_errToStr = str


def test_hackrf_receive_counts_overflow_and_keeps_indices_absolute(monkeypatch):
    """An overflow between two timed buffers: the lost samples come from the time stamps, the read after
    it starts at the later index, one discontinuity is recorded; a timeout returns nothing."""
    fs = 2e6
    results = [(1000, 4, 0), (-4, 0, 0), (1000, 4, int(1500 * 1e9 / fs)), (-1, 0, 0)]
    soapy = FakeSoapy(results)
    monkeypatch.setitem(sys.modules, "SoapySDR", soapy)
    radio = SoapyRadio(load_hw_profile("hackrf"), "driver=hackrf")
    radio.open()
    radio.configure(RadioConfig(rx_freq_hz=L_BAND, sample_rate_sps=fs, rx_gain_db=40))
    assert ("setFrequency", (soapy.SOAPY_SDR_RX, 0, L_BAND)) in soapy.device.calls
    radio.start()
    assert radio.read(1000)[0] == 0
    first, x = radio.read(1000)
    assert first == 1500 and len(x) == 1000  # 500 samples lost, known from the time stamps
    assert radio.counters.overflows == 1 and radio.counters.lost_samples == 500
    assert [(d.index, d.lost_samples) for d in radio.counters.discontinuities] == [(1500, 500)]
    first, x = radio.read(1000, timeout_s=0.01)
    assert first == 2500 and len(x) == 0  # a timeout: nothing, at the next index


def test_a_timed_device_whose_first_read_overflows_is_placed_by_its_time_stamps(monkeypatch):
    """An overflow before the first time stamp is not a HackRF's ring drain: the time stamps place the
    samples, and a later overflow is counted again."""
    fs = 2e6
    results = [(-4, 0, 0), (1000, 4, 0), (-4, 0, 0), (1000, 4, int(3000 * 1e9 / fs))]
    monkeypatch.setitem(sys.modules, "SoapySDR", FakeSoapy(results))
    radio = SoapyRadio(load_hw_profile("hackrf"), "driver=hackrf")
    radio.open()
    radio.configure(RadioConfig(rx_freq_hz=L_BAND, sample_rate_sps=fs, rx_gain_db=40))
    radio.start()
    assert radio.read(1000)[0] == 0
    assert radio.read(1000)[0] == 3000 and radio.counters.overflows == 2 and radio.counters.lost_samples == 2000


def test_hackrf_gathers_partial_reads(monkeypatch):
    """Partial driver reads are gathered into one contiguous read (the overflow model of a HackRF, which
    has no hardware time, is checked against its driver's ring in test_hackrf_ring.py)."""
    results = [(600, 0, 0), (400, 0, 0), (1000, 0, 0)]
    soapy = FakeSoapy(results)
    monkeypatch.setitem(sys.modules, "SoapySDR", soapy)
    radio = SoapyRadio(load_hw_profile("hackrf"), "driver=hackrf")
    radio.open()
    radio.configure(RadioConfig(rx_freq_hz=L_BAND, sample_rate_sps=2e6, rx_gain_db=40))
    radio.start()
    first, x = radio.read(1000)
    assert first == 0 and len(x) == 1000 and np.array_equal(x.real, np.r_[np.arange(600), np.arange(400)])
    assert radio.read(1000)[0] == 1000


def _hackrf_transmitter(monkeypatch) -> tuple[FakeSoapy, SoapyRadio]:
    soapy = FakeSoapy([])
    monkeypatch.setitem(sys.modules, "SoapySDR", soapy)
    radio = SoapyRadio(load_hw_profile("hackrf"), "driver=hackrf")
    radio.open()
    radio.configure(RadioConfig(tx_freq_hz=L_BAND, sample_rate_sps=2e6, tx_gain_db=20))
    radio.start()
    return soapy, radio


def test_hackrf_transmit_clips_to_full_scale_and_counts_underflow(monkeypatch):
    soapy, radio = _hackrf_transmitter(monkeypatch)
    radio.write(np.array([0.5 + 0.5j, 1.7 - 3.0j, -0.25j], np.complex64))
    np.testing.assert_array_equal(soapy.sent, [0.5 + 0.5j, 127 / 128 - 1j, -0.25j])  # no int8 wrap-around
    assert radio.counters.underflows == 1
    with pytest.raises(ConfigError, match="max_gain_db"):
        radio.set_tx_gain(40)


def test_hackrf_transmit_timeout_is_an_error_that_says_so(monkeypatch):
    soapy, radio = _hackrf_transmitter(monkeypatch)
    soapy.device.writeStream = lambda *a, **k: types.SimpleNamespace(ret=soapy.SOAPY_SDR_TIMEOUT)
    with pytest.raises(SkycallError, match="writeStream timed out"):
        radio.write(np.zeros(4, np.complex64))


def test_hackrf_is_half_duplex():
    radio = SoapyRadio(load_hw_profile("hackrf"), "driver=hackrf")
    with pytest.raises(ConfigError, match="half duplex"):
        radio.configure(RadioConfig(rx_freq_hz=L_BAND, tx_freq_hz=L_BAND, sample_rate_sps=2e6))


def test_missing_soapysdr_gives_one_install_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "SoapySDR", None)
    with pytest.raises(MissingDependency, match="python3-soapysdr soapysdr-module-hackrf.*bootstrap.sh"):
        SoapyRadio(load_hw_profile("hackrf"), "driver=hackrf").open()


def test_soapy_null_device_accepts_the_configuration_calls():
    pytest.importorskip("SoapySDR")
    radio = SoapyRadio(load_hw_profile("hackrf"), "driver=null")
    radio.open()
    radio.configure(RadioConfig(rx_freq_hz=L_BAND, sample_rate_sps=2e6, rx_gain_db=20))
    radio.close()


@pytest.mark.parametrize("tone_hz", [12_345.678, -77_000.25])
def test_tone_estimator_against_known_tone(tone_hz, rng):
    fs, n = 1e6, 1 << 14
    x = np.exp(2j * np.pi * tone_hz / fs * np.arange(n) + 1j) + 0.05 * (
        rng.standard_normal(n) + 1j * rng.standard_normal(n)
    )
    # Cramér-Rao bound for this SNR/length is ~0.01 Hz; allow 0.5 Hz
    assert estimate_tone_hz(x, fs) == pytest.approx(tone_hz, abs=0.5)


def test_probe_without_hardware_says_so_and_fails(capsys):
    from skycall.cli import main

    assert main(["probe", "--no-scan", "--uri", "ip:127.0.0.1:1"]) == 1
    assert "no radio found" in capsys.readouterr().out


def test_pluto_selected_by_serial(monkeypatch):
    from skycall.errors import HardwareNotFound
    from skycall.radio.pluto_stream import find_by_serial

    found = {"usb:1.4.5": "0456:b673 (Analog Devices Inc. PlutoSDR (ADALM-PLUTO)), serial=104473dc599300131100",
             "usb:1.5.5": "0456:b673 (Analog Devices Inc. PlutoSDR (ADALM-PLUTO)), serial=1044730a199700191f00"}
    monkeypatch.setattr("iio.scan_contexts", lambda: found)
    assert find_by_serial("1044730a19") == "usb:1.5.5"
    with pytest.raises(HardwareNotFound, match="no Pluto with a serial starting 'ffff'.*skycall probe"):
        find_by_serial("ffff")
    with pytest.raises(HardwareNotFound, match="2 Pluto"):
        find_by_serial("1044")
