"""Atomic file output: write a temp file in the target's directory, then ``os.replace`` it into place.

A reader (or a rerun after a crash, a kill or a second Ctrl-C) sees either the old file or the
new one, never a truncated one: ``rename(2)`` within one filesystem is atomic. Files and
directories get the modes an ordinary ``open``/``mkdir`` would give (``mkstemp`` makes them private).
"""

import os
import shutil
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` atomically (text is UTF-8)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_dir(path: str | Path, files: dict[str, bytes]) -> None:
    """Make directory ``path`` hold exactly ``files`` (relative name → content), swapped in by renames.

    The new tree is built next to it and renamed into place; an earlier ``path`` is renamed aside
    first (and put back if the swap is interrupted) and deleted last: a reader sees the old tree or
    the new one, never a mix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent))
    old = new.with_suffix(".old")
    try:
        for name, data in files.items():
            dest = new / name
            if not dest.resolve().is_relative_to(new.resolve()):
                raise ValueError(f"output name {name!r} leaves its call directory")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        os.chmod(new, 0o777 & ~_umask())
        if path.exists():
            os.replace(path, old)
        os.replace(new, path)
    except BaseException:
        if old.exists() and not path.exists():
            os.replace(old, path)
        shutil.rmtree(new, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
