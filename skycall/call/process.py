"""What both process mains share: the slot loop's bookkeeping around a satellite or phone core.

Per slot: service control commands (status / call / hangup / shutdown, plus a side's own), run
the call script, publish call-state events and a receiver status every ``STATUS_EVERY_S`` of
stream time on telemetry, and the constellation of the frames decoded in the slot on the raw tap
``const.raw`` (PUB: dropped when nobody listens); at the end, save the side's record for the
report. The radio I/O itself stays in each main.

Signals: SIGTERM and SIGHUP stop a process like SIGINT (``KeyboardInterrupt``: the slot loop's
``finally`` saves the record, exit 130). While the record is being written further signals are
held (:func:`signals_held`), so a second Ctrl-C cannot cut it short; the files are also written
atomically. The record's meta says how the side ended (``ended``: ``completed``, ``shutdown``,
``interrupted`` or ``crashed: ...``) and how many slots were planned (``planned_slots``).
"""

import argparse
import contextlib
import logging
import signal
import sys
import threading
from fractions import Fraction

import numpy as np

from skycall.call.build import call_id_for
from skycall.call.plan import CallPlan
from skycall.call.record import side_record, soft_constellation
from skycall.call.session import FRAME_S
from skycall.config.flowgraph import BASEBAND_RATE_SPS
from skycall.dsp.resample import RationalResampler

log = logging.getLogger(__name__)
STATUS_EVERY_S = 0.1  # receiver (and link) status events: ~10 per second of stream, for live plots


def status_due(slot: int, every_s: float = STATUS_EVERY_S) -> bool:
    """True in the first slot of each ``every_s`` of stream time (slot 0 included)."""
    slot_ms, every_ms = round(FRAME_S * 1000), round(every_s * 1000)
    return slot == 0 or (slot * slot_ms) // every_ms != ((slot - 1) * slot_ms) // every_ms


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP end the process like SIGINT (KeyboardInterrupt: records are saved)."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)


@contextlib.contextmanager
def signals_held():
    """Hold SIGINT/SIGTERM/SIGHUP while the block runs (they are logged, not raised): a record being
    written is finished first. Only in the main thread (where Python runs signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = []
    previous = {sig: signal.signal(sig, lambda signum, frame: held.append(signum)) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if held:
            log.warning("%s received while saving the record: the record was completed first",
                        ", ".join(signal.Signals(s).name for s in held))  # fmt: skip


class SlotHarness:
    """Control, call script, telemetry and raw taps for one side's core (``Satellite`` or ``Phone``).

    ``handlers``: the side's own control commands (``{name: handler(**args) -> dict}``), served
    between slots like the common ones; ``taps``: names of raw taps (``NAME.raw``) the main
    publishes with :meth:`tap`.
    """

    def __init__(self, node, core, role: str, handlers: dict | None = None, taps: tuple[str, ...] = ()):
        self.node, self.core, self.role = node, core, role
        self.plan = CallPlan(node.flow.call, role, call_id_for(node.flow.seed))
        self.n_slots = int(node.duration_s / FRAME_S)
        self.slot = 0
        self.stop = False
        self._emitted = 0
        self._frames_seen = 0
        self.control = node.control({"status": self._status, "call": self._call, "hangup": self._hangup,
                                     "shutdown": self._shutdown, **(handlers or {})})
        self._taps = {name: node.raw_tap(name) for name in ("const", *taps)}

    @property
    def session(self):
        return self.core.call.session

    def _status(self, **_):
        r = self.core.receiver
        return {"proc": self.node.name, "role": self.role, "slot": self.slot, "state": self.session.state,
                "locked": bool(r.locked), "cfo_hz": float(r.cfo_hz), "snr_db": float(r.snr_db)}

    def _call(self, **_):
        ok = self.session.dial(self.slot, call_id_for(self.node.flow.seed + self.slot))
        return {"accepted": ok, "state": self.session.state}

    def _hangup(self, **_):
        self.session.hangup(self.slot)
        return {"state": self.session.state}

    def _shutdown(self, **_):
        self.stop = True
        return {"stopping": True}

    def begin(self, slot: int) -> None:
        """Before the core's step: control commands and the call script."""
        self.slot = slot
        self.control.poll()
        self.plan.apply(slot, self.session)

    def tap(self, name: str, samples: np.ndarray) -> None:
        """Publish ``samples`` on the raw tap ``NAME.raw`` (never blocks; nothing changes in the call)."""
        self._taps[name].publish(samples)

    def end(self, slot: int, index: int) -> None:
        """After the core's step: call-state events, a periodic status, the slot's constellation."""
        events = self.session.events
        for ev in events[self._emitted :]:
            self.node.telemetry.emit(ev["t"], index, **{k: v for k, v in ev.items() if k != "t"})
            log.info("%s: %s", self.role, {k: v for k, v in ev.items() if k != "t"})
        self._emitted = len(events)
        if status_due(slot):
            self.node.telemetry.emit("rx_status", index, **self._status())
        frames = self.core.call.rx_frames[self._frames_seen :]
        self._frames_seen += len(frames)
        if frames:
            self.tap("const", np.concatenate([soft_constellation(f, self.core.waveform) for f in frames]))

    def save(self, extra: dict | None = None, meta: dict | None = None):
        """Write this side's record (``ROLE.npz`` + ``ROLE.json``) into the run's output directory.

        Called from the slot loop's ``finally``: an exception on its way out says how the side ended.
        """
        ended = self._ended(sys.exc_info()[1])
        with signals_held():
            rec = side_record(self.role, self.core, self.slot + 1, extra)
            rec.meta.update(meta or {})
            rec.meta.update(ended=ended, planned_slots=self.n_slots)
            rec.save(self.node.out_dir)
        return rec

    def _ended(self, exc: BaseException | None) -> str:
        if isinstance(exc, KeyboardInterrupt):
            return "interrupted"
        if exc is not None:
            return f"crashed: {type(exc).__name__}: {exc}"
        if self.stop:
            return "shutdown"
        return "completed" if self.slot + 1 >= self.n_slots else "interrupted"


