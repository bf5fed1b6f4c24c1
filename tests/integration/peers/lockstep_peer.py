"""Test-only flowgraph process: writes a tone keyed by sample index, reads its rx, saves what it got.

Lock-step by chunk (write chunk k, read chunk k) through a LoopbackRadio; chunk size from
``PEER_CHUNK_<NAME>`` or ``PEER_CHUNK`` (default 4096). Saves ``OUT/NAME_rx.npy`` (received samples)
and emits an ``rx`` telemetry event about every 0.1 s of stream with the sender's index.
"""

import os
import signal
import sys

import numpy as np

from skycall.radio.loopback import LoopbackRadio
from skycall.runner.node import Node


def tone(process_index: int, first: int, n: int, sample_rate_sps: float) -> np.ndarray:
    """0.5·exp(j2π·f·k/fs) for k = first..first+n-1, f = 3 kHz·(process index + 1)."""
    k = np.arange(first, first + n, dtype=np.float64)
    return (0.5 * np.exp(2j * np.pi * 3000.0 * (process_index + 1) * k / sample_rate_sps)).astype(
        np.complex64
    )


_stopped: list[int] = []


def _on_sigint(signum, frame):
    _stopped.append(signum)  # remembered: raised inside a __del__ the KeyboardInterrupt would only be printed
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGINT, _on_sigint)
    node = Node.from_env()
    radio = LoopbackRadio(node)
    radio.start()
    ctl = node.control({})
    chunk = int(os.environ.get(f"PEER_CHUNK_{node.name.upper()}", os.environ.get("PEER_CHUNK", "4096")))
    fs = node.proc.sample_rate_sps
    total = int(round(node.duration_s * fs))
    every = int(0.1 * fs)
    got, index, next_event = [], 0, 0
    node.telemetry.emit("start", 0, chunk=chunk)
    try:
        while index < total and not _stopped:
            n = min(chunk, total - index)
            radio.write(tone(node.index, index, n, fs))
            first, y = radio.read(n)
            got.append(y)
            index += n
            if index >= next_event:
                sender = radio.sender_index
                node.telemetry.emit("rx", first, n=n, sender_first=None if sender is None else sender - n)
                next_event += every
            ctl.poll()
    except KeyboardInterrupt:
        pass
    np.save(node.out_dir / f"{node.name}_rx.npy", np.concatenate(got) if got else np.zeros(0, np.complex64))
    node.telemetry.emit("done", index, missing=radio.missing_samples, gaps=radio.gaps,
                        dropped=radio.counters.dropped_messages)  # fmt: skip
    radio.close()
    node.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C forwarded while still setting up
        sys.exit(130)
