"""``skycall virtual-pluto``: an emulated PlutoSDR that pyadi-iio / libiio reach at ``ip:HOST:PORT``.

A cabled pair is two of them, each serving its transmit stream and pulling the other's::

    skycall virtual-pluto --port 40431 --peer 127.0.0.1:40434   # transmit stream at tcp://127.0.0.1:40432
    skycall virtual-pluto --port 40433 --peer 127.0.0.1:40432   # transmit stream at tcp://127.0.0.1:40434

Start order does not matter. SIGTERM or Ctrl-C shuts a server down cleanly.
"""

import signal
import threading

from skycall.radio.virtual_pluto import IIOD_PORT, IiodServer, VirtualPluto
from skycall.radio.virtual_pluto.peer import PeerLink
from skycall.rng import make_rng


def add_arguments(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default loopback)")
    parser.add_argument("--port", type=int, default=IIOD_PORT, help=f"iiod port (default {IIOD_PORT}; 0 = any)")
    parser.add_argument("--serial", default="", help="hw_serial to report (default: virtual-<port>)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the receiver noise")
    parser.add_argument("--noise-floor-dbfs", type=float, default=-200.0, help="receiver noise (≤ -200: none)")
    parser.add_argument("--lo-offset-ppm", type=float, default=0.0, help="crystal error of this Pluto (ppm)")
    parser.add_argument("--delay-samples", type=int, default=64, help="transmit-to-receive latency (samples)")
    parser.add_argument("--path-loss-db", type=float, default=30.0, help="bench attenuation between the ports")
    parser.add_argument(
        "--air-endpoint",
        default="",
        help="ZMQ endpoint serving this Pluto's transmit stream (default with a peer: tcp://HOST:PORT+1)",
    )
    peer = parser.add_mutually_exclusive_group()
    peer.add_argument("--peer", metavar="HOST:PORT", help="the other virtual Pluto's --air-endpoint host:port")
    peer.add_argument("--peer-endpoint", metavar="ENDPOINT", help="same as --peer, as a ZMQ endpoint (tcp://…)")


def build(args) -> tuple[IiodServer, PeerLink | None]:
    """Create (not start) the server, and the peer link when ``--peer``/``--air-endpoint`` is given."""
    from skycall.channel.air import AirModel

    air = AirModel(1e6, 1.5e9, args.noise_floor_dbfs, 0.0, 0.0, make_rng(args.seed))
    model = VirtualPluto(
        serial=args.serial, lo_offset_ppm=args.lo_offset_ppm, delay_samples=args.delay_samples,
        path_loss_db=args.path_loss_db, air=air,
    )  # fmt: skip
    server = IiodServer(model, args.host, args.port)
    model.serial = model.serial or f"virtual-{server.port}"
    peer_endpoint = args.peer_endpoint or (f"tcp://{args.peer}" if args.peer else None)
    link = None
    if peer_endpoint or args.air_endpoint:
        link = PeerLink(model, args.air_endpoint or f"tcp://{args.host}:{server.port + 1}", peer_endpoint)
    return server, link


def run(args) -> int:
    server, link = build(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    air = f", transmit stream at {link.endpoint}" if link else ""
    print(f"virtual Pluto {server.model.serial} at {server.uri}{air}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if link:
            link.close()
    return 0
