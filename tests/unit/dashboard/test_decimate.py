"""Server-side decimation against closed forms: tone power, noise floor, levels, centre, quantisation."""

import numpy as np
import pytest

from skycall.dashboard.decimate import (
    CONST_SCALE,
    DB_MAX,
    DB_MIN,
    DB_STEP,
    FFT_BINS,
    centre_hz,
    constellation_frame,
    decode_constellation,
    decode_spectrum,
    power_spectrum,
    spectrum_frame,
)

FS = 240_000.0
BIN_HZ = FS / FFT_BINS
N = 9600  # one slot


def _tone(amplitude: float, freq_hz: float) -> np.ndarray:
    n = np.arange(N)
    return (amplitude * np.exp(2j * np.pi * freq_hz * n / FS)).astype(np.complex64)


@pytest.mark.parametrize("k", [-200, -3, 0, 17, 255])
def test_a_tone_on_a_bin_reads_its_power_at_its_frequency(k):
    f, p = power_spectrum(_tone(0.3, k * BIN_HZ), FS)
    assert f[0] == -FS / 2 and np.all(np.diff(f) == BIN_HZ)  # ascending from -fs/2
    peak = int(np.argmax(p))
    assert f[peak] == k * BIN_HZ
    assert p[peak] == pytest.approx(0.09, rel=1e-5)  # A², whatever the window


def test_the_spectrum_is_scipys_welch_power_spectrum(rng):
    from scipy.signal import welch

    x = (rng.standard_normal(N) + 1j * rng.standard_normal(N)).astype(np.complex64)
    f_ref, p_ref = welch(x, fs=FS, window="hann", nperseg=FFT_BINS, noverlap=FFT_BINS // 2, return_onesided=False,
                         detrend=False, scaling="spectrum")
    f, p = power_spectrum(x, FS)
    np.testing.assert_array_equal(f, np.fft.fftshift(f_ref))
    np.testing.assert_allclose(p, np.fft.fftshift(p_ref), rtol=2e-6)


def test_white_noise_reads_sigma2_times_the_hann_noise_bandwidth_per_bin(rng):
    sigma2 = 1e-3
    x = (rng.standard_normal(N) + 1j * rng.standard_normal(N)) * np.sqrt(sigma2 / 2)
    _, p = power_spectrum(x.astype(np.complex64), FS)
    # periodic Hann: Σw = N/2, Σw² = 3N/8, so Σw²/(Σw)² = 1.5/N; 36 segments × 512 bins average it
    assert np.mean(p) == pytest.approx(sigma2 * 1.5 / FFT_BINS, rel=0.04)


def test_levels_are_the_chunks_mean_power_and_peak_in_dbfs(rng):
    x = (rng.standard_normal(N) + 1j * rng.standard_normal(N)).astype(np.complex64) * np.float32(0.01)
    row = spectrum_frame(x, FS)
    x64 = x.astype(np.complex128)
    assert row["level_dbfs"] == pytest.approx(10 * np.log10(np.mean(np.abs(x64) ** 2)), abs=1e-6)
    assert row["peak_dbfs"] == pytest.approx(20 * np.log10(np.max(np.abs(x64))), abs=1e-5)


def test_centre_of_a_tone_in_noise_is_its_frequency(rng):
    noise = (rng.standard_normal(N) + 1j * rng.standard_normal(N)).astype(np.complex64) * np.float32(1e-3)
    f, p = power_spectrum(_tone(0.1, -25_123.0) + noise, FS)
    assert centre_hz(f, p) == pytest.approx(-25_123.0, abs=0.05 * BIN_HZ)  # between bins: the two leak evenly


def test_centre_follows_a_whole_bin_frequency_shift_exactly(rng):
    """Shift invariance: rotating a band-limited signal by k bins moves its centre by exactly k bins."""
    from scipy.signal import firwin, lfilter

    white = rng.standard_normal(N + 200) + 1j * rng.standard_normal(N + 200)
    band = lfilter(firwin(101, 8e3, fs=FS), 1.0, white)[200:]
    noise = (rng.standard_normal(N) + 1j * rng.standard_normal(N)) * 1e-4
    x = (band + noise).astype(np.complex64)
    f, p = power_spectrum(x, FS)
    c0 = centre_hz(f, p)
    for k in (-53, 40):
        f, p = power_spectrum(x * np.exp(2j * np.pi * k * np.arange(N) / FFT_BINS).astype(np.complex64), FS)
        assert centre_hz(f, p) - c0 == pytest.approx(k * BIN_HZ, abs=1e-3 * BIN_HZ)


def test_nothing_stands_out_of_pure_noise_or_silence(rng):
    f, p = power_spectrum(np.zeros(N, np.complex64), FS)
    assert centre_hz(f, p) is None
    row = spectrum_frame(np.zeros(N, np.complex64), FS)
    assert row["level_dbfs"] is None and row["peak_dbfs"] is None
    assert spectrum_frame(np.ones(FFT_BINS - 1, np.complex64), FS) is None  # shorter than one segment


def test_one_byte_per_bin_within_half_a_step():
    db = np.linspace(DB_MIN, DB_MAX, 1000)
    x_db = np.concatenate([db, [DB_MIN - 30, DB_MAX + 30]])
    from skycall.dashboard.decimate import b64, db_codes

    back = decode_spectrum({"psd": b64(db_codes(10 ** (x_db / 10)))})
    assert np.max(np.abs(back[:1000] - db)) <= DB_STEP / 2 + 1e-9
    assert back[1000] == DB_MIN and back[1001] == DB_MAX  # clipped at the ends


def test_constellation_points_round_trip_within_half_a_code(rng):
    z = ((rng.standard_normal(1000) + 1j * rng.standard_normal(1000)) * 0.7).astype(np.complex64)
    frame = constellation_frame(z, max_points=300)
    assert frame["n"] == 300
    back = decode_constellation(frame)
    inside = np.maximum(np.abs(z[-300:].real), np.abs(z[-300:].imag)) < 127 / CONST_SCALE
    err = np.abs(back - z[-300:])[inside]
    assert np.max(err) <= np.sqrt(2) * 0.5 / CONST_SCALE + 1e-6  # the newest 300, each within half a code
