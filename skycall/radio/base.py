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


@dataclass(frozen=True)
class Discontinuity:
    """A jump in the receive indices: ``lost_samples`` before ``index`` never reached the reader."""

    index: int  # first sample index after the jump (radio rate)
    lost_samples: int
    time_s: float  # wall clock (time.time()) when it was noticed


@dataclass
class RadioCounters:
    """Never-silent accounting of what a real-time stream lost.

    ``lost_samples`` counts every receive sample the reader never got: those the hardware dropped
    (counted exactly where the radio tells, otherwise estimated from the host clock) plus
    ``stale_samples``, old ones the host threw away to catch up with the newest.
    """

    overflows: int = 0  # receive overflow events (the host was late; samples were lost)
    underflows: int = 0  # transmit underflow events (the radio sent zeros)
    lost_samples: int = 0  # receive samples the reader never got (see above)
    stale_samples: int = 0  # of those, old samples dropped by the host to skip ahead
    underflow_samples: int = 0  # transmit samples sent as zeros (estimated from the host clock)
    late_samples: int = 0  # transmit samples dropped because their air time had passed
    dropped_messages: int = 0  # malformed or out-of-order messages discarded
    discontinuities: list[Discontinuity] = field(default_factory=list)

    def gap(self, index: int, lost: int, time_s: float) -> None:
        """Record a receive discontinuity before ``index``."""
        self.lost_samples += lost
        self.discontinuities.append(Discontinuity(int(index), int(lost), float(time_s)))


@runtime_checkable
class Radio(Protocol):
    """open → configure → start → read/write … → stop. ``close`` is idempotent."""

    counters: RadioCounters

    def open(self) -> None: ...

    def configure(self, config: RadioConfig) -> None: ...

    def start(self) -> None: ...

    def read(self, n: int, timeout_s: float | None = None) -> tuple[int, np.ndarray]:
        """Return ``(first_sample_index, samples)`` with ``len(samples) <= n`` (complex64), contiguous.

        A real-time radio that lost samples returns short before the jump; the next read starts at
        the later index (a :class:`Discontinuity` in ``counters``).
        """
        ...

    def write(self, samples: np.ndarray, first_sample_index: int | None = None) -> None:
        """Queue ``samples``; with ``first_sample_index`` (receive index space) a real-time radio sends
        them at that moment, dropping what is already too late and waiting out what is early."""
        ...

    def stop(self) -> None: ...

    def close(self) -> None: ...
