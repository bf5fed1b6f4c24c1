"""Test-only flowgraph process that publishes hostile telemetry frames, then a good ``after`` event.

It registers like any process (so the supervisor's collector subscribes to it), then sends on its
telemetry socket: a 30 000-deep JSON array (within the size limit: the parser's recursion is what
it attacks), a 5 000-deep object, invalid UTF-8 and a JSON list; then, until the run's duration,
one ``tick`` event per 0.1 s. (A frame over the size limit would make libzmq drop this publisher
for good; that is tested on the collector alone.)
"""

import sys
import time

from skycall.runner.node import Node


def main() -> int:
    node = Node.from_env()
    tel = node.telemetry  # registered; waits until the collector subscribed
    raw = tel._sock  # the test's point: bypass emit()'s own checks
    for frame in (b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 5000 + b"1" + b"}" * 5000, b"\xff\xfe{", b"[1, 2]"):
        raw.send(frame)
    ctl = node.control({})
    end = time.monotonic() + node.duration_s
    while time.monotonic() < end:
        ctl.poll(0.1)
        tel.emit("tick", 0)
    node.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
