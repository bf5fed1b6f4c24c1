"""``skycall run FLOWGRAPH.toml``: run every process of a flowgraph, collect telemetry and exit codes."""

import argparse
import signal
import sys

from skycall.dashboard.cli import DEFAULT_PORT, DashboardProcess
from skycall.runner.supervisor import Supervisor


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("flowgraph", help="flowgraph TOML (e.g. flowgraphs/loopback_call.toml)")
    parser.add_argument(
        "--duration-s", type=float, default=None, help="stream time to run (default: flowgraph)"
    )
    parser.add_argument("--out", default="out/run", help="output directory (default: out/run)")
    parser.add_argument(
        "--realtime", action="store_true", default=None, help="pace streams at the sample rate"
    )
    parser.add_argument(
        "--entry",
        action="append",
        default=[],
        metavar="PROC=MODULE",
        help="run `python -m MODULE` for process PROC instead of its role's main (repeatable)",
    )
    parser.add_argument("--logs", action="store_true", help="write each process's output to OUT/NAME.log")
    parser.add_argument("--dashboard", action="store_true", help="serve a live dashboard on 127.0.0.1; prints its URL")
    parser.add_argument("--dashboard-port", type=int, default=DEFAULT_PORT, metavar="N", help="its port (0: any)")


def run(args: argparse.Namespace) -> int:
    from skycall.bridge.runner import is_srsran_flowgraph, run_cli

    if is_srsran_flowgraph(args.flowgraph):  # srsenb, skycall bridge and srsue (skycall.bridge.runner)
        return run_cli(args)
    entries = {}
    for item in args.entry:
        name, sep, module = item.partition("=")
        if not sep or not name or not module:
            print(f"skycall run: error: --entry wants PROC=MODULE, got {item!r}", file=sys.stderr)
            return 2
        entries[name] = module
    dashboard = DashboardProcess(args.out, args.dashboard_port, args.logs) if args.dashboard else None
    sup = Supervisor(
        args.flowgraph,
        args.out,
        duration_s=args.duration_s,
        realtime=args.realtime,
        entries=entries,
        capture_logs=args.logs,
    )
    sup.start()  # validates the flowgraph first: a ConfigError is printed by the dispatcher
    interrupted = []

    def forward(signum, frame):
        interrupted.append(signum)
        sup.interrupt()

    previous = signal.signal(signal.SIGINT, forward)
    try:
        if sup.wait_running():
            names = ", ".join(sup.procs)
            print(f"running {names}; endpoints in {sup.out_dir / 'endpoints.json'}; Ctrl-C stops", flush=True)
        sup.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        codes = sup.stop()
    for name, code in codes.items():
        print(f"{name}: exit {code}")
    print(f"outputs in {sup.out_dir} (telemetry.jsonl{', NAME.log' if args.logs else ''})")
    if dashboard is not None:
        dashboard.linger(interrupted=bool(interrupted))
    if interrupted:
        return 130
    return 0 if all(code == 0 for code in codes.values()) else 1
