"""Logging set-up shared by every process and CLI command."""

import logging
import os
import sys

_FMT = "%(asctime)s %(levelname).1s %(name)s: %(message)s"


def setup_logging(verbosity: int = 0, process_name: str | None = None) -> None:
    """Configure the root logger once: WARNING by default, INFO with -v, DEBUG with -vv.

    ``SKYCALL_LOG`` (e.g. ``debug``) overrides ``verbosity``. ``process_name`` prefixes
    every line so the interleaved output of a multi-process flowgraph stays readable.
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    env = os.environ.get("SKYCALL_LOG")
    if env:
        level = getattr(logging, env.upper(), level)
    fmt = f"[{process_name}] {_FMT}" if process_name else _FMT
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt, datefmt="%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
