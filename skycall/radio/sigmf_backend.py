"""SigMF recording and replay of IQ streams (``sigmf`` package, datatype ``cf32_le``).

:class:`SigMFRecorder` appends complex64 chunks to ``NAME.sigmf-data`` and, on :meth:`close`,
writes ``NAME.sigmf-meta`` with the global sample rate, hardware and recorder, and one capture
segment per contiguous run of sample indices: ``core:sample_start`` (position in the file),
``core:global_index`` (the stream's absolute sample index), ``core:frequency`` (centre, Hz) and
``core:datetime`` (UTC, ISO 8601, when the segment's first sample was recorded). A jump in the
index (sender restarted, samples lost) starts a new capture.

:class:`SigMFReplayRadio` plays a recording back as a receiver implementing the Radio Protocol:
``read(n)`` returns ``(global_index, samples)`` in file order, never across a capture boundary
(so a returned chunk is always contiguous), and an empty array at the end of the recording.
"""

import datetime
from pathlib import Path

import numpy as np
import sigmf
from sigmf import SigMFFile, sigmffile

from skycall.errors import SkycallError
from skycall.radio.base import RadioConfig, RadioCounters

DATATYPE = "cf32_le"


def _base(path: str | Path) -> Path:
    """``x.sigmf-meta`` / ``x.sigmf-data`` / ``x`` → ``x``."""
    path = Path(path)
    return path.with_suffix("") if path.suffix in (".sigmf-meta", ".sigmf-data") else path


def _utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SigMFRecorder:
    """Record a stream to SigMF (see module docstring).

    Parameters
    ----------
    path : path
        Recording name (``.sigmf-meta``/``.sigmf-data`` are added).
    sample_rate_sps, centre_freq_hz : float
    hw : str
        ``core:hw``: the radio or process that produced the stream.
    description : str
    """

    def __init__(
        self, path, sample_rate_sps: float, centre_freq_hz: float, hw: str = "", description: str = ""
    ):
        self.base = _base(path)
        self.base.parent.mkdir(parents=True, exist_ok=True)
        self.sample_rate_sps, self.centre_freq_hz = float(sample_rate_sps), float(centre_freq_hz)
        self.hw, self.description = hw, description
        self._data = open(self.base.with_suffix(".sigmf-data"), "wb")  # noqa: SIM115
        self.captures: list[tuple[int, int, str]] = []  # (sample_start, global_index, datetime)
        self.n_samples = 0
        self._next_index: int | None = None

    def write(self, samples: np.ndarray, first_index: int | None = None) -> None:
        """Append ``samples`` whose first has stream index ``first_index`` (default: continue)."""
        first = (self._next_index or 0) if first_index is None else int(first_index)
        if first != self._next_index:
            self.captures.append((self.n_samples, first, _utc_now()))
        self._data.write(np.ascontiguousarray(samples, dtype=np.complex64).tobytes())
        self.n_samples += len(samples)
        self._next_index = first + len(samples)

    def close(self) -> Path:
        """Write the metadata; return the ``.sigmf-meta`` path. Idempotent."""
        meta_path = self.base.with_suffix(".sigmf-meta")
        if self._data.closed:
            return meta_path
        self._data.close()
        meta = SigMFFile(
            data_file=str(self.base.with_suffix(".sigmf-data")),
            global_info={
                sigmf.DATATYPE_KEY: DATATYPE,
                sigmf.SAMPLE_RATE_KEY: self.sample_rate_sps,
                sigmf.HW_KEY: self.hw,
                sigmf.RECORDER_KEY: "skycall",
                sigmf.DESCRIPTION_KEY: self.description,
            },
        )
        for start, index, when in self.captures or [(0, 0, _utc_now())]:
            meta.add_capture(
                start,
                metadata={
                    sigmf.GLOBAL_INDEX_KEY: index,
                    sigmf.FREQUENCY_KEY: self.centre_freq_hz,
                    sigmf.DATETIME_KEY: when,
                },
            )
        meta.tofile(str(meta_path), overwrite=True)
        return meta_path


class SigMFReplayRadio:
    """A receive-only radio that replays a SigMF recording (Radio Protocol)."""

    def __init__(self, path):
        self.path = _base(path)
        self.counters = RadioCounters()
        self._samples: np.ndarray | None = None
        self._pos = 0

    def open(self) -> None:
        meta_path = self.path.with_suffix(".sigmf-meta")
        if not meta_path.exists():
            raise SkycallError(f"no SigMF recording at {meta_path}: record one with SigMFRecorder first")
        meta = sigmffile.fromfile(str(meta_path))
        datatype = meta.get_global_field(sigmf.DATATYPE_KEY)
        if datatype != DATATYPE:
            raise SkycallError(
                f"{meta_path}: datatype {datatype!r} is not supported (replay needs {DATATYPE})"
            )
        self.sample_rate_sps = float(meta.get_global_field(sigmf.SAMPLE_RATE_KEY))
        self._samples = np.memmap(self.path.with_suffix(".sigmf-data"), dtype=np.complex64, mode="r")
        captures = meta.get_captures()
        self._starts = np.array(
            [c[sigmf.SAMPLE_START_KEY] for c in captures] + [self._samples.size], np.int64
        )
        self._global = [int(c.get(sigmf.GLOBAL_INDEX_KEY, c[sigmf.SAMPLE_START_KEY])) for c in captures]
        self.centre_freqs_hz = [float(c.get(sigmf.FREQUENCY_KEY, 0.0)) for c in captures]

    def configure(self, config: RadioConfig) -> None:
        if self._samples is None:
            self.open()
        if abs(config.sample_rate_sps - self.sample_rate_sps) > 1e-6 * self.sample_rate_sps:
            raise SkycallError(
                f"{self.path}: recorded at {self.sample_rate_sps:.0f} S/s, "
                f"asked for {config.sample_rate_sps:.0f} S/s"
            )

    def start(self) -> None:
        if self._samples is None:
            self.open()

    def read(self, n: int, timeout_s: float | None = None) -> tuple[int, np.ndarray]:
        """Next ≤ n samples of the current capture as ``(global_index, samples)``; empty at the end."""
        k = int(np.searchsorted(self._starts, self._pos, side="right")) - 1
        if self._pos >= self._samples.size:
            return self._pos, np.zeros(0, np.complex64)
        end = min(self._pos + n, int(self._starts[k + 1]))
        first = self._global[k] + self._pos - int(self._starts[k])
        out = np.array(self._samples[self._pos : end])
        self._pos = end
        return first, out

    def write(self, samples: np.ndarray, first_sample_index: int | None = None) -> None:
        raise SkycallError(f"{self.path}: a SigMF replay radio only receives (it cannot transmit)")

    def stop(self) -> None:
        pass

    def close(self) -> None:
        self._samples = None


__all__ = ["SigMFRecorder", "SigMFReplayRadio"]
