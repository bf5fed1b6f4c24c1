"""``skycall virtual-pluto``: an emulated PlutoSDR that pyadi-iio / libiio reach at ``ip:HOST:PORT``.

By default it behaves like a real board: free-running in real time from its own crystal, with DMA
rings that overflow and underflow, zero-IF impairments and a cable to its peer. A cabled pair is two
of them, each serving its transmit stream and listening to the other's::

    skycall virtual-pluto --port 40431 --serial gs --crystal-ppm 18 --peer 127.0.0.1:40434
    skycall virtual-pluto --port 40433 --serial hs --crystal-ppm -22 --peer 127.0.0.1:40432

``--twin FLOWGRAPH:SERIAL`` takes every parameter from that flowgraph's ``[[virtual_pluto]]`` table
(what ``skycall run`` does). ``--lockstep`` gives the exact, sample-paced model instead (tests).
Start order does not matter. SIGTERM or Ctrl-C shuts a server down cleanly; a dead peer-link
service stops it with exit code 1.
"""

import json
import signal
import threading
import time
from pathlib import Path

from skycall.config.virtual_pluto import VirtualPlutoConfig
from skycall.errors import ConfigError, SkycallError
from skycall.radio.virtual_pluto import IIOD_PORT, IiodServer, VirtualPluto
from skycall.radio.virtual_pluto.peer import AirLink, PeerLink
from skycall.rng import make_rng

STATUS_PERIOD_S = 1.0


def add_arguments(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default loopback)")
    parser.add_argument("--port", type=int, default=None, help=f"iiod port (default {IIOD_PORT}; 0 = any)")
    parser.add_argument("--serial", default="", help="hw_serial to report (default: virtual-<port>)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the receiver noise")
    parser.add_argument("--noise-floor-dbfs", type=float, default=-60.0, help="receiver noise (≤ -200: none)")
    parser.add_argument("--crystal-ppm", "--lo-offset-ppm", dest="crystal_ppm", type=float, default=0.0,
                        help="crystal error of this Pluto (ppm): its LOs and its sample clock")
    parser.add_argument("--path-loss-db", type=float, default=30.0, help="attenuation from the peer's TX port")
    parser.add_argument("--twin", metavar="FLOWGRAPH:SERIAL", help="every parameter from a [[virtual_pluto]] table")
    parser.add_argument("--status-file", help="write the board's true loss counters here (JSON, every second)")
    parser.add_argument("--lockstep", action="store_true", help="exact model paced by sample index (tests)")
    parser.add_argument("--delay-samples", type=int, default=64, help="lock-step transmit-to-receive latency")
    parser.add_argument(
        "--air-endpoint",
        default="",
        help="ZMQ endpoint serving this Pluto's transmit stream (default with a peer: tcp://HOST:PORT+1)",
    )
    peer = parser.add_mutually_exclusive_group()
    peer.add_argument("--peer", metavar="HOST:PORT", help="the other virtual Pluto's --air-endpoint host:port")
    peer.add_argument("--peer-endpoint", metavar="ENDPOINT", help="same as --peer, as a ZMQ endpoint (tcp://…)")


def twin_config(args) -> VirtualPlutoConfig | None:
    """The twin's table (``--twin``), or one built from the flags; None with ``--lockstep``."""
    if args.port is not None and not 0 <= args.port <= 65535:
        raise ConfigError("<cli>", "--port", f"{args.port} is not a TCP port (0-65535; 0 = any free one)")
    if args.lockstep:
        return None
    if args.twin:
        from skycall.config.flowgraph import load_flowgraph

        path, _, serial = args.twin.rpartition(":")
        tables = {t.serial: t for t in load_flowgraph(path).virtual_pluto}
        if serial not in tables:
            raise ConfigError(path, "virtual_pluto", f"no twin with serial {serial!r} (has {sorted(tables)})")
        return tables[serial]
    port = IIOD_PORT if args.port is None else args.port
    return VirtualPlutoConfig(serial=args.serial or f"virtual-{port}", port=max(port, 1), seed=args.seed,
                              crystal_ppm=args.crystal_ppm, cable_db=args.path_loss_db,
                              noise_floor_dbfs=args.noise_floor_dbfs)


def build(args, on_fatal=None) -> tuple[IiodServer, PeerLink | AirLink | None]:
    """Create (not start) the server, and the peer link when a peer or an air endpoint is given."""
    twin = twin_config(args)
    if twin is None:
        from skycall.channel.air import AirModel

        air = AirModel(1e6, 1.5e9, args.noise_floor_dbfs, 0.0, 0.0, make_rng(args.seed))
        model = VirtualPluto(serial=args.serial, lo_offset_ppm=args.crystal_ppm, delay_samples=args.delay_samples,
                             path_loss_db=args.path_loss_db, air=air)
        port = IIOD_PORT if args.port is None else args.port
    else:
        if twin.power_up_s:
            time.sleep(twin.power_up_s)  # this board powers up later than the run started
        model = VirtualPluto(twin=twin)
        port = twin.port if args.port is None else args.port
    try:
        server = IiodServer(model, args.host, port)
    except OSError as err:
        raise SkycallError(f"cannot listen on {args.host}:{port} ({err.strerror}): pick another --host or --port "
                           "(--port 0 takes any free one)") from None
    model.serial = model.serial or f"virtual-{server.port}"
    peer_endpoint = args.peer_endpoint or (f"tcp://{args.peer}" if args.peer else None)
    air_endpoint = args.air_endpoint
    if twin is not None and args.twin:
        air_endpoint = air_endpoint or f"tcp://{args.host}:{twin.air_port or twin.port + 1}"
    link = None
    if peer_endpoint or air_endpoint:
        kind = PeerLink if twin is None else AirLink
        try:
            link = kind(model, air_endpoint or f"tcp://{args.host}:{server.port + 1}", peer_endpoint,
                        on_fatal=on_fatal)
        except BaseException:
            server.server_close()
            raise
    return server, link


def _write_status(path: str | None, model: VirtualPluto) -> None:
    if path and model.free_running:
        tmp = Path(f"{path}.tmp")
        tmp.write_text(json.dumps(model.streams.status()))
        tmp.replace(path)


def run(args) -> int:
    stop = threading.Event()
    failure: list[BaseException] = []

    def fatal(err: BaseException) -> None:
        failure.append(err)
        stop.set()

    server, link = build(args, on_fatal=fatal)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    air = f", transmit stream at {link.endpoint}" if link else ""
    kind = "lock-step" if not server.model.free_running else "free-running"
    print(f"virtual Pluto {server.model.serial} at {server.uri}{air} ({kind})", flush=True)
    try:
        while not stop.wait(STATUS_PERIOD_S):
            _write_status(args.status_file, server.model)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if link:
            link.close()
        _write_status(args.status_file, server.model)
    if failure:
        raise SkycallError(f"virtual Pluto {server.model.serial} stopped: {failure[0]!r}")
    return 0


__all__ = ["add_arguments", "build", "run", "twin_config"]
