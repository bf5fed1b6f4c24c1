"""The live dashboard's recording: every frame it sent, for replay (``DIR/dashboard.jsonl``).

Line 1 is a header ``{"type": "header", "version", "fs_hz", "endpoints"}``; then one frame per line
(exactly the JSON the page got) and ``{"type": "endpoints", ...}`` whenever the flowgraph's
endpoints changed (a process restarted). The endpoints are ephemeral ports, so they identify the run:
a recording whose last endpoints differ from the run's ``endpoints.json`` belongs to an earlier run
in the same directory and is not replayed.
"""

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "dashboard.jsonl"
VERSION = 1


class Recorder:
    """Appends frames to ``run_dir/dashboard.jsonl`` (truncated when the live dashboard starts)."""

    def __init__(self, run_dir: Path, fs_hz: float):
        self.path = run_dir / FILE_NAME
        self.fs_hz = fs_hz
        self._file = None
        self._endpoints = None

    def endpoints(self, table: dict) -> None:
        """The flowgraph's current endpoints (the first call writes the header)."""
        if table == self._endpoints:
            return
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8")
            self._write({"type": "header", "version": VERSION, "fs_hz": self.fs_hz, "endpoints": table})
        else:
            self._write({"type": "endpoints", "endpoints": table})
        self._endpoints = table

    def frame(self, text: str) -> None:
        """One frame, already JSON (written only once the endpoints are known)."""
        if self._file is not None:
            self._file.write(text + "\n")

    def _write(self, record: dict) -> None:
        self._file.write(json.dumps(record) + "\n")

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_recording(run_dir: Path) -> tuple[dict, list[dict]] | None:
    """``(header, frames)`` of the run's recording, or None (no recording, or one of an earlier run)."""
    path = run_dir / FILE_NAME
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        current = json.loads((run_dir / "endpoints.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:  # a line cut short when the dashboard was killed
            continue
    if not records or records[0].get("type") != "header" or records[0].get("version") != VERSION:
        return None
    last = [r["endpoints"] for r in records if r.get("type") in ("header", "endpoints")][-1]
    if last != current:
        log.info("%s is from an earlier run in %s: not replayed", FILE_NAME, run_dir)
        return None
    return records[0], [r for r in records if r.get("type") == "frame"]


__all__ = ["Recorder", "read_recording", "FILE_NAME"]
