"""A campaign's results on disk, written as calls finish, and the rows a rerun reuses.

Each finished call's directory ``calls/NAME/`` holds its outputs and ``campaign_row.json`` (its row,
wall-clock time and worker), swapped in together, atomically. ``results.json`` (``{"calls": [...],
"passed": ..., "complete": ...}``) and ``results.csv`` hold the rows of this campaign's calls in
campaign order; they are rewritten atomically as rows arrive: a rewrite is skipped while the
previous one is younger than 20× its own duration (thousands of calls spend at most ~5 % of the
client's time rewriting) and always done at the end, also on Ctrl-C. Wall-clock times and workers
go to ``timings.json``, so ``results.json`` depends only on the calls' configuration.

Resume: a call is not run again when its directory holds a ``campaign_row.json`` whose ``key`` (the
hash of the call's whole configuration) is this call's, without ``error``, next to its outputs.
So every call already in ``results.json`` is skipped, and so is one finished by an earlier,
different campaign in the same directory (``--quick`` then the full suite). ``fresh``: run all.

One campaign at a time per directory: the store holds an exclusive ``flock`` on ``OUT/.campaign.lock``.
"""

import fcntl
import json
import time
from pathlib import Path

from skycall.errors import SkycallError
from skycall.quality.atomic import replace_dir, write_atomic
from skycall.quality.report import write_tables

#: a rewrite waits at least this many times the previous rewrite's duration
_REWRITE_SPACING = 20.0
#: in each finished call's directory: its row and timing
ROW_FILE = "campaign_row.json"


class ResultStore:
    """The rows of the campaign whose calls are ``calls`` (``(key, dir)`` in campaign order), under ``out``."""

    def __init__(self, out: Path, calls: list[tuple[str, str]], fresh: bool = False):
        self.out = Path(out)
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self._lock = (self.out / ".campaign.lock").open("w")
        except OSError as err:
            raise SkycallError(f"cannot write the campaign's results to {self.out}: {err.strerror}") from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise SkycallError(f"another campaign is writing to {self.out}: wait for it, or choose another --out") \
                from None
        self._order = {key: i for i, (key, _) in enumerate(calls)}
        self._rows: dict[str, dict] = {}
        self._timings: dict[str, dict] = {}
        for key, rel in [] if fresh else calls:
            try:
                done = json.loads((self.out / rel / ROW_FILE).read_text())
                row, timing = done["row"], done["timing"]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if row.get("key") == key and not row.get("error") and (self.out / rel / "summary.json").exists():
                self._rows[key], self._timings[row["call"]] = row, timing
        self._next_write = 0.0

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._lock.close()  # releases the flock

    def __contains__(self, key: str) -> bool:
        return key in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> list[dict]:
        """The rows so far, in campaign order."""
        return sorted(self._rows.values(), key=lambda r: self._order[r["key"]])

    @property
    def complete(self) -> bool:
        return len(self._rows) == len(self._order)

    def add(self, row: dict, files: dict[str, bytes], timing: dict) -> None:
        """Store a finished call: its outputs and row (swapped in whole), its timing; maybe rewrite the tables."""
        done = json.dumps({"row": row, "timing": timing}, indent=1).encode()
        replace_dir(self.out / row["dir"], {**files, ROW_FILE: done})
        self._rows[row["key"]] = row
        self._timings[row["call"]] = timing
        self.flush(force=False)

    def flush(self, force: bool = True) -> None:
        """Rewrite ``results.json``/``.csv`` and ``timings.json`` (unless one was written just now)."""
        t0 = time.monotonic()
        if not force and t0 < self._next_write:
            return
        rows = self.rows
        write_tables(rows, self.out, complete=self.complete)
        write_atomic(self.out / "timings.json", json.dumps({r["call"]: self._timings[r["call"]] for r in rows},
                                                           indent=1))
        self._next_write = time.monotonic() + _REWRITE_SPACING * (time.monotonic() - t0)
