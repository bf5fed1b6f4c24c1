"""Output files and directories: atomic writes, and output directories checked before any work.

A reader (or a second Ctrl-C) never sees half a file.

Every output is written to a temporary file in the same directory (``.NAME.XXXX.tmp.EXT``: writers
that pick a format from the extension still see it), flushed to
disk and renamed over ``NAME``; ``rename(2)`` within one file system is atomic, so ``NAME`` is
either the previous complete file, absent, or the new complete file. An exception (including
``KeyboardInterrupt``) while writing removes the temporary file and leaves ``NAME`` untouched.
"""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from skycall.errors import SkycallError


class OutputDirError(SkycallError):
    """An output directory (``--out``) cannot be used; the message says why and what to do."""


def output_dir(path: str | Path, option: str = "--out", mode: int = 0o777) -> Path:
    """Create ``path`` (and its parents, ``mode``) for a command's outputs, or raise :class:`OutputDirError`
    naming ``option`` when it is a file, cannot be created or is not writable — before any work starts."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputDirError(f"{option} {path} is a file, not a directory: choose another {option}")
    try:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
    except OSError as err:
        why = f"cannot create or use it ({err.strerror})"
        raise OutputDirError(f"{option} {path}: {why}: choose another {option}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputDirError(f"{option} {path} is not writable: choose another {option}")
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is fsynced and renamed to ``path``.

    For writers that want a file name (``np.savez``, ``soundfile.write``, ``fig.savefig``): write
    to the yielded path. ``mode`` is the new file's permission bits (0o600 for what only the run's
    user may read).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as err:  # name the file the caller asked for, not the temporary one
        raise OSError(err.errno, err.strerror, str(path)) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, mode)
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: bytes | str, mode: int = 0o644) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` atomically."""
    raw = data.encode() if isinstance(data, str) else data
    with atomic_path(path, mode) as tmp:
        tmp.write_bytes(raw)


__all__ = ["OutputDirError", "atomic_path", "atomic_write", "output_dir"]
