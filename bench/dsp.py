"""DSP kernel benchmarks: each numba block against the natural numpy/scipy implementation.

Every case streams CHUNK-sized calls (state carried between calls, as in the real pipeline) and
returns one row; see ``scripts/bench.py`` for the conventions.
"""

import ctypes
import ctypes.util
import shutil
import subprocess

import numpy as np
from scipy import signal

from bench.common import CHUNK, calls_for, measure_msps, row
from skycall.dsp.farrow import FarrowDelay
from skycall.dsp.fir import FirFilter
from skycall.dsp.resample import RationalResampler
from skycall.dsp.rotator import Rotator, TrajectoryRotator
from skycall.rng import make_rng

FS = 240e3
# A 10-minute LEO pass as the ground station tabulates it (groundstation.trajectory, 10 ms grid):
# Doppler f(t) = −36 kHz·tanh((t − 300 s)/60 s), ±36 kHz with a peak rate of 600 Hz/s.
_PASS_T_S = np.arange(0.0, 600.0 + 1e-9, 0.01)
_PASS_INDEX = np.round(_PASS_T_S * FS).astype(np.int64)
_PASS_FREQ = -36_000.0 * np.tanh((_PASS_T_S - 300.0) / 60.0)
_PASS_START = int(240 * FS)  # the chunks stream from t = 240 s, where the rate is ~380 Hz/s
# the same sweep as four long linear segments (one table point every few minutes)
_RAMP_INDEX = np.array([0, int(120 * FS), int(240 * FS), int(600 * FS)], dtype=np.int64)
_RAMP_FREQ = np.array([-36_000.0, -36_000.0 + 72_000.0, -36_000.0 + 72_000.0 - 600.0 * 120, 36_000.0])


def _chunk() -> np.ndarray:
    rng = make_rng(1)
    return (rng.standard_normal(CHUNK) + 1j * rng.standard_normal(CHUNK)).astype(np.complex64)


def _timed(step, quick: bool) -> float:
    """MS/s of ``step()`` called repeatedly, each call consuming one CHUNK."""
    calls = calls_for(quick)
    return measure_msps(step, CHUNK, repeats=3 if quick else 5, calls=calls)


class _NumpyTrajectory:
    """Natural numpy FOC: per-sample frequency by np.interp, float64 cumsum phase, x·exp(jφ)."""

    def __init__(self, index, freq_hz, start):
        self.index, self.freq_hz, self.start, self.phase = index, freq_hz, start, 0.0

    def process(self, x):
        n = np.arange(self.start, self.start + x.size)
        phase = self.phase + 2 * np.pi * np.cumsum(np.interp(n, self.index, self.freq_hz)) / FS
        self.start, self.phase = self.start + x.size, float(phase[-1] % (2 * np.pi))
        return x * np.exp(1j * phase).astype(np.complex64)


def _trajectory_step(index, freq_hz, start: int, x: np.ndarray, out: np.ndarray):
    """step() streaming x through a TrajectoryRotator into out, one CHUNK further each call from ``start``."""
    rot, state = TrajectoryRotator(FS, index, freq_hz), {"first": start}

    def step():
        rot.process(x, first_index=state["first"], out=out)
        state["first"] += CHUNK

    return step


def _trajectory_row(name: str, index, freq_hz, start: int, quick: bool, note: str) -> dict:
    x = _chunk()
    ref = _NumpyTrajectory(index, freq_hz, start)
    step = _trajectory_step(index, freq_hz, start, x, np.empty_like(x))
    return row(name, _timed(step, quick), _timed(lambda: ref.process(x), quick), note)


def foc_rotator(quick: bool) -> dict:
    note = "TrajectoryRotator on a LEO pass table (10 ms grid, ±36 kHz, ≤600 Hz/s) vs numpy interp+cumsum+exp"
    return _trajectory_row("foc_rotator", _PASS_INDEX, _PASS_FREQ, _PASS_START, quick, note)


