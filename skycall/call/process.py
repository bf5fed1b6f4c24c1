"""What both process mains share: the slot loop's bookkeeping around a satellite or phone core.

Per slot: service control commands (status / call / hangup / shutdown, plus a side's own), run
the call script, publish call-state events, a receiver status (``rx_status``) every ``STATUS_EVERY_S``
of stream time and, once per second, a radio status (``radio_status``: overflows, underflows, lost
samples, discontinuities, receive level) on telemetry, and the constellation of the frames decoded
in the slot on the raw tap ``const.raw`` (PUB: dropped when nobody listens); at the end, save the
side's record for the report (with the radio's counters and levels, and each slot's wall time).
:func:`start_radio` brings the radio up in slots (:class:`~skycall.radio.slots.SlotRadio`); the radio
I/O itself stays in each main.

Signals: SIGTERM and SIGHUP stop a process like SIGINT (``KeyboardInterrupt``: every ``finally``
runs, so the radio is left safe — transmitter off — and the slot loop saves the record, exit 130).
While the record is being written further signals are held (:func:`signals_held`), so a second
Ctrl-C cannot cut it short; the files are also written atomically. The record's meta says how the
side ended (``ended``: ``completed``, ``shutdown``, ``interrupted`` or ``crashed: ...``) and how many
slots were planned (``planned_slots``).
"""

import argparse
import contextlib
import json
import logging
import math
import os
import signal
import sys
import threading

import numpy as np

from skycall.call.build import call_id_for
from skycall.call.plan import CallPlan
from skycall.call.record import side_record, soft_constellation
from skycall.call.session import FRAME_S
from skycall.radio.slots import SlotRadio, slot_buffer_size

log = logging.getLogger(__name__)
STATUS_EVERY_S = 0.1  # receiver (and link) status events: ~10 per second of stream, for live plots
RADIO_STATUS_EVERY_S = 1.0  # radio status events (counters and levels)
TX_LEAD_S = 0.16  # a slot's answer leaves the antenna this long after the slot was received (real time)
RX_RING_S = 1.0  # receive kernel buffers to cover the worst slot time (a late slot loses nothing)
OWN_CLOCK_PLAYOUT_FRAMES = 2  # jitter buffer when the two sides' radios run from their own clocks


def status_period(slot: int, every_s: float = STATUS_EVERY_S) -> int:
    """Which ``every_s`` period of stream time slot ``slot`` starts in."""
    return (slot * round(FRAME_S * 1000)) // round(every_s * 1000)


def status_due(slot: int, every_s: float = STATUS_EVERY_S) -> bool:
    """True in the first slot of each ``every_s`` of stream time (slot 0 included)."""
    return slot == 0 or status_period(slot, every_s) != status_period(slot - 1, every_s)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


_stop_signal: list[int] = []  # the stop signals received: a KeyboardInterrupt can be swallowed (see below)


def _interrupt(signum, frame):
    _stop_signal.append(signum)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def stop_on_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP end the process with a KeyboardInterrupt (records are saved).

    The exception is raised wherever the main thread happens to be; raised inside a ``__del__`` (a
    socket being collected) Python only prints it. So the signal is also remembered and
    :meth:`SlotHarness.begin` raises it again at the next slot: a stop is never lost."""
    for sig in STOP_SIGNALS:
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

    ``radio``: the side's :class:`~skycall.radio.slots.SlotRadio` (its status on telemetry);
    ``handlers``: the side's own control commands (``{name: handler(**args) -> dict}``), served
    between slots like the common ones; ``taps``: names of raw taps (``NAME.raw``) the main
    publishes with :meth:`tap`.
    """

    def __init__(self, node, core, role: str, radio: SlotRadio | None = None, handlers: dict | None = None,
                 taps: tuple[str, ...] = ()):
        self.node, self.core, self.role, self.radio = node, core, role, radio
        if radio is not None and radio.own_clock:  # frames arrive at any phase of this side's slots
            core.call.listener.set_depth(OWN_CLOCK_PLAYOUT_FRAMES)
        self.n_slots = int(node.duration_s / FRAME_S)
        self.plan = CallPlan(node.flow.call, role, call_id_for(node.flow.seed), self.n_slots)
        self.slot = 0
        self.stop = False
        self._emitted = 0
        self._periods = {STATUS_EVERY_S: -1, RADIO_STATUS_EVERY_S: -1}  # last status period emitted
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

    def poll(self) -> bool:
        """Service control commands; True once a shutdown was asked for."""
        self.control.poll()
        return self.stop

    def begin(self, slot: int) -> None:
        """Before the core's step: control commands and the call script (and a stop signal whose
        KeyboardInterrupt was swallowed)."""
        if _stop_signal:
            raise KeyboardInterrupt(signal.Signals(_stop_signal[0]).name)
        self.slot = slot
        self.poll()
        self.plan.apply(slot, self.session)

    def _due(self, slot: int, every_s: float) -> bool:
        period = status_period(slot, every_s)
        due, self._periods[every_s] = period != self._periods[every_s], period
        return due

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
        if self._due(slot, STATUS_EVERY_S):  # slots may jump (samples lost): once per period regardless
            self.node.telemetry.emit("rx_status", index, **self._status())
        if self.radio is not None and self._due(slot, RADIO_STATUS_EVERY_S):
            self.node.telemetry.emit("radio_status", index, **self.radio.status())
        frames = self.core.call.rx_frames[self._frames_seen :]
        self._frames_seen += len(frames)
        if frames:
            self.tap("const", np.concatenate([soft_constellation(f, self.core.waveform) for f in frames]))

    def save(self, extra: dict | None = None, meta: dict | None = None):
        """Write this side's record (``ROLE.npz`` + ``ROLE.json``) into the run's output directory.

        Called from the slot loop's ``finally``: an exception on its way out says how the side ended.
        """
        ended = self._ended(sys.exc_info()[1])
        n_slots = self.slot + 1
        extra = dict(extra or {})
        extra["rx_ok"] = np.array([f.crc_ok for f in self.core.call.rx_frames], bool)
        meta = {"process": self.node.name, **(meta or {})}
        with signals_held():
            if self.radio is not None:
                extra["slot_time_s"] = self.radio.slot_time_array(n_slots)
                meta["radio"] = self.radio.summary()
            rec = side_record(self.role, self.core, n_slots, extra)
            rec.meta.update(meta)
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


