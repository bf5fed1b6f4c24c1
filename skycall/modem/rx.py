"""Waveform v1 receiver: channel filter -> UW acquisition and confirmation -> chirp NCO -> decimation
-> matched filter -> Gardner timing -> carrier loop -> UW frame sync and phase-ambiguity resolution ->
Viterbi -> CRC.

Input is processed in fixed blocks of ``samples_per_frame/4`` samples aligned to the stream origin, so
the output never depends on how the caller chunks the stream.

Acquisition (frequency-locked start): a UW search over time × frequency raises a detection; the
next ``profile.confirm_uws - 1`` frames' UWs are then measured coherently at their predicted positions
(a burst shorter than that starts with what was found). Their frequencies give a coarse line and the
unwrapped phases of the UW correlations refine it to a frequency and frequency rate (a data-aided
frequency discriminator over whole frames, see :meth:`Acquirer.refine`), so a 600 Hz/s Doppler ramp
is known before the first symbol is tracked. Tracking restarts at the first UW from the history.

Tracking: the chirp NCO removes the frequency line; the symbol-rate loop (:mod:`carrier`) tracks the
remaining phase, frequency and rate (third order: no steady-state error on a ramp), decision-directed
on data symbols and data-aided on every frame's UW (its position predicted from the last UW, its
phase quadrant from the frame logic), which keeps it slip-free down to Es/N0 ≈ 1.6 dB. At each block
boundary the loop's frequency and rate are handed to the NCO; the loop drops them exactly when the
retuned samples reach it through the filters, so hand-offs leave no phase transient.

A terrestrial profile (``pull_in_hz``/``afc_range_hz`` set, see :mod:`profiles`) has a second-order loop
and no rate estimate, searches only within ±pull_in_hz of its frequency reference (the last tracked
offset, kept after lock is lost: :attr:`Receiver.afc_hz`) and never tracks beyond ±afc_range_hz.

States: ``search`` (includes the confirmation wait) and ``track``. Lock is lost after
``profile.max_uw_misses`` consecutive missed UWs; a discontinuity in ``first_index`` (gap) resets the
receiver to ``search``.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import firwin, kaiserord

from skycall.dsp.fir import FirDecimator, FirFilter
from skycall.dsp.rrc import rrc_taps
from skycall.errors import SkycallError
from skycall.modem.acquisition import Acquirer, Detection
from skycall.modem.carrier import CarrierTracker
from skycall.modem.frame import FrameCodec
from skycall.modem.nco import ChirpMixer
from skycall.modem.profiles import ReceiverProfile
from skycall.modem.timing import GardnerTiming
from skycall.modem.waveform import WaveformConfig

WORK_SPS = 4  # samples/symbol of the matched filter and timing loop
_MF_SPAN = 8  # matched-filter span, symbols
_PRE_SYMBOLS = 6  # symbols of timing pre-roll before the acquired UW


@dataclass
class RxFrame:
    """One received frame. ``sample_index``: absolute receiver-input index of the frame's first sample
    (the transmitter's frame start); ``payload`` is None when the CRC fails; ``soft_bits``: float32
    (coded_bits,) deinterleaved, descrambled soft values (> 0 favours 0) before the decoder."""

    sample_index: int
    type: int
    seq: int
    call_id: int
    payload: bytes | None
    crc_ok: bool
    cfo_hz: float
    snr_db: float
    uw_rho: float
    phase_quadrant: int
    soft_bits: np.ndarray = field(repr=False)


@dataclass
class RxCounters:
    frames_ok: int = 0
    frames_bad: int = 0
    uw_misses: int = 0
    cycle_slips: int = 0
    lock_losses: int = 0
    acquisitions: int = 0
    gaps: int = 0


def _lowpass(pass_hz: float, stop_hz: float, fs_hz: float) -> np.ndarray:
    """Kaiser-window linear-phase low-pass (50 dB), odd length, unit DC gain."""
    n, beta = kaiserord(50.0, (stop_hz - pass_hz) / (fs_hz / 2))
    n += 1 - n % 2
    return firwin(n, (pass_hz + stop_hz) / 2, window=("kaiser", beta), fs=fs_hz).astype(np.float32)


class _Tracker:
    """The tracking chain from one channel-rate index ``start`` on (mixer -> ... -> carrier loop)."""

    def __init__(self, rx: "Receiver", det: Detection, start: int, freq_hz: float, rate_hz_s: float):
        wf, prof = rx.waveform, rx.profile
        self.start = start
        self.mixer = ChirpMixer(rx.fs_ch)
        self.mixer.set(freq_hz, rate_hz_s)
        self.decim = FirDecimator(rx.dec_taps, rx.d2) if rx.d2 > 1 else None
        self.mf = FirFilter(rx.mf_taps)
        uw_pos = (det.index - start + rx.g2) / rx.d2 + rx.g3
        self.timing = GardnerTiming(WORK_SPS, prof.timing_bandwidth, uw_pos - _PRE_SYMBOLS * WORK_SPS, 1.0)
        self.carrier = CarrierTracker(wf.symbol_rate_sps, prof.pll_bandwidth_hz, prof.rate_corner_ratio)
        if prof.afc_range_hz is not None:  # the correction range is absolute: mixer + loop
            self.carrier.set_limits(-prof.afc_range_hz - freq_hz, prof.afc_range_hz - freq_hz)
        self.carrier_started = False
        self.n_mixed = 0  # mixer samples processed so far (relative to start)
        self.pending = None  # (mixer sample, freq_hz, rate_hz_s) handed to the mixer, not yet out of the loop
        self.sym_offset = rx.g3 + rx.g2 / rx.d2  # MF-output index of mixer sample n: n/d2 + sym_offset
        self.raw = np.zeros(0, dtype=np.complex64)  # timing output waiting for the carrier loop to start
        self.raw_pos = np.zeros(0)
        self.sym = np.zeros(0, dtype=np.complex64)  # carrier-tracked symbols not yet framed
        self.pos = np.zeros(0)  # their strobe positions (matched-filter output index)
        self.power_set = False
        self.n_carrier = 0  # symbols through the carrier loop since the first UW
        self.uw_next = 0  # carrier index of the next UW start (data-aided tracking there)
        self.uw_ref = self.uw_ref_base = wf.uw  # the UW as the loop sees it: uw·j^quadrant

    def set_quadrant(self, quadrant: int) -> None:
        """Phase quadrant in which the loop now holds the signal (from the frame's UW)."""
        self.uw_ref = (self.uw_ref_base * np.complex64(1j**quadrant)).astype(np.complex64)

    def shift_uw(self, symbols: int) -> None:
        """The frame logic found the UW ``symbols`` later than predicted (timing slip)."""
        self.uw_next += symbols

    def _reference(self, n: int, n_uw: int, spf: int) -> np.ndarray:
        """Known symbols for the next ``n`` carrier inputs: the UW where one is due, else 0."""
        ref = np.zeros(n, dtype=np.complex64)
        first, end = self.n_carrier, self.n_carrier + n
        while self.uw_next < end:
            lo, hi = max(self.uw_next, first), min(self.uw_next + n_uw, end)
            if hi > lo:
                ref[lo - first : hi - first] = self.uw_ref[lo - self.uw_next : hi - self.uw_next]
            if self.uw_next + n_uw > end:
                break
            self.uw_next += spf
        self.n_carrier = end
        return ref

    def copy(self) -> "_Tracker":
        other = _Tracker.__new__(_Tracker)
        other.__dict__.update(self.__dict__)
        other.mixer, other.mf, other.timing = self.mixer.copy(), self.mf.copy(), self.timing.copy()
        other.decim = self.decim.copy() if self.decim is not None else None
        other.carrier = self.carrier.copy()
        return other

    def feed(self, x_ch: np.ndarray, rx: "Receiver") -> None:
        y = self.mixer.process(x_ch)
        self.n_mixed += x_ch.size
        if self.decim is not None:
            y = self.decim.process(y)
        y = self.mf.process(y)
        if not self.power_set and y.size:
            self.timing.set_power(float(np.mean(np.abs(y) ** 2)))
            self.power_set = True
        z, p = self.timing.process(y)
        if not self.carrier_started:
            self.raw = np.concatenate([self.raw, z])
            self.raw_pos = np.concatenate([self.raw_pos, p])
            if self.raw.size < _PRE_SYMBOLS + rx.waveform.uw_symbols + 2:
                return
            z, p = self._start_carrier(rx)
        ref = self._reference(z.size, rx.waveform.uw_symbols, rx.waveform.symbols_per_frame)
        if self.pending is None:
            tracked = self.carrier.process(z, ref)
        else:
            # the mixer's retune reaches the loop with the filters' delay: split at the first symbol
            # whose matched-filter position lies after the retune sample
            n_h, f, r = self.pending
            split = int(np.searchsorted(p, n_h / rx.d2 + self.sym_offset))
            tracked = self.carrier.process(z[:split], ref[:split])
            if split < z.size:
                self.carrier.remove(f, r)
                tracked = np.concatenate([tracked, self.carrier.process(z[split:], ref[split:])])
                self.pending = None
        self.sym = np.concatenate([self.sym, tracked])
        self.pos = np.concatenate([self.pos, p])

    def _start_carrier(self, rx: "Receiver") -> tuple[np.ndarray, np.ndarray]:
        """Locate the UW among the first timing outputs, set the loop's phase and amplitude from it
        (data-aided; the mixer already removes the confirmed frequency and rate), and return the
        symbols from the UW start on."""
        u = rx.waveform.uw
        n = u.size
        best = max(range(_PRE_SYMBOLS - 2, _PRE_SYMBOLS + 3), key=lambda k: abs(np.vdot(u, self.raw[k : k + n])))
        z = self.raw[best:]
        c = np.vdot(u, z[:n])
        self.carrier.start(float(np.angle(c)), abs(c) / n)
        self.carrier_started = True
        p = self.raw_pos[best:]
        self.raw = self.raw_pos = None
        return z, p

    def hand_off(self) -> None:
        """Move the loop's frequency and rate into the upstream chirp NCO from the next sample on; the
        loop drops them when that sample reaches it (see :meth:`feed`)."""
        if not self.carrier_started or self.pending is not None:
            return
        f, r = self.carrier.freq_hz, self.carrier.rate_hz_s
        self.mixer.set(self.mixer.freq_hz + f, self.mixer.rate_hz_s + r)
        self.pending = (self.n_mixed, f, r)

    def cfo_hz(self) -> float:
        pending_hz = self.pending[1] if self.pending is not None else 0.0
        return self.mixer.freq_hz + self.carrier.freq_hz - pending_hz


class Receiver:
    """Streaming waveform v1 receiver.

    ``process(x, first_index)`` takes complex64 samples at ``waveform.sample_rate_sps`` whose first sample
    has absolute index ``first_index`` and returns the :class:`RxFrame` list completed by them.
    """

    def __init__(self, waveform: WaveformConfig, profile: ReceiverProfile):
        self.waveform, self.profile = waveform, profile
        fs = waveform.sample_rate_sps
        rs = waveform.symbol_rate_sps
        self.block_len = waveform.samples_per_frame // 4
        self.d1 = int(profile.channel_decimation)
        self.fs_ch = fs / self.d1
        self.d2 = int(round(self.fs_ch / (WORK_SPS * rs)))
        if (
            self.block_len % self.d1
            or abs(self.d2 * WORK_SPS * rs - self.fs_ch) > 1e-6
            or (self.block_len // self.d1) % (2 * self.d2)
        ):
            raise SkycallError(
                f"profile {profile.name!r}: channel_decimation={self.d1} does not divide the radio rate "
                f"{fs} S/s into a multiple of {WORK_SPS}·symbol_rate; choose a divisor of {fs / (WORK_SPS * rs):g}"
            )
        if profile.channel_passband_hz is None:
            self.ch_taps = None
            self.g1 = 0.0
        else:
            self.ch_taps = _lowpass(profile.channel_passband_hz, profile.channel_stopband_hz, fs)
            self.g1 = (self.ch_taps.size - 1) / 2
        half_bw = rs * (1 + waveform.rolloff) / 2
        self.dec_taps = _lowpass(half_bw + 2000.0, self.fs_ch / self.d2 - half_bw, self.fs_ch) if self.d2 > 1 else None
        self.g2 = (self.dec_taps.size - 1) / 2 if self.d2 > 1 else 0.0
        self.mf_taps = rrc_taps(waveform.rolloff, WORK_SPS, _MF_SPAN)
        self.g3 = (self.mf_taps.size - 1) / 2
        self.block_ch = self.block_len // self.d1
        self.acq = Acquirer(waveform, profile, self.fs_ch, self.block_ch)
        self.frame_ch = waveform.samples_per_frame // self.d1
        self.hist_len = 2 * self.acq.window_len + (profile.confirm_uws - 1) * self.frame_ch + 4 * self.block_ch
        self._codec = FrameCodec(waveform)
        self.counters = RxCounters()
        self.reset()

    # ---------------------------------------------------------------- public state
    @property
    def state(self) -> str:
        return "search" if self._tracker is None else "track"

    @property
    def locked(self) -> bool:
        return self._locked

    @property
    def cfo_hz(self) -> float:
        return self._cfo_hz

    @property
    def snr_db(self) -> float:
        return self._snr_db

    @property
    def afc_hz(self) -> float:
        """The frequency reference's correction: the last tracked carrier offset, kept after lock is lost
        (a phone keeps its AFC setting); the search is centred on it when the profile has ``pull_in_hz``."""
        return self._afc_hz

    def reset(self) -> None:
        """Forget everything (counters and frequency reference included): as freshly constructed."""
        self.counters = RxCounters()
        self._afc_hz = 0.0
        self._origin = None  # absolute input index of the first sample after the last reset/gap
        self._restart_stream(None)

    def copy(self) -> "Receiver":
        other = Receiver.__new__(Receiver)
        other.__dict__.update(self.__dict__)
        other.counters = RxCounters(**vars(self.counters))
        other._pending = self._pending.copy()
        other._hist = self._hist.copy()
        other._chan = self._chan.copy() if self._chan is not None else None
        other._tracker = self._tracker.copy() if self._tracker is not None else None
        other._confirmed = list(self._confirmed)
        return other

    # ---------------------------------------------------------------- streaming
    def process(self, x: np.ndarray, first_index: int) -> list[RxFrame]:
        x = np.ascontiguousarray(x, dtype=np.complex64)
        if x.ndim != 1:
            raise SkycallError(f"receiver input must be a 1-D complex array, got shape {x.shape}")
        first_index = int(first_index)
        if self._origin is None:
            self._restart_stream(first_index)
        elif first_index != self._next_index:
            self.counters.gaps += 1
            if self._locked:
                self.counters.lock_losses += 1
            self._restart_stream(first_index)
        self._next_index = first_index + x.size
        self._pending = np.concatenate([self._pending, x])
        frames: list[RxFrame] = []
        n_blocks = self._pending.size // self.block_len
        for b in range(n_blocks):
            frames.extend(self._block(self._pending[b * self.block_len : (b + 1) * self.block_len]))
        self._pending = self._pending[n_blocks * self.block_len :].copy()
        return frames

    def _restart_stream(self, origin: int | None) -> None:
        self._origin = origin
        self._next_index = origin
        self._pending = np.zeros(0, dtype=np.complex64)
        self._chan = FirDecimator(self.ch_taps, self.d1) if self.ch_taps is not None else None
        self._hist = np.zeros(self.hist_len, dtype=np.complex64)
        self._n_ch = 0  # channel-rate samples received since origin
        self._to_search()

    def _to_search(self) -> None:
        self._tracker = None
        self._confirmed: list[Detection] = []
        self._locked = False
        self._misses = 0
        self._quadrant = None
        self._next_uw = None
        self._cfo_hz = 0.0
        self._snr_db = float("nan")

    def _block(self, x: np.ndarray) -> list[RxFrame]:
        x_ch = self._chan.process(x) if self._chan is not None else x
        n = x_ch.size
        self._hist[:-n] = self._hist[n:]
        self._hist[-n:] = x_ch
        self._n_ch += n
        if self._tracker is None:
            if not self._confirmed:
                w0 = self._n_ch - self.acq.window_len
                centre = self._afc_hz if self.profile.pull_in_hz is not None else 0.0
                det = self.acq.search(self._hist[-self.acq.window_len :], w0, centre)
                if det is None:
                    return []
                self._confirmed.append(det)
            if not self._confirm():
                return []
            self._start_tracking()
        else:
            self._tracker.feed(x_ch, self)
        frames = self._frames()
        if self._tracker is not None:
            self._tracker.hand_off()
        return frames

    def _confirm(self) -> bool:
        """Measure the next frames' UWs after a detection as soon as the history holds them. True when
        ``profile.confirm_uws`` UWs are measured, or when one is missing (a burst, e.g. an uplink access
        frame: tracking starts from the UWs found so far); False while waiting."""
        conf, acq = self._confirmed, self.acq
        hist_start = self._n_ch - self.hist_len
        while len(conf) < self.profile.confirm_uws:
            index = conf[0].index + len(conf) * self.frame_ch
            w0 = int(np.floor(index)) - acq.edge_len - acq.decim
            if w0 + acq.window_len > self._n_ch:
                return False
            freq = conf[-1].freq_hz
            if len(conf) >= 2 and self.profile.estimate_rate:
                freq += conf[-1].freq_hz - conf[-2].freq_hz
            det = acq.measure(self._hist[w0 - hist_start : w0 - hist_start + acq.window_len], w0, index, freq)
            if det is None:
                return True
            conf.append(det)
        return True

    def _start_tracking(self) -> None:
        """Start the tracking chain a few symbols before the first confirmed UW on the frequency line
        f(n) = f̄ + r·(n - n̄)/fs: r from the UW frequencies (≥ 3 UWs and ``profile.estimate_rate``,
        else 0), then f̄ and r refined from the UW phases."""
        conf = self._confirmed
        hist_start = self._n_ch - self.hist_len
        rate = 0.0
        if self.profile.estimate_rate and len(conf) >= 3:
            t = np.array([d.index for d in conf]) / self.fs_ch
            rate = float(np.polyfit(t, [d.freq_hz for d in conf], 1)[0])
        f_ref, rate, n_ref = self.acq.refine(self._hist, hist_start, conf, rate, self.profile.estimate_rate)
        det = conf[0]
        start = int(np.floor(det.index)) - (_PRE_SYMBOLS + 4) * WORK_SPS * self.d2 - int(self.g2)
        start -= int(self.g3) * self.d2
        start = max(start, hist_start)
        freq = f_ref + rate * (start - n_ref) / self.fs_ch
        if self.profile.afc_range_hz is not None:
            freq = float(np.clip(freq, -self.profile.afc_range_hz, self.profile.afc_range_hz))
        self.counters.acquisitions += 1
        self._tracker = _Tracker(self, det, start, freq, rate)
        self._cfo_hz = freq
        self._tracker.feed(self._hist[start - hist_start :], self)
        self._next_uw = 0

    # ---------------------------------------------------------------- framing
    def _frames(self) -> list[RxFrame]:
        wf = self.waveform
        out = []
        spf = wf.symbols_per_frame
        while self._tracker is not None and self._tracker.sym.size >= self._next_uw + spf + 2:
            out.extend(self._frame())
        if self._tracker is not None and self._next_uw > 2 * spf:  # drop consumed symbols
            cut = self._next_uw - 2
            self._tracker.sym = self._tracker.sym[cut:]
            self._tracker.pos = self._tracker.pos[cut:]
            self._next_uw -= cut
        return out

    def _frame(self) -> list[RxFrame]:
        wf, tr, prof = self.waveform, self._tracker, self.profile
        u, n_uw, spf = wf.uw, wf.uw_symbols, wf.symbols_per_frame
        k0 = self._next_uw
        cands = [s for s in (0, -1, 1) if k0 + s >= 0]
        corrs = {s: np.vdot(u, tr.sym[k0 + s : k0 + s + n_uw]) for s in cands}
        s_best = max(cands, key=lambda s: abs(corrs[s]))
        if abs(corrs[s_best]) > 1.2 * abs(corrs[0]):
            k0 += s_best
            tr.shift_uw(s_best)
        corr = np.vdot(u, tr.sym[k0 : k0 + n_uw])
        z = tr.sym[k0 : k0 + spf]
        rho = abs(corr) ** 2 / max(float(np.vdot(z[:n_uw], z[:n_uw]).real), 1e-30)
        self._next_uw = k0 + spf
        hit = rho > prof.track_threshold
        quadrant = int(np.round(np.angle(corr) / (np.pi / 2))) % 4
        if hit:
            self._misses = 0
            if self._quadrant is not None and quadrant != self._quadrant:
                self.counters.cycle_slips += 1
            self._quadrant = quadrant
            tr.set_quadrant(quadrant)
            self._locked = True
        else:
            self.counters.uw_misses += 1
            self._misses += 1
            quadrant = self._quadrant if self._quadrant is not None else quadrant
            if not self._locked or self._misses >= prof.max_uw_misses:
                if self._locked:
                    self.counters.lock_losses += 1
                self._to_search()
                return []
        zr = z * np.complex64(np.exp(-1j * np.pi / 2 * quadrant))
        amp = max(tr.carrier.amplitude, 1e-20)
        soft = self._codec.soft_coded(zr[n_uw:] / amp)
        ftype, seq, call_id, payload, ok = self._codec.decode(soft)
        if ok:
            self.counters.frames_ok += 1
        else:
            self.counters.frames_bad += 1
        m2 = float(np.mean(np.abs(zr) ** 2))
        m4 = float(np.mean(np.abs(zr) ** 4))
        s = np.sqrt(max(2 * m2 * m2 - m4, 0.0))
        self._snr_db = float(10 * np.log10(s / (m2 - s))) if 0 < s < m2 else float("inf" if s > 0 else "-inf")
        self._cfo_hz = self._afc_hz = tr.cfo_hz()
        p_ch = tr.start + (tr.pos[k0] - self.g3) * self.d2 - self.g2
        p_in = self._origin + p_ch * self.d1 - self.g1
        index = int(np.round(p_in - wf.tx_delay_samples))
        return [
            RxFrame(
                sample_index=index,
                type=ftype,
                seq=seq,
                call_id=call_id,
                payload=payload,
                crc_ok=ok,
                cfo_hz=self._cfo_hz,
                snr_db=self._snr_db,
                uw_rho=float(rho),
                phase_quadrant=quadrant,
                soft_bits=soft,
            )
        ]
