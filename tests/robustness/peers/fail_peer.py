"""Test-only flowgraph process that fails at start-up (exit 3) before registering anything."""

import sys

if __name__ == "__main__":
    print("fail_peer: failing at start-up on purpose", file=sys.stderr)
    sys.exit(3)
