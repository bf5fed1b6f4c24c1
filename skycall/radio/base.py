"""The one radio interface every backend implements (loopback, sigmf, pluto, soapy/hackrf).

A radio moves complex64 baseband samples at ``sample_rate_sps`` around ``centre_freq_hz``.
Samples carry absolute indices: ``read`` returns the index of its first sample, so a
receiver can key channel state to sample indices, never to the wall clock.
"""

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class RadioConfig:
    """What a flowgraph asks of one radio (validated against its hardware profile first)."""

    rx_freq_hz: float | None = None
    tx_freq_hz: float | None = None
    sample_rate_sps: float = 240_000.0
    rf_bandwidth_hz: float | None = None
    rx_gain_db: float | None = None
    rx_gain_mode: str = "manual"
    tx_gain_db: float | None = None
    buffer_size: int = 8192
    freq_correction_ppm: float = 0.0
    extra: dict = field(default_factory=dict)


@dataclass
class RadioCounters:
    """Never-silent accounting of what a real-time stream lost."""

    overflows: int = 0  # receive samples the host was too slow to take
    underflows: int = 0  # transmit samples the radio wanted but did not get
    dropped_messages: int = 0  # malformed or out-of-order messages discarded


@runtime_checkable
class Radio(Protocol):
    """open → configure → start → read/write … → stop. ``close`` is idempotent."""

    counters: RadioCounters

    def open(self) -> None: ...

    def configure(self, config: RadioConfig) -> None: ...

    def start(self) -> None: ...

    def read(self, n: int, timeout_s: float | None = None) -> tuple[int, np.ndarray]:
        """Return ``(first_sample_index, samples)`` with ``len(samples) <= n`` (complex64)."""
        ...

    def write(self, samples: np.ndarray, first_sample_index: int | None = None) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...
