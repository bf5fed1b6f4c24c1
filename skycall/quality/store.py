"""A campaign's results on disk, written as calls finish, and the rows a rerun reuses.

``results.json`` (``{"calls": [...], "passed": ..., "complete": ...}``) and ``results.csv`` hold
the rows of this campaign's calls in campaign order. They are rewritten atomically as rows arrive:
a rewrite is skipped while the previous one is younger than 20× its own duration (a campaign of
thousands of calls spends at most ~5 % of the client's time rewriting) and always done at the end,
also on Ctrl-C. A call's outputs are swapped into ``calls/NAME/`` whole. Per-call wall-clock time
and worker go to ``timings.json``, so ``results.json`` depends only on the calls' configuration.

One campaign at a time per directory: the store holds an exclusive ``flock`` on ``OUT/.campaign.lock``.

Resume: a row of the earlier ``results.json`` is reused when its ``key`` is a call of this
campaign, it holds no ``error`` and its outputs are on disk; every other call runs. Rows of calls
no longer in the campaign are not carried over: the earlier file is kept as ``results.previous.json``.
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


class ResultStore:
    """The rows of the campaign whose call keys are ``keys`` (in campaign order), under ``out``."""

    def __init__(self, out: Path, keys: list[str], fresh: bool = False):
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
        self._order = {k: i for i, k in enumerate(keys)}
        self._rows: dict[str, dict] = {}
        self._timings: dict[str, dict] = {}
        self.stale = 0
        path = self.out / "results.json"
        if path.exists():
            try:
                self._resume(path, fresh)
            except BaseException:
                self._lock.close()
                raise
        self.reused = len(self._rows)
        self._next_write = 0.0

    def _resume(self, path: Path, fresh: bool) -> None:
        text = path.read_bytes()
        try:
            rows = json.loads(text)["calls"]
            keys = [row.get("key") for row in rows]
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            if not fresh:
                raise SkycallError(f"{path} is not a campaign's results.json ({err}): move it away, or rerun "
                                   "with --fresh (it is then kept as results.previous.json)") from None
            rows, keys = [], []
        self.stale = sum(k not in self._order for k in keys)
        if fresh or self.stale:
            write_atomic(self.out / "results.previous.json", text)
        if fresh:
            return
        for key, row in zip(keys, rows, strict=True):
            outputs = self.out / str(row.get("dir")) / "summary.json"
            if key in self._order and not row.get("error") and outputs.exists():
                self._rows[key] = row
        try:
            timings = json.loads((self.out / "timings.json").read_text())
            self._timings = {r["call"]: timings[r["call"]] for r in self._rows.values() if r["call"] in timings}
        except (OSError, ValueError, TypeError):
            pass

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
        """Store a finished call: its outputs (swapped in whole), its row, its timing; maybe rewrite."""
        replace_dir(self.out / row["dir"], files)
        self._rows[row["key"]] = row
        self._timings[row["call"]] = timing
        self.flush(force=False)

    def flush(self, force: bool = True) -> None:
        """Rewrite ``results.json``/``.csv`` and ``timings.json`` (unless one was written just now)."""
        t0 = time.monotonic()
        if not force and t0 < self._next_write:
            return
        write_tables(self.rows, self.out, complete=self.complete)
        if self._timings:
            write_atomic(self.out / "timings.json", json.dumps(self._timings, indent=1))
        self._next_write = time.monotonic() + _REWRITE_SPACING * (time.monotonic() - t0)
