import numpy as np
import pytest

from skycall.errors import ConfigError
from skycall.modem.fec import ViterbiDecoder, conv_encode, crc16
from skycall.modem.frame import Frame, FrameCodec, FrameError
from skycall.modem.waveform import WaveformConfig


def test_encoder_matches_polynomial_convolution():
    rng = np.random.default_rng(1)
    u = rng.integers(0, 2, 200).astype(np.uint8)
    g0 = [int(b) for b in f"{0o171:07b}"]  # tap 0 = current input
    g1 = [int(b) for b in f"{0o133:07b}"]
    ref0 = np.convolve(u, g0)[: u.size] % 2
    ref1 = np.convolve(u, g1)[: u.size] % 2
    out = conv_encode(u)
    assert np.array_equal(out[0::2], ref0) and np.array_equal(out[1::2], ref1)
    assert conv_encode(np.r_[1, np.zeros(6)].astype(np.uint8)).sum() == 10  # free distance


def test_viterbi_corrects_noise_and_beats_hard_decisions():
    rng = np.random.default_rng(2)
    n = 400
    u = np.r_[rng.integers(0, 2, n - 6), np.zeros(6)].astype(np.uint8)
    c = conv_encode(u)
    dec = ViterbiDecoder(n)
    assert np.array_equal(dec.decode(1.0 - 2.0 * c), u)
    errs = 0
    for _ in range(20):  # Es/N0 per coded bit 2 dB: raw BER ~ 3.8 %
        soft = (1.0 - 2.0 * c) + rng.standard_normal(c.size) * 10 ** (-2 / 20) / np.sqrt(2)
        errs += np.count_nonzero(dec.decode(soft) != u)
    assert errs < 0.003 * 20 * n


def test_crc16_ccitt_false_check_value():
    assert crc16(b"123456789") == 0x29B1


def test_frame_roundtrip_and_errors():
    wf = WaveformConfig()
    codec = FrameCodec(wf)
    f = Frame(type=5, seq=4095, call_id=65535, payload=bytes(range(40)))
    sym = codec.symbols(f)
    assert sym.size == wf.symbols_per_frame
    assert np.allclose(np.abs(sym), 1.0, atol=1e-6)
    t, s, cid, payload, ok = codec.decode(codec.soft_coded(sym[wf.uw_symbols :]))
    assert (t, s, cid, payload, ok) == (5, 4095, 65535, f.payload, True)
    soft = codec.soft_coded(sym[wf.uw_symbols :])
    soft[:200] *= -1  # beyond the code's correction capability
    assert codec.decode(soft)[4] is False
    with pytest.raises(FrameError, match="seq"):
        Frame(0, 4096, 0)
    with pytest.raises(FrameError, match="at most 40"):
        codec.symbols(Frame(0, 0, 0, bytes(41)))


def test_waveform_derived_sizes_and_validation():
    wf = WaveformConfig()
    assert (wf.sps, wf.symbols_per_frame, wf.samples_per_frame) == (20, 480, 9600)
    assert wf.coded_bits == 2 * (32 + 320 + 16 + 6)
    assert wf.uw_symbols + wf.coded_symbols == 480
    assert sorted(wf.interleaver) == list(range(wf.coded_bits))
    u = wf.uw.astype(complex)
    acf = np.abs(np.correlate(u, u, "full"))
    assert np.max(np.delete(acf, u.size - 1)) < 0.15 * u.size
    with pytest.raises(ConfigError, match="payload_bytes"):
        WaveformConfig(payload_bytes=60)
    with pytest.raises(ConfigError, match="sample_rate_sps"):
        WaveformConfig(sample_rate_sps=250_000.0)
