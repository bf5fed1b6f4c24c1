"""``skycall bridge [FLOWGRAPH]``: the srsRAN-compatible ZeroMQ channel emulator (docs/srsran.md).

Without a flowgraph the bridge emulates the default pass (600 km, 16×16 beam, handset at the beam
centre, compensation on); ``--passthrough`` forwards the samples bit-exact. Point srsenb's and srsue's
ZMQ radios at it: srsenb ``tx_port=DL_FROM, rx_port=UL_TO``, srsue ``tx_port=UL_FROM, rx_port=DL_TO``.
"""

import argparse
import dataclasses
import signal
import sys

from skycall.bridge.service import Bridge, Endpoints, carriers_line
from skycall.config.flowgraph import SRSRAN_RATES_SPS, Flowgraph, SrsranConfig, load_flowgraph
from skycall.errors import ConfigError

_DEFAULTS = Endpoints()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("flowgraph", nargs="?", help="flowgraph with [pass], [beam], [srsran] "
                        "(e.g. flowgraphs/srsran_leo.toml); default: the 600 km pass at the beam centre")
    parser.add_argument("--dl-from", default=_DEFAULTS.dl_from, help="srsenb's tx_port (connected to)")
    parser.add_argument("--dl-to", default=_DEFAULTS.dl_to, help="bound for srsue's rx_port")
    parser.add_argument("--ul-from", default=_DEFAULTS.ul_from, help="srsue's tx_port (connected to)")
    parser.add_argument("--ul-to", default=_DEFAULTS.ul_to, help="bound for srsenb's rx_port")
    parser.add_argument("--n-prb", type=int, choices=sorted(SRSRAN_RATES_SPS), default=None,
                        help="cell bandwidth (sets the sample rate; default: the flowgraph's, else 6)")
    parser.add_argument("--passthrough", action="store_true", help="channel off: forward the samples bit-exact")
    parser.add_argument("--duration-s", type=float, default=None,
                        help="stop after this much stream time (default: run until Ctrl-C)")
    parser.add_argument("--tabulate-s", type=float, default=None,
                        help="tabulate the pass over this much stream time, then hold it (default: --duration-s, "
                             "else the flowgraph's duration_s)")
    parser.add_argument("--events", metavar="FILE", help="append JSON-line events (start, status, stop) to FILE")
    parser.add_argument("--quiet", action="store_true", help="no status lines on the terminal")


def _flowgraph(args) -> Flowgraph:
    flow = load_flowgraph(args.flowgraph) if args.flowgraph else Flowgraph(name="bridge", srsran=SrsranConfig())
    if flow.srsran is None:
        raise ConfigError(flow.path, "srsran", "the bridge needs an [srsran] table (see flowgraphs/srsran_leo.toml)")
    if args.n_prb is not None:
        flow = dataclasses.replace(flow, srsran=dataclasses.replace(flow.srsran, n_prb=args.n_prb))
    span = args.tabulate_s if args.tabulate_s is not None else args.duration_s
    if span is not None:  # the pass is tabulated over the run
        flow = dataclasses.replace(flow, duration_s=span)
    return flow


def _print_status(event: dict) -> None:
    ch = event.get("channel", {})
    dl = f"  DL at UE {ch['dl']['offset_at_receiver_hz']:+8.1f} Hz" if ch else ""
    ul = f"  UL at eNB {ch['ul']['offset_at_receiver_hz']:+8.1f} Hz" if ch else ""
    print(f"t={event['t_s']:7.2f} s  DL {event['dl']['messages']:7d} msgs  UL {event['ul']['messages']:7d} msgs"
          f"{dl}{ul}", flush=True)


def run(args) -> int:
    for key in ("duration_s", "tabulate_s"):
        value = getattr(args, key)
        if value is not None and not value > 0:
            raise ConfigError("<cli>", "--" + key.replace("_", "-"), f"{value} must be > 0")
    flow = _flowgraph(args)
    endpoints = Endpoints(args.dl_from, args.dl_to, args.ul_from, args.ul_to)
    bridge = Bridge(flow, endpoints, passthrough=args.passthrough, duration_s=args.duration_s,
                    events_path=args.events)
    print(carriers_line(bridge.plan), flush=True)
    print(f"DL: {endpoints.dl_from} -> {bridge.dl.endpoint}; UL: {endpoints.ul_from} -> {bridge.ul.endpoint}",
          flush=True)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: bridge.stop.set())
    bridge.run(on_status=None if args.quiet else _print_status)
    print(f"stopped after {bridge.dl.samples / bridge.sample_rate_sps:.2f} s of stream time "
          f"(DL {bridge.dl.messages} messages, UL {bridge.ul.messages})", flush=True)
    errors = [f"{f.name}: {f.error}" for f in (bridge.dl, bridge.ul) if f.error]
    for line in errors:
        print(f"skycall bridge: forwarding failed: {line}", file=sys.stderr)
    return 1 if errors else 0
