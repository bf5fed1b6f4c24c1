"""Waveform v1 frame layout: a frozen :class:`WaveformConfig` and its derived sizes and sequences.

One frame lasts ``frame_s`` and holds ``symbols_per_frame = frame_s·symbol_rate_sps`` QPSK symbols::

    [ unique word (uw_symbols) | coded block (coded_symbols) ]

The coded block carries ``info_bits = 32 (header) + 8·payload_bytes + 16 (CRC)`` bits plus 6 tail bits,
rate-1/2 K=7 coded: ``coded_bits = 2·(info_bits + 6)``, ``coded_symbols = coded_bits / 2``. Every spare
symbol of the frame goes to the unique word (UW), so a larger payload shortens the UW (≥ 32 symbols).
"""

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from skycall.errors import ConfigError

HEADER_BITS = 32  # type 4 + sequence 12 + call id 16
CRC_BITS = 16
TAIL_BITS = 6  # K - 1 zeros that terminate the trellis in state 0
MIN_UW_SYMBOLS = 32
_SOURCE = "<waveform>"


def _lfsr_bits(n_bits: int, taps: tuple[int, ...], degree: int) -> np.ndarray:
    """``n_bits`` of the Fibonacci LFSR x^degree + Σ x^tap + 1 started from all ones (uint8 0/1)."""
    state = (1 << degree) - 1
    out = np.empty(n_bits, dtype=np.uint8)
    for i in range(n_bits):
        bit = (state >> (degree - 1)) & 1
        for t in taps:
            bit ^= (state >> (t - 1)) & 1
        out[i] = state & 1
        state = ((state << 1) | bit) & ((1 << degree) - 1)
    return out


def qpsk_map(bits: np.ndarray) -> np.ndarray:
    """Gray QPSK: bit pair (b0, b1) -> ((1 - 2·b0) + j(1 - 2·b1))/√2, unit energy. bits: (2N,) -> (N,)."""
    b = np.asarray(bits, dtype=np.float32).reshape(-1, 2)
    return ((1.0 - 2.0 * b[:, 0]) + 1j * (1.0 - 2.0 * b[:, 1])).astype(np.complex64) / np.float32(np.sqrt(2.0))


