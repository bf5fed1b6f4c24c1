"""``skycall quality`` / ``scripts/call_quality.py``: the scripted call-quality campaign."""

from pathlib import Path

from skycall.errors import ConfigError

DEFAULT_SUITE = Path(__file__).resolve().parents[2] / "scenarios" / "default.toml"


def add_arguments(parser) -> None:
    parser.add_argument("suites", nargs="*", metavar="SCENARIO.toml", help=f"scenario suites (default {DEFAULT_SUITE})")
    parser.add_argument("--quick", action="store_true", help="only the scenarios marked quick, one call each")
    parser.add_argument("--out", default="out/quality", help="output directory")
    parser.add_argument("--jobs", type=int, default=None, help="parallel calls (default: all cores)")
    parser.add_argument("--speech", nargs="+", metavar="WAV", help="speech files (any rate, mono/stereo) to score")


def run(args) -> int:
    from skycall.quality.campaign import run_campaign
    from skycall.quality.report import write_html, write_tables
    from skycall.quality.scenario import expand, load_scenario
    from skycall.vocoder.speech import load_speech

    if args.jobs is not None and args.jobs < 1:
        raise ConfigError("<cli>", "--jobs", f"{args.jobs} must be >= 1")
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
    out = Path(args.out)
    rows = run_campaign(calls, out, args.jobs)
    write_tables(rows, out)
    report = write_html(rows, out)
    failed = [r for r in rows if not r["passed"]]
    print(f"{len(rows) - len(failed)}/{len(rows)} calls passed; results in {out / 'results.json'}, "
          f"{out / 'results.csv'}, {report}")
    for r in failed:
        print(f"  FAIL {r['call']}: {r['fail_reasons']}")
    return 1 if failed else 0
