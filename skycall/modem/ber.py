"""Bit-error measurement of the whole modem: transmitter -> Doppler (CFO + ramp) -> AWGN -> receiver.

Energy convention: the transmitter emits unit average power per sample, so Es = sps and complex AWGN
of variance σ² per sample gives Es/N0 = sps/σ². A QPSK symbol carries two channel (coded) bits:
Es/N0 = Eb/N0 + 10·log10(2), with Eb the energy per *channel* bit; the uncoded reference is
Q(√(2·Eb/N0)). The rate-1/2 code puts one information bit in each symbol, so the coded curves are
read against Eb_info/N0 = Es/N0 = Eb/N0 + 3.01 dB (UW overhead not counted).

Uncoded BER: hard decisions (sign) of the receiver's demodulated soft values (``RxFrame.soft_bits``,
after synchronisation, phase-ambiguity resolution, descrambling and deinterleaving) against the known
coded bits. Coded BER: the Viterbi output against the information bits. Frames before ``LEAD_FRAMES``
(acquisition) are not counted; a later frame the receiver never delivers counts as a frame error with
half of its bits wrong. The *genie* run feeds the same decoder with the transmitted coded symbols plus
AWGN at the same Es/N0 (perfect timing, phase and frequency).
"""

from dataclasses import asdict, dataclass

import numpy as np

from skycall.dsp.rotator import TrajectoryRotator
from skycall.errors import SkycallError
from skycall.metrics.ber_theory import qpsk_ber, viterbi_union_bound
from skycall.modem.frame import Frame, FrameCodec
from skycall.modem.profiles import ReceiverProfile
from skycall.modem.rx import Receiver
from skycall.modem.tx import Transmitter
from skycall.modem.waveform import WaveformConfig
from skycall.rng import make_rng

#: frames transmitted before the counted ones (time for the receiver to acquire)
LEAD_FRAMES = 6
CHUNK_FRAMES = 25
BITS_PER_SYMBOL_DB = 10 * np.log10(2.0)


@dataclass
class BerCount:
    """Error counts of one Eb/N0 point (uncoded: channel bits; coded: information bits)."""

    ebn0_db: float
    frames: int = 0
    frame_errors: int = 0
    bits: int = 0
    bit_errors: int = 0
    info_bits: int = 0
    info_errors: int = 0
    missed_frames: int = 0
    cycle_slips: int = 0
    lock_losses: int = 0

    @property
    def ber(self) -> float:
        return self.bit_errors / self.bits if self.bits else float("nan")

    @property
    def ber_coded(self) -> float:
        return self.info_errors / self.info_bits if self.info_bits else float("nan")

    @property
    def fer(self) -> float:
        return self.frame_errors / self.frames if self.frames else float("nan")


def esn0_db(ebn0_db: float) -> float:
    """Es/N0 (dB) of QPSK at channel-bit Eb/N0 ``ebn0_db``."""
    return float(ebn0_db) + BITS_PER_SYMBOL_DB


def random_frames(n: int, rng: np.random.Generator, waveform: WaveformConfig) -> list[Frame]:
    """``n`` frames with random payloads and sequence numbers 0, 1, ... (mod 4096)."""
    return [
        Frame(1, i % 4096, 0x5C, rng.integers(0, 256, waveform.payload_bytes, dtype=np.uint8).tobytes())
        for i in range(n)
    ]


def _count_frame(count: BerCount, codec: FrameCodec, frame: Frame, soft: np.ndarray | None) -> None:
    coded = codec.coded_bits(frame)
    info = codec.info_bits(frame)
    count.frames += 1
    count.bits += coded.size
    count.info_bits += info.size
    if soft is None:
        count.missed_frames += 1
        count.frame_errors += 1
        count.bit_errors += coded.size // 2
        count.info_errors += info.size // 2
        return
    bit_err = int(np.count_nonzero((soft < 0) != coded.astype(bool)))
    info_err = int(np.count_nonzero(codec.decode_bits(soft) != info))
    count.bit_errors += bit_err
    count.info_errors += info_err
    count.frame_errors += int(info_err > 0)


