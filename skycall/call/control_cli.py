"""``skycall call``: talk to a running flowgraph's processes over their control sockets.

    skycall call --run-dir out/demo status            # every process
    skycall call --run-dir out/demo --proc handset dial
    skycall call --endpoint tcp://127.0.0.1:PORT hangup

``--run-dir`` reads ``endpoints.json``, which ``skycall run`` keeps up to date in its output
directory (each process's control endpoint, refreshed when a process restarts).
"""

import json
from pathlib import Path

from skycall.errors import ConfigError, SkycallError

ACTIONS = {"status": "status", "dial": "call", "hangup": "hangup", "shutdown": "shutdown"}


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=sorted(ACTIONS), help="what to ask")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--run-dir", default="out/demo", help="output directory of the running flowgraph")
    where.add_argument("--endpoint", help="a process's control endpoint (tcp://127.0.0.1:PORT)")
    parser.add_argument("--proc", help="process name (default: every process for status, else the handset)")
    parser.add_argument("--timeout-s", type=float, default=3.0, help="how long to wait for an answer")


def control_endpoints(run_dir: str | Path) -> dict[str, str]:
    """``{process: control endpoint}`` of a running flowgraph."""
    path = Path(run_dir) / "endpoints.json"
    if not path.exists():
        raise SkycallError(f"{path} not found: is `skycall run ... --out {run_dir}` running?")
    table = json.loads(path.read_text())
    return {proc: ports["control"] for proc, ports in table.items() if "control" in ports}


def run(args) -> int:
    import zmq

    from skycall.transport.control import ControlClient

    if args.endpoint:
        targets = {args.proc or "process": args.endpoint}
    else:
        table = control_endpoints(args.run_dir)
        if args.proc:
            if args.proc not in table:
                raise ConfigError("<cli>", "--proc", f"{args.proc!r} is not one of {sorted(table)}")
            targets = {args.proc: table[args.proc]}
        elif args.action == "status":
            targets = table
        else:
            targets = {name: ep for name, ep in table.items() if name == "handset"} or dict(list(table.items())[:1])
    ctx = zmq.Context()
    try:
        for name, endpoint in targets.items():
            client = ControlClient(ctx, endpoint, timeout_s=args.timeout_s)
            try:
                print(f"{name}: {json.dumps(client.call(ACTIONS[args.action]))}")
            finally:
                client.close()
    finally:
        ctx.destroy(linger=0)
    return 0