def start_radio(node, transmit: bool):
    """Open, configure and start the process's radio (validated against its profile first).

    A real radio carrying an ``unmodified`` handset must have a stored calibration: commodity
    crystals (±20-25 ppm) are tens of kHz off at L-band, as much as the Doppler being
    demonstrated. The calibration is applied by tuning: asking for ``f·(1 − ε)`` on a radio whose
    reference runs ``ε`` fast puts the real LO at ``f``.
    """
    from skycall.radio.base import RadioConfig
    from skycall.radio.factory import open_radio

    flow, proc = node.flow, node.proc
    profile = flow.profiles[proc.name]
    radio = open_radio(flow, proc.name, node)
    radio.open()
    error_ppm = 0.0
    if profile.driver != "loopback":
        from skycall.radio.calibration import require_calibrated

        if proc.role == "handset" and proc.receiver_profile == "unmodified":
            error_ppm = require_calibrated(getattr(radio, "serial", profile.calibration.serial)).freq_error_ppm
    scale = 1.0 - error_ppm * 1e-6
    radio.configure(RadioConfig(
        rx_freq_hz=proc.rx_freq * scale,
        tx_freq_hz=proc.tx_freq * scale if transmit else None,
        sample_rate_sps=proc.sample_rate_sps,
        rx_gain_db=proc.rx_gain_db if proc.rx_gain_db is not None else profile.rx_gain.default_db,
        tx_gain_db=(proc.tx_gain_db if proc.tx_gain_db is not None else profile.tx_gain.default_db) if transmit
        else None,
        buffer_size=slot_buffer_size(proc.sample_rate_sps),
        extra={"allow_any_tx": flow.allow_any_tx},
    ))
    radio.start()
    return radio


def slot_buffer_size(sample_rate_sps: float, max_samples: int = 8192) -> int:
    """Largest radio buffer (≤ ``max_samples``) that divides one 40 ms slot: a slot written is sent whole.

    A radio moving fixed-size buffers holds back a write's remainder until the next write; with
    slot-sized writes that remainder would be a full-duplex peer's missing samples.
    """
    slot = round(FRAME_S * sample_rate_sps)
    return max(d for d in range(1, min(slot, max_samples) + 1) if slot % d == 0)


class RateAdapter:
    """Baseband (240 kS/s) ↔ radio rate, streaming (polyphase resamplers; identity at equal rates)."""

    def __init__(self, radio_rate_sps: float):
        ratio = Fraction(radio_rate_sps / BASEBAND_RATE_SPS).limit_denominator(64)
        self.up = RationalResampler(ratio.numerator, ratio.denominator) if ratio != 1 else None
        self.down = RationalResampler(ratio.denominator, ratio.numerator) if ratio != 1 else None
        self.ratio = ratio

    def to_radio(self, x: np.ndarray) -> np.ndarray:
        return self.up.process(x) if self.up else x

    def from_radio(self, x: np.ndarray) -> np.ndarray:
        return self.down.process(x) if self.down else x

    def radio_samples(self, baseband_samples: int) -> int:
        return int(baseband_samples * self.ratio)


def process_main(name: str, run, argv: list[str] | None, doc: str) -> int:
    """Entry point of a flowgraph process: logging, the Node from the environment, one-line errors."""
    from skycall.errors import SkycallError
    from skycall.log import setup_logging
    from skycall.runner.node import Node

    parser = argparse.ArgumentParser(prog=name, description=doc.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=1)
    args = parser.parse_args(argv)
    setup_logging(args.verbose, name)
    stop_on_signals()
    node = None
    try:
        node = Node.from_env()
        return run(node)
    except SkycallError as err:
        logging.getLogger(name).error("%s", err)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        if node is not None:
            node.close()  # the stream's last messages and END reach a reader that is still there