def foc_rotator_long_segments(quick: bool) -> dict:
    note = "TrajectoryRotator on the same sweep as 4 linear segments (120 Hz/s and 600 Hz/s ramps) vs numpy"
    return _trajectory_row("foc_rotator_long_segments", _RAMP_INDEX, _RAMP_FREQ, 0, quick, note)


def rotator_fixed(quick: bool) -> dict:
    x = _chunk()
    rot, out = Rotator(12_345.0, FS), np.empty_like(x)
    w = 2 * np.pi * 12_345.0 / FS
    state = {"phase": 0.0}
    n = np.arange(CHUNK)

    def numpy_step():
        y = x * np.exp(1j * (state["phase"] + w * n)).astype(np.complex64)
        state["phase"] = (state["phase"] + w * CHUNK) % (2 * np.pi)
        return y

    msps = _timed(lambda: rot.process(x, out=out), quick)
    base = _timed(numpy_step, quick)
    return row(
        "rotator_fixed", msps, base, "per-block phasor table vs numpy x*exp(j(φ0+ωn)); writes into a reused out buffer"
    )


def fir(quick: bool) -> dict:
    x = _chunk()
    taps = signal.firwin(33, 0.2).astype(np.float32)
    filt, out = FirFilter(taps), np.empty_like(x)
    state = {"zi": np.zeros(taps.size - 1, dtype=np.complex64)}

    def scipy_step():
        y, state["zi"] = signal.lfilter(taps, 1.0, x, zi=state["zi"])
        return y

    msps = _timed(lambda: filt.process(x, out=out), quick)
    base = _timed(scipy_step, quick)
    return row("fir", msps, base, "FirFilter 33 real taps vs scipy.signal.lfilter with zi")


def resampler(quick: bool) -> dict:
    x = _chunk()
    rs = RationalResampler(3, 4)
    taps = rs.taps.astype(np.float64)
    msps = _timed(lambda: rs.process(x), quick)
    base = _timed(lambda: signal.upfirdn(taps, x, 3, 4), quick)
    return row("resampler", msps, base, f"3/4, {taps.size} taps, input MS/s vs scipy.signal.upfirdn (stateless)")


class _NumpyFarrow:
    """Natural numpy cubic Lagrange delay: np.interp delay, floor/frac, fancy-index gathers."""

    def __init__(self, index, delay_samples, n_hist):
        self.index, self.delay, self.hist, self.start = index, delay_samples, np.zeros(n_hist, np.complex64), 0

    def process(self, x):
        buf = np.concatenate([self.hist, x])
        n = np.arange(self.start, self.start + x.size)
        t = n - np.interp(n, self.index, self.delay)
        m = np.floor(t).astype(np.int64)
        mu = (t - m).astype(np.float32)
        pos = m - self.start + self.hist.size
        xm1, x0, x1, x2 = buf[pos - 1], buf[pos], buf[pos + 1], buf[pos + 2]
        k1 = -xm1 / 3 - x0 / 2 + x1 - x2 / 6
        k2 = xm1 / 2 - x0 + x1 / 2
        k3 = -xm1 / 6 + (x0 - x1) / 2 + x2 / 6
        self.hist, self.start = buf[-self.hist.size :], self.start + x.size
        return ((k3 * mu + k2) * mu + k1) * mu + x0


def farrow(quick: bool) -> dict:
    x = _chunk()
    index = np.array([0, int(100 * FS)], dtype=np.int64)
    delay_s = np.array([6.4e-3, 6.4e-3 - 40e-6 * 100])
    fd, out = FarrowDelay(FS, index, delay_s), np.empty_like(x)
    ref = _NumpyFarrow(index, delay_s * FS, int(np.ceil(delay_s.max() * FS)) + 4)
    msps = _timed(lambda: fd.process(x, out=out), quick)
    base = _timed(lambda: ref.process(x), quick)
    return row("farrow", msps, base, "cubic Farrow, 6.4 ms delay drifting 40 µs/s vs vectorised numpy")


def memcpy(quick: bool) -> dict:
    x = _chunk()
    out = np.empty_like(x)
    msps = _timed(lambda: np.copyto(out, x), quick)
    return row("memcpy", msps, None, "np.copyto of one chunk: the memory-bandwidth ceiling")


