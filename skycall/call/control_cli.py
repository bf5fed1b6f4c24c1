"""``skycall call``: talk to a running flowgraph's processes over their control sockets.

    skycall call --run-dir out/demo status            # every process
    skycall call --run-dir out/demo --proc handset dial
    skycall call --run-dir out/demo --endpoint ipc:///tmp/skycall-XXXX/handset.control.123 hangup

``--run-dir`` reads ``endpoints.json`` and the run key ``run.key`` that ``skycall run`` keeps in its
output directory (:func:`skycall.transport.control.connect_run`); ``--endpoint`` talks to one socket,
with the key of ``--run-dir``. Every target is asked, even after one fails to answer (a dead
process is listed as not answering); the exit code is 1 when any of them did not answer or refused.
"""

import json
import sys

from skycall.errors import ConfigError, SkycallError

ACTIONS = {"status": "status", "dial": "call", "hangup": "hangup", "shutdown": "shutdown"}


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=sorted(ACTIONS), help="what to ask")
    parser.add_argument("--run-dir", default="out/demo", help="output directory of the running flowgraph")
    parser.add_argument("--endpoint", help="one process's control endpoint (from RUN_DIR/endpoints.json)")
    parser.add_argument("--proc", help="process name (default: every process for status, else the handset)")
    parser.add_argument("--timeout-s", type=float, default=3.0, help="how long to wait for an answer")


def _targets(args, clients: dict) -> dict:
    if args.proc:
        if args.proc not in clients:
            raise ConfigError("<cli>", "--proc", f"{args.proc!r} is not one of {sorted(clients)}")
        return {args.proc: clients[args.proc]}
    if args.action == "status":
        return clients
    return {name: c for name, c in clients.items() if name == "handset"} or dict(list(clients.items())[:1])


def run(args) -> int:
    import zmq

    from skycall.transport import security
    from skycall.transport.control import ControlClient, connect_run

    ctx = zmq.Context()
    clients = {}
    try:
        if args.endpoint:
            key_file = f"{args.run_dir}/{security.KEY_FILE}"
            key = security.read_key_file(key_file)
            clients = {args.proc or "process": ControlClient(ctx, args.endpoint, args.timeout_s, key=key)}
            targets = clients
        else:
            clients = connect_run(args.run_dir, ctx, timeout_s=args.timeout_s)
            targets = _targets(args, clients)
        failed = 0
        for name, client in targets.items():
            try:
                print(f"{name}: {json.dumps(client.call(ACTIONS[args.action]))}", flush=True)
            except SkycallError as err:  # not answering (dead?) or refused: say so and ask the next one
                failed += 1
                print(f"{name}: ERROR {err}", flush=True)
                print(f"skycall call: {name}: {err}", file=sys.stderr)
        return 1 if failed else 0
    finally:
        for client in clients.values():
            client.close()
        ctx.destroy(linger=0)
