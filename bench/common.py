"""Shared helpers for benchmark cases: timing and result rows.

Throughput is in MS/s (million complex samples per second, one core). Each case also measures a
baseline in the same run and reports the ratio, because absolute numbers on shared machines are noisy.
"""

import time
from collections.abc import Callable

#: complex samples per call in the streaming cases (128 KiB of complex64: a typical, cache-friendly chunk)
CHUNK = 16_384


def measure_msps(fn: Callable[[], object], n_samples: int, repeats: int = 5, calls: int = 1) -> float:
    """Best-of-``repeats`` throughput of ``fn`` in MS/s.

    One warm-up call first (numba compilation / cache load, page faults), then ``repeats`` timings
    of ``calls`` back-to-back calls; each call processes ``n_samples`` samples.
    """
    fn()
    best_s = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best_s = min(best_s, time.perf_counter() - t0)
    return n_samples * calls / best_s / 1e6


def row(name: str, msps: float, baseline_msps: float | None, note: str) -> dict:
    """One result row: ``ratio`` = msps / baseline_msps (None without a baseline)."""
    ratio = msps / baseline_msps if baseline_msps else None
    return {"name": name, "msps": msps, "baseline_msps": baseline_msps, "ratio": ratio, "note": note}


def calls_for(quick: bool, chunk: int = CHUNK, samples_per_repeat: int = 4_000_000) -> int:
    """How many ``chunk``-sized calls make one timed repeat (``samples_per_repeat``, 1/8 with --quick)."""
    return max(1, samples_per_repeat // (8 if quick else 1) // chunk)