@lru_cache(maxsize=8)
def unique_word(n_symbols: int) -> np.ndarray:
    """The ``n_symbols`` QPSK unique word: the window of a degree-9 m-sequence (511 bits, repeated) with
    the lowest peak aperiodic autocorrelation sidelobe, searched over all 511 start offsets (deterministic).
    """
    mseq = _lfsr_bits(511, (5,), 9)
    rep = np.concatenate([mseq] * (2 * n_symbols // 511 + 2))
    best, best_peak = None, np.inf
    for offset in range(511):
        u = qpsk_map(rep[offset : offset + 2 * n_symbols]).astype(np.complex128)
        acf = np.abs(np.correlate(u, u, mode="full"))
        peak = np.max(np.delete(acf, n_symbols - 1))
        if peak < best_peak:
            best, best_peak = u, peak
    best = best.astype(np.complex64)
    best.setflags(write=False)
    return best


@lru_cache(maxsize=8)
def scrambler_bits(n_bits: int) -> np.ndarray:
    """Fixed whitening sequence XOR-ed onto the interleaved coded bits (x^15 + x^14 + 1, all-ones start)."""
    bits = _lfsr_bits(n_bits, (14,), 15)
    bits.setflags(write=False)
    return bits


def _check(key: str, ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(_SOURCE, key, message)


@dataclass(frozen=True)
class WaveformConfig:
    """Physical-layer parameters of waveform v1 (defaults from DESIGN §4).

    Parameters
    ----------
    symbol_rate_sps : float
        QPSK symbol rate, symbols/s.
    sample_rate_sps : float
        Radio sample rate, samples/s; must be an integer multiple of the symbol rate.
    rolloff : float
        RRC excess bandwidth β (0 < β ≤ 1); occupied bandwidth = symbol_rate·(1 + β).
    frame_s : float
        Frame duration, s; frame_s·symbol_rate_sps must be an integer number of symbols.
    payload_bytes : int
        Fixed payload size, bytes (≥ 40: Opus 8 kbit/s × 40 ms). Shorter payloads are zero-padded.
    rrc_span_symbols : int
        Span of the transmit RRC filter, symbols (even).
    interleaver_rows : int
        Rows of the block interleaver (coded bits written row-wise, read column-wise).
    """

    symbol_rate_sps: float = 12_000.0
    sample_rate_sps: float = 240_000.0
    rolloff: float = 0.35
    frame_s: float = 0.040
    payload_bytes: int = 40
    rrc_span_symbols: int = 10
    interleaver_rows: int = 22

    def __post_init__(self):
        _check("symbol_rate_sps", self.symbol_rate_sps > 0, f"must be > 0, got {self.symbol_rate_sps}")
        ratio = self.sample_rate_sps / self.symbol_rate_sps
        _check(
            "sample_rate_sps",
            ratio >= 4 and abs(ratio - round(ratio)) < 1e-9,
            f"must be an integer multiple (>= 4) of symbol_rate_sps={self.symbol_rate_sps}, got {self.sample_rate_sps}",
        )
        _check("rolloff", 0.0 < self.rolloff <= 1.0, f"must satisfy 0 < rolloff <= 1, got {self.rolloff}")
        n_sym = self.frame_s * self.symbol_rate_sps
        _check(
            "frame_s",
            n_sym >= 1 and abs(n_sym - round(n_sym)) < 1e-6,
            f"frame_s·symbol_rate_sps must be a whole number of symbols, got {n_sym}",
        )
        _check("payload_bytes", int(self.payload_bytes) >= 40, f"must be >= 40, got {self.payload_bytes}")
        _check(
            "payload_bytes",
            self.uw_symbols >= MIN_UW_SYMBOLS,
            f"payload_bytes={self.payload_bytes} leaves {self.uw_symbols} unique-word symbols in a "
            f"{self.symbols_per_frame}-symbol frame; at most "
            f"{(self.symbols_per_frame - MIN_UW_SYMBOLS - HEADER_BITS - CRC_BITS - TAIL_BITS) // 8} bytes fit",
        )
        _check(
            "rrc_span_symbols",
            self.rrc_span_symbols >= 2 and self.rrc_span_symbols % 2 == 0,
            f"must be an even integer >= 2, got {self.rrc_span_symbols}",
        )
        _check("interleaver_rows", self.interleaver_rows >= 1, f"must be >= 1, got {self.interleaver_rows}")

    @cached_property
    def sps(self) -> int:
        """Samples per symbol at the radio rate."""
        return int(round(self.sample_rate_sps / self.symbol_rate_sps))

    @cached_property
    def symbols_per_frame(self) -> int:
        return int(round(self.frame_s * self.symbol_rate_sps))

    @cached_property
    def samples_per_frame(self) -> int:
        return self.symbols_per_frame * self.sps

    @cached_property
    def info_bits(self) -> int:
        """Header + payload + CRC bits protected by the code (tail excluded)."""
        return HEADER_BITS + 8 * int(self.payload_bytes) + CRC_BITS

    @cached_property
    def coded_bits(self) -> int:
        return 2 * (self.info_bits + TAIL_BITS)

    @cached_property
    def coded_symbols(self) -> int:
        return self.coded_bits // 2

    @cached_property
    def uw_symbols(self) -> int:
        return self.symbols_per_frame - self.coded_symbols

    @cached_property
    def tx_delay_samples(self) -> int:
        """Group delay of the transmit RRC filter: symbol m of a frame peaks at frame start + m·sps + this."""
        return self.rrc_span_symbols * self.sps // 2

    @cached_property
    def uw(self) -> np.ndarray:
        """Unique-word symbols, complex64 (uw_symbols,), unit energy each."""
        return unique_word(self.uw_symbols)

    @cached_property
    def scrambler(self) -> np.ndarray:
        """Whitening bits, uint8 (coded_bits,)."""
        return scrambler_bits(self.coded_bits)

    @cached_property
    def interleaver(self) -> np.ndarray:
        """Block-interleaver read order: transmitted bit i is coded bit ``interleaver[i]`` (int64 (coded_bits,))."""
        rows = int(self.interleaver_rows)
        cols = -(-self.coded_bits // rows)
        order = np.arange(rows * cols).reshape(rows, cols).T.ravel()
        order = order[order < self.coded_bits]
        order.setflags(write=False)
        return order
