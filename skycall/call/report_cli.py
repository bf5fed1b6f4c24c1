"""``skycall report RUN_DIR``: (re)build a call's summary.json, WAVs and report from its records."""

from skycall.call.report import print_summary, summarise


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", help="output directory of a call (skycall run --out DIR)")


def run(args) -> int:
    from skycall.bridge import summary as srsran

    if srsran.is_srsran_run(args.run_dir):  # an srsRAN run (skycall.bridge.summary)
        result = srsran.write_summary(args.run_dir)
        srsran.print_summary(result, args.run_dir)
        return 0 if result["srsran"]["rach_complete"] else 1
    summary = summarise(args.run_dir)
    print_summary(summary, args.run_dir)
    return 0 if summary["call_connected"] else 1
