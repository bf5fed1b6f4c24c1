#!/usr/bin/env python3
"""Run the benchmark cases in ``bench/*.py``: print a table and optionally write JSON rows.

Usage: ``scripts/bench.py [--json FILE] [--quick] [--only NAME ...]``

Convention for a benchmark module ``bench/<area>.py`` (e.g. dsp, modem, transport):

* it defines ``CASES``, a list of callables ``case(quick: bool) -> dict | None``;
* a case measures its block AND a natural baseline (numpy/scipy, or GNU Radio where installed)
  in the same run, and returns ``bench.common.row(name, msps, baseline_msps, note)``, i.e.
  ``{"name", "msps", "baseline_msps", "ratio", "note"}`` (ratio = msps / baseline_msps; the
  baseline may be None);
* ``quick=True`` must cut the run time by roughly 8x (CI smoke run);
* a case returns None to skip itself silently (an optional tool is missing).

Time with ``bench.common.measure_msps`` (warm-up call, then best of N). ``--only`` selects by
module name (``dsp``) or case name (``foc_rotator``). Modules are imported in name order.
"""

import argparse
import importlib
import json
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import bench  # noqa: E402

_HELPERS = {"common"}


def discover(only: list[str] | None) -> list[tuple[str, object]]:
    """(module name, case) pairs selected by ``only`` (module or case names; all when None)."""
    selected = []
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name in _HELPERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        for case in getattr(module, "CASES", []):
            if only is None or info.name in only or case.__name__ in only:
                selected.append((info.name, case))
    return selected


def _fmt(value, spec: str) -> str:
    """Format a number (``-`` for None) right-aligned to the width in ``spec``."""
    return format(value, spec) if value is not None else "-".rjust(int(spec.split(".")[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="FILE", help="write the result rows as a JSON list")
    parser.add_argument("--quick", action="store_true", help="about 8x shorter runs (smoke test)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="module (dsp) or case (fir) names")
    args = parser.parse_args(argv)
    cases = discover(args.only)
    if not cases:
        print(f"bench: no case matches --only {' '.join(args.only or [])}", file=sys.stderr)
        return 2
    rows = []
    print(f"{'module':<10} {'name':<22} {'MS/s':>9} {'baseline':>9} {'ratio':>7}  note")
    for module_name, case in cases:
        result = case(args.quick)
        if result is None:
            continue
        result = {"module": module_name, **result}
        rows.append(result)
        print(
            f"{module_name:<10} {result['name']:<22} {_fmt(result['msps'], '9.1f')} "
            f"{_fmt(result['baseline_msps'], '9.1f')} {_fmt(result['ratio'], '7.1f')}  {result['note']}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
