"""``skycall quality`` / ``scripts/call_quality.py``: the scripted call-quality campaign.

Calls run on local worker processes (``--jobs``), or as tasks of a Dask scheduler (``--cluster
tcp://HOST:PORT`` or ``--scheduler-file FILE``; see docs/campaigns.md). Rerunning the same
command skips the calls already done in ``OUT`` (``--fresh``: run them all again).
"""

import contextlib
import os
import signal
from pathlib import Path

from skycall.errors import ConfigError

DEFAULT_SUITE = Path(__file__).resolve().parents[2] / "scenarios" / "default.toml"


def add_arguments(parser) -> None:
    parser.add_argument("suites", nargs="*", metavar="SCENARIO.toml", help=f"scenario suites (default {DEFAULT_SUITE})")
    parser.add_argument("--quick", action="store_true", help="only the scenarios marked quick, one call each")
    parser.add_argument("--out", default="out/quality", help="output directory")
    parser.add_argument("--jobs", type=int, default=None, help="parallel calls on this machine (default: all cores)")
    parser.add_argument("--speech", nargs="+", metavar="WAV", help="speech files (any rate, mono/stereo) to score")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--cluster", metavar="tcp://HOST:PORT",
                       help="run every call as a task of this Dask scheduler (workers: `dask worker tcp://HOST:PORT` "
                            "from the project's venv); default: worker processes on this machine")
    where.add_argument("--scheduler-file", metavar="FILE",
                       help="the Dask scheduler that wrote FILE (`dask scheduler --scheduler-file FILE`)")
    parser.add_argument("--fresh", action="store_true",
                        help="run every call again (default: calls already done in OUT are skipped)")


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM ends the campaign like Ctrl-C: partial results written, workers stopped."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args) -> int:
    from skycall.fileio import output_dir
    from skycall.quality.campaign import run_campaign
    from skycall.quality.executors import DaskCluster, LocalPool
    from skycall.quality.report import write_html
    from skycall.quality.scenario import expand, load_scenario
    from skycall.vocoder.speech import load_speech

    distributed = bool(args.cluster or args.scheduler_file)
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError("<cli>", "--jobs", f"{args.jobs} must be >= 1")
    if args.jobs is not None and distributed:
        raise ConfigError("<cli>", "--jobs", "sizes the local pool; on a cluster the workers' threads set the "
                                             "parallelism (`dask worker ADDRESS --nworkers N --nthreads 1`)")
    for wav in args.speech or []:
        load_speech(wav)  # refuse an unreadable file before any call runs
    calls = []
    for path in args.suites or [DEFAULT_SUITE]:
        for sc in load_scenario(path).scenario:
            if args.quick and not sc.quick:
                continue
            expanded = expand(sc, args.speech)
            calls += expanded[len(expanded) // 2 : len(expanded) // 2 + 1] if args.quick else expanded
    if not calls:
        raise ConfigError(str(args.suites), "scenario", "no scenario selected (none marked quick = true?)")
    out = output_dir(args.out)
    executor = (DaskCluster(args.cluster, args.scheduler_file) if distributed
                else LocalPool(max(1, min(args.jobs or os.cpu_count() or 1, len(calls)))))
    with _sigterm_as_interrupt(), executor:
        rows = run_campaign(calls, out, executor, fresh=args.fresh)
    report = write_html([{**r, "dir": str(out / r["dir"])} for r in rows], out)
    failed = [r for r in rows if not r["passed"]]
    print(f"{len(rows) - len(failed)}/{len(rows)} calls passed; results in {out / 'results.json'}, "
          f"{out / 'results.csv'}, {report}")
    for r in failed:
        print(f"  FAIL {r['call']}: {r['fail_reasons']}")
    return 1 if failed else 0