class _Cf32(ctypes.Structure):
    """C99 ``float complex`` (VOLK's lv_32fc_t) for passing by value."""

    _fields_ = [("re", ctypes.c_float), ("im", ctypes.c_float)]


def _volk_rotator(freq_cycles: float):
    """A step(x, out) through VOLK's rotator kernel volk_32fc_s32fc_x2_rotator_32fc (the kernel inside GNU
    Radio's rotator_cc, dispatched to the best implementation for this CPU), or None without libvolk."""
    name = ctypes.util.find_library("volk")
    if name is None:
        return None
    volk = ctypes.CDLL(name)
    proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, _Cf32, ctypes.POINTER(_Cf32), ctypes.c_uint)
    kernel = proto(ctypes.c_void_p.in_dll(volk, "volk_32fc_s32fc_x2_rotator_32fc").value)
    w = 2 * np.pi * freq_cycles
    inc, phase = _Cf32(np.cos(w), np.sin(w)), _Cf32(1.0, 0.0)
    phase_ref = ctypes.byref(phase)

    def step(x: np.ndarray, out: np.ndarray) -> None:
        kernel(out.ctypes.data, x.ctypes.data, inc, phase_ref, x.size)

    return step


def foc_rotator_vs_volk(quick: bool) -> dict | None:
    """The pass-row TrajectoryRotator against VOLK's fixed-frequency rotator kernel on the same chunk and
    output buffer (skipped without libvolk): the FOC rotator's speed goal as a same-run ratio."""
    volk = _volk_rotator(12_345.0 / FS)
    if volk is None:
        return None
    x = _chunk()
    out = np.empty_like(x)
    volk(x, out)
    ref = x * np.exp(2j * np.pi * 12_345.0 / FS * np.arange(x.size))
    if not np.allclose(out, ref, atol=1e-2):  # VOLK renormalises its float32 phasor every few hundred samples
        raise RuntimeError("bench: libvolk's rotator gave wrong samples (ABI mismatch?)")
    step = _trajectory_step(_PASS_INDEX, _PASS_FREQ, _PASS_START, x, out)
    note = "TrajectoryRotator on the LEO pass table vs VOLK volk_32fc_s32fc_x2_rotator_32fc (fixed frequency)"
    return row("foc_rotator_vs_volk", _timed(step, quick), _timed(lambda: volk(x, out), quick), note)


_GR_ROTATOR = """
import time
from gnuradio import blocks, gr
n = {n}
tb = gr.top_block()
src, head = blocks.null_source(gr.sizeof_gr_complex), blocks.head(gr.sizeof_gr_complex, n)
rot, snk = blocks.rotator_cc(0.3), blocks.null_sink(gr.sizeof_gr_complex)
tb.connect(src, head, rot, snk)
t0 = time.perf_counter()
tb.run()
print(n / (time.perf_counter() - t0) / 1e6)
"""


def gnuradio_rotator(quick: bool) -> dict | None:
    """Rotator vs GNU Radio's rotator_cc, when /usr/bin/python3 has gnuradio (skipped otherwise)."""
    python = shutil.which("python3", path="/usr/bin")
    if python is None:
        return None
    probe = subprocess.run([python, "-c", "import gnuradio"], capture_output=True, check=False)
    if probe.returncode != 0:
        return None
    n = 20_000_000 // (8 if quick else 1)
    done = subprocess.run(
        [python, "-c", _GR_ROTATOR.format(n=n)], capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode != 0:
        return None
    x = _chunk()
    rot, out = Rotator(12_345.0, FS), np.empty_like(x)
    msps = _timed(lambda: rot.process(x, out=out), quick)
    return row("rotator_vs_gnuradio", msps, float(done.stdout.split()[-1]), "Rotator vs GNU Radio rotator_cc")


CASES = [
    foc_rotator,
    foc_rotator_long_segments,
    foc_rotator_vs_volk,
    rotator_fixed,
    fir,
    resampler,
    farrow,
    memcpy,
    gnuradio_rotator,
]