def simulate_chain(
    waveform: WaveformConfig,
    profile: ReceiverProfile,
    ebn0_db: float,
    n_frames: int,
    seed: int,
    cfo_hz: float = 0.0,
    rate_hz_s: float = 0.0,
    progress=None,
) -> BerCount:
    """Count errors of ``n_frames`` frames through the full chain at channel-bit ``ebn0_db``.

    Channel: frequency f(t) = cfo_hz + rate_hz_s·t (TrajectoryRotator, random start phase), then
    complex AWGN. ``progress(done_frames, total_frames)`` is called after each chunk when given.
    """
    if n_frames < 1:
        raise SkycallError(f"frames must be >= 1, got {n_frames}")
    data_rng, noise_rng = make_rng(seed).spawn(2)
    total = LEAD_FRAMES + n_frames + 1
    frames = random_frames(total, data_rng, waveform)
    spf, fs = waveform.samples_per_frame, waveform.sample_rate_sps
    end_hz = cfo_hz + rate_hz_s * total * spf / fs
    if max(abs(cfo_hz), abs(end_hz)) > fs / 2:
        raise SkycallError(f"the Doppler trajectory {cfo_hz:g} -> {end_hz:g} Hz leaves ±{fs / 2:g} Hz")
    rot = TrajectoryRotator(
        fs, np.array([0, total * spf]), np.array([cfo_hz, end_hz]), phase_rad=noise_rng.uniform(0, 2 * np.pi)
    )
    sigma = np.sqrt(waveform.sps / 10 ** (esn0_db(ebn0_db) / 10) / 2)
    tx, rx, codec = Transmitter(waveform), Receiver(waveform, profile), FrameCodec(waveform)
    soft: dict[int, np.ndarray] = {}
    for c0 in range(0, total, CHUNK_FRAMES):
        x = rot.process(tx.process(frames[c0 : c0 + CHUNK_FRAMES]), c0 * spf)
        noise = noise_rng.standard_normal((2, x.size), dtype=np.float32) * np.float32(sigma)
        x = (x + (noise[0] + 1j * noise[1])).astype(np.complex64)
        for f in rx.process(x, c0 * spf):
            k = int(np.round(f.sample_index / spf))
            if abs(f.sample_index - k * spf) <= spf // 4 and 0 <= k < total:
                soft.setdefault(k, f.soft_bits)
        if progress is not None:
            progress(min(c0 + CHUNK_FRAMES, total), total)
    count = BerCount(float(ebn0_db), cycle_slips=rx.counters.cycle_slips, lock_losses=rx.counters.lock_losses)
    for k in range(LEAD_FRAMES, LEAD_FRAMES + n_frames):
        _count_frame(count, codec, frames[k], soft.get(k))
    return count


def simulate_genie(waveform: WaveformConfig, ebn0_db: float, n_frames: int, seed: int) -> BerCount:
    """The same frames and decoder with perfect synchronisation: coded symbols + AWGN at the same Es/N0."""
    data_rng, noise_rng = make_rng(seed).spawn(2)
    frames = random_frames(n_frames + LEAD_FRAMES, data_rng, waveform)[LEAD_FRAMES:]
    codec = FrameCodec(waveform)
    sigma = np.sqrt(1.0 / 10 ** (esn0_db(ebn0_db) / 10) / 2)
    count = BerCount(float(ebn0_db))
    for frame in frames:
        z = codec.symbols(frame)[waveform.uw_symbols :]
        noise = noise_rng.standard_normal((2, z.size))
        _count_frame(count, codec, frame, codec.soft_coded(z + sigma * (noise[0] + 1j * noise[1])))
    return count


def point_record(chain: BerCount, genie: BerCount) -> dict:
    """JSON row of one Eb/N0 point: measured and closed-form BERs (see the module docstring)."""
    ebn0 = chain.ebn0_db
    return {
        "ebn0_db": ebn0,
        "esn0_db": esn0_db(ebn0),
        "ebn0_info_db": esn0_db(ebn0),
        "ber": chain.ber,
        "fer": chain.fer,
        "ber_theory_uncoded": float(qpsk_ber(ebn0)),
        "ber_coded": chain.ber_coded,
        "ber_coded_genie": genie.ber_coded,
        "fer_genie": genie.fer,
        "ber_uncoded_genie": genie.ber,
        "ber_theory_coded_bound": float(viterbi_union_bound(esn0_db(ebn0))),
        "counts": asdict(chain),
        "genie_counts": asdict(genie),
    }
