"""``skycall`` command line: a thin dispatcher.

Each sub-command lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; the module is imported only when its command runs, so
``skycall --help`` is instant and a broken optional dependency affects only its command.
"""

import argparse
import importlib
import sys

from skycall.errors import SkycallError
from skycall.log import setup_logging

#: command name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("skycall.config.validate_cli", "check hardware profiles, flowgraphs and scenarios"),
    "ber": ("skycall.modem.ber_cli", "BER/FER sweep of the full receive chain against theory"),
    "pass": ("groundstation.pass_cli", "satellite pass geometry, Doppler, beams and link budget"),
    "run": ("skycall.runner.cli", "run a flowgraph: every process as its own OS process"),
    "virtual-pluto": ("skycall.radio.virtual_pluto_cli", "emulated PlutoSDR speaking libiio's iiod protocol"),
    "probe": ("skycall.radio.probe_cli", "list attached radios and check them against their profile"),
    "calibrate": ("skycall.radio.calibrate_cli", "measure and store the frequency error of a lab SDR pair"),
    "call": ("skycall.call.control_cli", "control a running call (status, place, hang up, shut down)"),
    "report": ("skycall.call.report_cli", "rebuild a call's summary and report from its output directory"),
    "quality": ("skycall.quality.cli", "scripted call-quality campaign (same as scripts/call_quality.py)"),
    "dashboard": ("skycall.dashboard.cli", "live lab dashboard in the browser (or a replay of a finished run)"),
    "bridge": ("skycall.bridge.cli", "srsRAN-compatible ZeroMQ channel emulator: an LTE eNodeB/UE through the pass"),
    "interop": ("skycall.bridge.campaign_cli", "envelope of srsRAN's unmodified LTE stack through the bridge"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skycall", description="skycall SDR lab kit")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    top, rest = parser.parse_known_args(argv)
    if top.command is None:
        parser.print_help()
        return 2
    module_name, help_text = COMMANDS[top.command]
    module = importlib.import_module(module_name)
    sub = argparse.ArgumentParser(prog=f"skycall {top.command}", description=help_text)
    module.add_arguments(sub)
    args = sub.parse_args(rest)
    setup_logging(top.verbose)
    try:
        return int(module.run(args) or 0)
    except SkycallError as err:
        print(f"skycall {top.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a file the command reads or writes (-vv: the traceback)
        if top.verbose >= 2:
            raise
        where = f"{err.filename}: " if err.filename else ""
        print(f"skycall {top.command}: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