def start_radio(node, transmit: bool) -> SlotRadio:
    """Open, configure and start the process's radio (validated against its profile first), in slots.

    Real radios are tuned ``if_offset_hz`` below the carriers (digital IF, off the chip's DC) and get
    kernel rings for ``RX_RING_S`` of receive and ``TX_LEAD_S`` plus two slots of transmit (the ground
    station writes a slot before it reads one). A real radio
    carrying an ``unmodified`` handset must have a stored calibration against the ground station's
    radio (``SKYCALL_RADIO_SERIALS`` names it when ``skycall run`` started the process): commodity
    crystals (±20-25 ppm) are tens of kHz off at L-band, as much as the Doppler being demonstrated.
    The radio applies it (a Pluto as ``xo_correction``, LOs and sample clock together; others by
    retuning).
    """
    from skycall.radio.base import RadioConfig
    from skycall.radio.factory import open_radio

    flow, proc = node.flow, node.proc
    profile = flow.profiles[proc.name]
    radio = open_radio(flow, proc.name, node)
    radio.open()
    correction_ppm, realtime = 0.0, profile.driver != "loopback"
    if realtime and proc.role == "handset" and proc.receiver_profile == "unmodified":
        from skycall.radio.calibration import require_calibrated

        serial = getattr(radio, "serial", profile.calibration.serial)
        reference = json.loads(os.environ.get("SKYCALL_RADIO_SERIALS", "{}")).get(_groundstation(flow), "")
        cal = require_calibrated(serial, reference_serial=reference, max_age_h=profile.calibration.max_age_h)
        correction_ppm = -cal.freq_error_ppm
    fs, if_hz = proc.sample_rate_sps, profile.if_offset_hz
    size = slot_buffer_size(fs)
    radio.configure(RadioConfig(
        rx_freq_hz=proc.rx_freq - if_hz,
        tx_freq_hz=proc.tx_freq - if_hz if transmit else None,
        sample_rate_sps=fs,
        rx_gain_db=proc.rx_gain_db if proc.rx_gain_db is not None else profile.rx_gain.default_db,
        tx_gain_db=(proc.tx_gain_db if proc.tx_gain_db is not None else profile.tx_gain.default_db) if transmit
        else None,
        buffer_size=size,
        freq_correction_ppm=correction_ppm,
        extra={"allow_any_tx": flow.allow_any_tx, "tx_lead_s": TX_LEAD_S,
               "rx_kernel_buffers": math.ceil(RX_RING_S * fs / size),
               "tx_kernel_buffers": math.ceil((TX_LEAD_S + 2 * FRAME_S) * fs / size) + 2},
    ))
    radio.start()
    own_clock = realtime and not getattr(radio, "lockstep", False)
    return SlotRadio(radio, proc.name, fs, if_hz, profile.dc_block_hz, TX_LEAD_S if own_clock else 0.0, own_clock,
                     adc=realtime)


def _groundstation(flow) -> str:
    return next((p.name for p in flow.process if p.role == "groundstation"), "")


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
