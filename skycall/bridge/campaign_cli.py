"""``skycall interop [FLOWGRAPH]``: the envelope of srsRAN's unmodified LTE stack through the bridge, then a pass
with compensation on and off (:mod:`skycall.bridge.campaign`; docs/srsran.md)."""

from pathlib import Path

from skycall.config.flowgraph import load_flowgraph
from skycall.errors import ConfigError

DEFAULT_FLOWGRAPH = Path(__file__).resolve().parents[2] / "flowgraphs" / "srsran_leo.toml"
PARTS = ("dl_offset", "dl_rate", "ul_offset", "delay", "delay_large_cell", "pass")


def add_arguments(parser) -> None:
    parser.add_argument("flowgraph", nargs="?", default=str(DEFAULT_FLOWGRAPH),
                        help=f"base srsRAN flowgraph (default {DEFAULT_FLOWGRAPH.name})")
    parser.add_argument("--out", default="out/interop", help="output directory")
    parser.add_argument("--only", nargs="+", choices=PARTS, help="run only these sweeps / the pass")
    parser.add_argument("--point-s", type=float, default=8.0, help="stream time per sweep point (s)")
    parser.add_argument("--pass-s", type=float, default=240.0, help="stream time of each pass run, centred on "
                        "the culmination (s)")
    parser.add_argument("--quick", action="store_true", help="3 points per sweep")
    parser.add_argument("--resume", action="store_true", help="reuse the finished runs of the same flowgraph in OUT "
                        "(a changed setting runs again)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per sweep point (random access near the "
                        "envelope succeeds or not by chance)")


def run(args) -> int:
    from skycall.bridge.campaign import run_campaign
    from skycall.bridge.srsran import find_srsran
    from skycall.fileio import output_dir

    base = load_flowgraph(args.flowgraph)
    if base.srsran is None:
        raise ConfigError(args.flowgraph, "srsran", "the campaign needs an srsRAN flowgraph ([srsran] table)")
    if args.repeats < 1:
        raise ConfigError("<cli>", "--repeats", f"{args.repeats} must be >= 1")
    for key in ("point_s", "pass_s"):
        if not getattr(args, key) > 0:
            raise ConfigError("<cli>", "--" + key.replace("_", "-"), f"{getattr(args, key)} must be > 0")
    find_srsran(base)  # one clear message before anything runs
    results = run_campaign(base, output_dir(args.out), args.only, args.point_s, args.pass_s, args.quick, args.repeats,
                           args.resume)
    for name, sweep in results["sweeps"].items():
        shown = {k: "none" if sweep[k] is None else f"{sweep[k] * sweep['scale']:g} {sweep['unit']}"
                 for k in ("sync_envelope", "envelope")}
        last = sweep["last_success"]
        sometimes = "" if last is None else f" (random access seen up to {last * sweep['scale']:g} {sweep['unit']})"
        print(f"envelope {name}: sync (cell + SIB1) {shown['sync_envelope']}, "
              f"access (random access) {shown['envelope']}{sometimes}")
    print(f"results in {Path(args.out) / 'results.json'}, report {Path(args.out) / 'report.html'}")
    return 0
