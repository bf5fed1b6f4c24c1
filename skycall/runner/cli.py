"""``skycall run FLOWGRAPH.toml``: run every process of a flowgraph, collect telemetry and exit codes.

SIGINT (Ctrl-C), SIGTERM and SIGHUP end the run the same way: the children's process groups get
SIGINT (they save their records and exit), whatever ignores it is killed after a grace period,
``OUT/run.json`` says how each process ended, and the runner exits ``128 + signal`` (130, 143, 129).
Further signals during that shutdown are noted but change nothing (records are written atomically).
Exit codes otherwise: 0 when every process exited 0, 1 when one did not (or the supervisor's service
thread failed), 2 for a refused flowgraph, override or output directory (nothing is started).
"""

import argparse
import signal
import sys

from skycall.dashboard.cli import DEFAULT_PORT, DashboardProcess
from skycall.runner.supervisor import Supervisor

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


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
    parser.add_argument(
        "--append", action="store_true", help="append to OUT/telemetry.jsonl instead of starting it afresh"
    )
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
        append=args.append,
        max_events=0,  # the runner only needs telemetry.jsonl
    )
    received: list[int] = []

    def on_signal(signum, frame):
        if not received:
            sup.interrupt(reason=signal.Signals(signum).name)
        received.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        sup.start()  # validates the flowgraph first: a ConfigError is printed by the dispatcher
        if not received and sup.wait_running():
            names = ", ".join(sup.procs)
            print(f"running {names}; endpoints in {sup.out_dir / 'endpoints.json'}; Ctrl-C stops", flush=True)
        elif not received and _start_failed(sup, args.logs):
            sup.interrupt(reason="start-up failure")
        if not received:
            sup.wait()
    except BaseException:  # a refused flowgraph or run directory: the dashboard has nothing to show
        if dashboard is not None:
            dashboard.stop()
        raise
    finally:
        codes = sup.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    info = sup.run_info() if sup.flow is not None else {"processes": {}}
    for name, code in codes.items():
        status = info["processes"].get(name, {}).get("status", "")
        print(f"{name}: exit {code}" + (f" ({status})" if status not in ("", "completed") else ""))
    print(f"outputs in {sup.out_dir} (telemetry.jsonl, run.json{', NAME.log' if args.logs else ''})")
    if dashboard is not None:
        dashboard.linger(interrupted=bool(received) or sup.interrupted_by is not None)
    if sup.interrupted_by == "start-up failure":
        return 1
    if sup.service_error:
        print(f"skycall run: error: the supervisor failed: {sup.service_error}", file=sys.stderr)
        return 1
    if received:
        return 128 + received[0]
    return 0 if codes and all(code == 0 for code in codes.values()) else 1


def _start_failed(sup: Supervisor, logs: bool) -> bool:
    """Report processes that failed before they registered (True if any did: the run is stopped)."""
    failed = {name: code for name, code in sup.exit_codes.items() if code != 0}
    for name, code in failed.items():
        where = f"see {sup.out_dir / (name + '.log')}" if logs else "its output is above"
        print(f"skycall run: error: {name} exited with code {code} while starting ({where}); stopping the run",
              file=sys.stderr)  # fmt: skip
    return bool(failed) or sup.service_error is not None
