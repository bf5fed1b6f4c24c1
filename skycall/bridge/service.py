"""The bridge process: two :class:`~skycall.bridge.forward.Forwarder` threads (DL, UL) and their channels.

Ports (srsRAN's ZMQ radio: transmitters bind REP, receivers connect REQ)::

    srsenb tx_port ──▶ dl_from ─[DL channel]─ dl_to ◀── srsue rx_port
    srsenb rx_port ──▶ ul_to   ─[UL channel]─ ul_from ◀── srsue tx_port

Each thread owns its sockets; the numba kernels release the GIL. The main thread writes JSON-line
events (``bridge_start`` with the pass numbers, ``bridge_status`` every ``status_period_s`` of wall
time with the sample counters and the channel state at the current stream time, ``bridge_stop``) in the
telemetry format of :mod:`skycall.transport.telemetry` (``t``, ``proc``, ``index``, ``wall``, ...).
"""

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zmq

from skycall.bridge.channel import LinkChannel
from skycall.bridge.forward import Forwarder
from skycall.bridge.plan import BridgePlan, bridge_plan
from skycall.config.flowgraph import DL_FREQ_HZ, SRSRAN_RATES_SPS, UL_FREQ_HZ, Flowgraph, SrsranConfig
from skycall.rng import child_rng, make_rng


@dataclass(frozen=True)
class Endpoints:
    """Where the bridge connects (``*_from``: a transmitter's REP) and binds (``*_to``: for a receiver)."""

    dl_from: str = "tcp://127.0.0.1:2000"  # srsenb tx_port
    dl_to: str = "tcp://127.0.0.1:2100"  # srsue rx_port
    ul_from: str = "tcp://127.0.0.1:2101"  # srsue tx_port
    ul_to: str = "tcp://127.0.0.1:2001"  # srsenb rx_port


def carriers_line(plan: BridgePlan | None) -> str:
    """What the bridge emulates, in one line (the carriers are n255's whatever the eNodeB's band label)."""
    if plan is None:
        return "skycall bridge: channel off (samples forwarded bit-exact)"
    info, dl, ul = plan.info, plan.info["dl"], plan.info["ul"]
    what = (f"{info['channel']} channel at L-band MSS n255 carriers DL {DL_FREQ_HZ / 1e6:.1f} MHz, "
            f"UL {UL_FREQ_HZ / 1e6:.1f} MHz (whatever band the eNodeB is configured for: over the ZMQ radio "
            "its EARFCN is only a label)")
    comp = "on" if info["precompensation"] else "off"
    return (f"skycall bridge: {what}; {plan.sample_rate_sps / 1e6:.2f} MS/s; beam-centre compensation {comp}; "
            f"DL Doppler {dl['doppler_hz'][0] / 1e3:+.2f}..{dl['doppler_hz'][1] / 1e3:+.2f} kHz -> at the UE "
            f"{dl['doppler_after_compensation_hz'][0] / 1e3:+.2f}..{dl['doppler_after_compensation_hz'][1] / 1e3:+.2f}"
            f" kHz; UL at the eNodeB {ul['doppler_after_compensation_hz'][0] / 1e3:+.2f}.."
            f"{ul['doppler_after_compensation_hz'][1] / 1e3:+.2f} kHz")


