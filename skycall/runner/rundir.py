"""The run directory (``skycall run --out DIR``): private, locked, fresh, with the run's key and sockets.

:meth:`RunDir.open`, before any process starts:

* creates ``DIR`` (mode 0700) or takes an existing directory of the same user and makes it 0700
  (``endpoints.json``, ``run.key`` and the records are nobody else's business); a path that is a
  file, not writable or not the user's is refused with one clear error (:class:`RunDirError`,
  :class:`~skycall.fileio.OutputDirError`);
* takes ``DIR/run.lock`` (``flock``, released by the kernel even when the runner is killed): a
  second run in the same directory is refused while the first one lives;
* removes what an earlier run left there — records, summaries, reports, logs, ``endpoints.json``,
  ``run.json`` and ``telemetry.jsonl`` (kept and appended to with ``append=True``) — so a report
  never mixes two runs;
* writes a fresh per-run key ``DIR/run.key`` (0600) and makes a private socket directory (0700,
  see :mod:`skycall.transport.security`), named in ``run.json``.

:meth:`RunDir.close` removes the socket directory and the key, and releases the lock. ``run.json``
(written by the supervisor when the run ends) says how each process ended.
"""

import fcntl
import json
import os
import shutil
from pathlib import Path

from skycall.errors import SkycallError
from skycall.fileio import atomic_write, output_dir
from skycall.transport import security
from skycall.transport.control import ENDPOINTS_FILE

LOCK_FILE = "run.lock"
RUN_FILE = "run.json"
TELEMETRY_FILE = "telemetry.jsonl"
#: what a call run writes besides per-process files (see skycall.call.report)
_RUN_OUTPUTS = (ENDPOINTS_FILE, RUN_FILE, "summary.json", "report.png", "report.html", "dl_received.wav",
                "ul_received.wav")
_SIDE_SUFFIXES = (".npz", ".json", ".log")


class RunDirError(SkycallError):
    """The output directory cannot be used for a run (the message says why and what to do)."""


class RunDir:
    """One run's output directory (see module docstring); ``key`` and ``sock_dir`` once opened."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.key: str | None = None
        self.sock_dir: Path | None = None
        self._lock_fd: int | None = None

    def open(self, names: list[str], append: bool = False) -> None:
        """Create or check, lock and clear the directory for a run of processes ``names``."""
        self._make()
        self._lock()
        try:
            self._clear(names, append)
            self.key = security.new_key_file(self.path)
            self.sock_dir = security.private_socket_dir()
        except OSError as err:
            self.close()
            raise RunDirError(f"--out {self.path}: cannot prepare the run directory: {err}") from None

    def _make(self) -> None:
        path = output_dir(self.path, mode=0o700)
        try:
            info = path.stat()
            if info.st_uid != os.getuid():
                raise RunDirError(f"--out {path} belongs to uid {info.st_uid}, not to you: choose your own directory")
            os.chmod(path, 0o700)
        except OSError as err:
            raise RunDirError(f"--out {path}: cannot create or use it ({err.strerror}): choose another --out") from None

    def _lock(self) -> None:
        lock = self.path / LOCK_FILE
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as err:
            raise RunDirError(f"--out {self.path}: cannot write in it ({err.strerror}): choose another --out") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise RunDirError(
                f"--out {self.path} is in use by another skycall run (pid {owner}); "
                "wait for it to end or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _clear(self, names: list[str], append: bool) -> None:
        stale = list(_RUN_OUTPUTS)
        if not append:
            stale.append(TELEMETRY_FILE)
        for side in {*names, "groundstation", "handset"}:
            stale += [side + suffix for suffix in _SIDE_SUFFIXES]
        for name in stale:
            (self.path / name).unlink(missing_ok=True)
        for tmp in self.path.glob(".*.tmp*"):  # an interrupted atomic write of an earlier run
            tmp.unlink(missing_ok=True)

    def write_run_file(self, info: dict) -> None:
        """Write ``run.json`` (atomically, 0600)."""
        info = {**info, "socket_dir": str(self.sock_dir) if self.sock_dir else None}
        atomic_write(self.path / RUN_FILE, json.dumps(info, indent=1, sort_keys=True) + "\n", mode=0o600)

    def close(self) -> None:
        """Remove the socket directory and the key; release the lock. Idempotent."""
        if self.sock_dir is not None:
            shutil.rmtree(self.sock_dir, ignore_errors=True)
            self.sock_dir = None
        if self.key is not None:
            (self.path / security.KEY_FILE).unlink(missing_ok=True)
            self.key = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None


__all__ = ["RunDir", "RunDirError", "LOCK_FILE", "RUN_FILE", "TELEMETRY_FILE"]