class Bridge:
    """The bridge of one flowgraph (see the module docstring).

    Parameters
    ----------
    flow : Flowgraph
        Its ``[pass]``, ``[beam]``, ``[srsran]`` and ``seed`` define the channel.
    endpoints : Endpoints
    passthrough : bool
        Forward the bytes untouched (overrides ``[srsran] channel``).
    duration_s : float or None
        Stop after this much stream time (DL samples / rate); None: until :meth:`close`.
    events_path : path or None
        JSON-lines event file (appended).
    """

    def __init__(self, flow: Flowgraph, endpoints: Endpoints, passthrough: bool = False,
                 duration_s: float | None = None, events_path: str | Path | None = None):
        cfg = flow.srsran or SrsranConfig()
        self.sample_rate_sps = SRSRAN_RATES_SPS[cfg.n_prb]
        self.plan = None if passthrough or cfg.channel in ("off", "direct") else bridge_plan(flow)
        rng = make_rng(flow.seed)
        channels = {"dl": None, "ul": None}
        if self.plan is not None:
            channels = {name: LinkChannel(getattr(self.plan, name), self.sample_rate_sps, name == "ul", child_rng(rng))
                        for name in ("dl", "ul")}
        self.channels = channels
        self._events = open(events_path, "a") if events_path else None  # noqa: SIM115 (closed in close())
        self.stop = threading.Event()
        self._ctx = zmq.Context()
        limit = int(round(duration_s * self.sample_rate_sps)) if duration_s else None
        self.dl = Forwarder(self._ctx, "dl", endpoints.dl_to, endpoints.dl_from,
                            channels["dl"].process if channels["dl"] else None, self.stop, limit)
        self.ul = Forwarder(self._ctx, "ul", endpoints.ul_to, endpoints.ul_from,
                            channels["ul"].process if channels["ul"] else None, self.stop)
        self._threads = [threading.Thread(target=f.run, name=f"bridge-{f.name}", daemon=True)
                         for f in (self.dl, self.ul)]

    def emit(self, event_type: str, **fields) -> dict:
        """Append one event (stream index = DL samples forwarded) to the event file; return it."""
        event = {"t": event_type, "proc": "bridge", "index": self.dl.samples, "wall": time.time(),
                 "t_s": self.dl.samples / self.sample_rate_sps, **fields}
        if self._events is not None:
            self._events.write(json.dumps(event) + "\n")
            self._events.flush()
        return event

    def state_at(self, t_s: float) -> dict:
        """The channel at stream time ``t_s``: Doppler, offset left at each receiver, delay, gain."""
        if self.plan is None:
            return {}
        out = {}
        for name in ("dl", "ul"):
            lp = getattr(self.plan, name)
            n = t_s * self.sample_rate_sps
            out[name] = {"doppler_hz": float(np.interp(n, lp.index, lp.doppler_hz)),
                         "offset_at_receiver_hz": float(np.interp(n, lp.index, lp.residual_hz)),
                         "gain_db": float(np.interp(n, lp.index, lp.gain_db))}
            if lp.delay_s is not None:
                out[name]["delay_s"] = float(np.interp(n, lp.index, lp.delay_s))
        out["ul"]["at_enb_with_ue_lock_hz"] = float(self.plan.ul_at_enb_hz(t_s * self.sample_rate_sps))
        return out

    def status(self) -> dict:
        t_s = self.dl.samples / self.sample_rate_sps
        return self.emit("bridge_status", dl=self.dl.counters(), ul=self.ul.counters(), channel=self.state_at(t_s))

    def start(self) -> None:
        self.emit("bridge_start", sample_rate_sps=self.sample_rate_sps, endpoints=[self.dl.endpoint, self.ul.endpoint],
                  plan=self.plan.info if self.plan else {"channel": "off"})
        for t in self._threads:
            t.start()

    def run(self, status_period_s: float = 0.5, on_status=None) -> None:
        """Start, then write a status event every ``status_period_s`` until the duration or :meth:`close`."""
        self.start()
        try:
            while not self.stop.is_set() and not self.dl.done.is_set():
                self.dl.done.wait(status_period_s)
                event = self.status()
                if on_status is not None:
                    on_status(event)
        finally:
            self.close()

    def close(self) -> None:
        """Stop both directions, close the sockets, write ``bridge_stop``."""
        if self._ctx.closed:
            return
        self.stop.set()
        for t in self._threads:
            if t.is_alive():
                t.join(5.0)  # each thread checks ``stop`` every 100 ms and closes its own sockets
        self._ctx.destroy(linger=0)  # sockets of threads that never started
        if self._events is not None:
            self.emit("bridge_stop", dl=self.dl.counters(), ul=self.ul.counters())
            self._events.close()
            self._events = None
