"""The live source against a stand-in flowgraph built from the project's own transport pieces
(telemetry XPUB, raw-tap PUB, control REP) and an ``endpoints.json`` written as ``skycall run`` does."""

import json
import threading
import time

import numpy as np
import pytest
import zmq

from skycall.dashboard.decimate import FFT_BINS
from skycall.dashboard.links import telemetry_socket
from skycall.dashboard.live import LiveSource
from skycall.errors import SkycallError
from skycall.transport import security
from skycall.transport.control import ControlServer
from skycall.transport.stream import RawTap
from skycall.transport.telemetry import Telemetry, TelemetryCollector

FS = 240_000.0


@pytest.fixture
def ctx():
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


class FakeGroundStation:
    """Telemetry, the ``dl_precomp`` and ``const`` taps and a control server answering on a thread,
    which wants the run key (``run.key`` in the run directory, as ``skycall run`` writes it)."""

    def __init__(self, ctx, run_dir):
        self.telemetry = Telemetry(ctx, "gs")
        self.taps = {name: RawTap(ctx) for name in ("dl_precomp", "const")}
        self.switched = []
        self.control = ControlServer(ctx, {"precompensation": self._precomp,
                                           "status": lambda: {"role": "groundstation"}},
                                     key=security.new_key_file(run_dir))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        table = {"gs": {"telemetry": self.telemetry.endpoint, "control": self.control.endpoint,
                        **{f"{n}.raw": t.endpoint for n, t in self.taps.items()}}}
        (run_dir / "endpoints.json").write_text(json.dumps(table))

    def _precomp(self, on):
        self.switched.append(on)
        return {"precompensation": on}

    def _serve(self):
        while not self._stop.is_set():
            self.control.poll(0.02)

    def close(self):
        self._stop.set()
        self._thread.join()
        for item in (self.control, self.telemetry, *self.taps.values()):
            item.close()


def _poll_until(source, predicate, timeout_s=5.0):
    deadline, frames = time.monotonic() + timeout_s, []
    while time.monotonic() < deadline:
        frames.append(source.poll())
        if predicate(frames):
            return frames
        time.sleep(0.02)
    raise AssertionError(f"not seen within {timeout_s} s: {frames[-1]}")


def test_events_taps_and_commands_of_a_running_flowgraph(ctx, tmp_path):
    gs = FakeGroundStation(ctx, tmp_path)
    source = LiveSource(tmp_path, ctx)
    try:
        source.poll()  # wires the sockets
        time.sleep(0.3)  # subscriptions travel to the publishers
        gs.telemetry.emit("rx_status", 9600 * 25, role="groundstation", locked=False, snr_db=float("nan"))
        n = np.arange(9600)
        for f0 in (10e3, 20e3, -30_000.0):  # CONFLATE: only the newest chunk is kept for the dashboard
            gs.taps["dl_precomp"].publish((0.5 * np.exp(2j * np.pi * f0 * n / FS)).astype(np.complex64))
        gs.taps["const"].publish(np.array([0.7 + 0.7j, -0.7 - 0.7j], np.complex64))
        newest = lambda f: f["spectra"] and abs(f["spectra"]["dl_precomp"]["centre_hz"] + 30e3) < 1e3  # noqa: E731
        frames = _poll_until(source, lambda fs: any(f["events"] for f in fs) and any(newest(f) for f in fs)
                             and any(f["const"] for f in fs))
        events = [e for f in frames for e in f["events"]]
        assert events[0]["snr_db"] is None and events[0]["t"] == "rx_status"  # NaN became null
        assert frames[-1]["t_s"] == pytest.approx(1.0) and frames[-1]["run_state"] == "running"
        spectra = [f["spectra"]["dl_precomp"] for f in frames if f["spectra"]]
        # the newest chunk wins (a poll may land between two publishes and see an older one first)
        assert 1 <= len(spectra) <= 3 and spectra[-1]["centre_hz"] == pytest.approx(-30e3, abs=FS / FFT_BINS / 10)
        assert [f["const"]["groundstation"]["n"] for f in frames if f["const"]] == [2]  # keyed by role
        assert source.command("precompensation", on=False).result(5) == {"gs": {"ok": True, "precompensation": False}}
        assert gs.switched == [False]
        security.new_key_file(tmp_path)  # another run's key: the page's commands must not pass
        stranger = LiveSource(tmp_path, ctx)
        stranger.poll()
        with pytest.raises(SkycallError, match="run's key"):
            stranger.command("precompensation", on=True).result(5)
        stranger.close()
        assert gs.switched == [False]
        with pytest.raises(SkycallError, match="no running handset"):
            source.command("dial").result(5)
        with pytest.raises(SkycallError, match="unknown command"):
            source.command("format_disk").result(5)
    finally:
        source.close()
        gs.close()


def test_a_viewer_subscribed_before_the_collector_does_not_pass_for_it(ctx, tmp_path):
    """A process waits for its collector's subscription before its first event; the dashboard's
    telemetry subscription (a prefix) arriving first must not end that wait early."""
    tele = Telemetry(ctx, "p")
    viewer = telemetry_socket(ctx, tmp_path, tele.endpoint)
    assert tele._sock.poll(5000, zmq.POLLIN)  # the viewer's subscription is waiting at the publisher
    collector = TelemetryCollector(ctx)
    got, stop = [], threading.Event()

    def serve():  # like the supervisor's service thread: a bound socket acts when its owner polls it
        while not stop.is_set():
            got.extend(collector.drain(0.02))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        assert tele.connect_collector(collector.endpoint, timeout_s=5.0)
        tele.emit("first", 0)
        deadline = time.monotonic() + 2.0
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [e["t"] for e in got] == ["first"]  # the collector was listening: nothing lost
        assert viewer.poll(2000, zmq.POLLIN) and json.loads(viewer.recv())["t"] == "first"
    finally:
        stop.set()
        thread.join()
        viewer.close()
        collector.close()
        tele.close()


def test_a_tap_registered_after_the_first_frame_is_wired_at_the_next_frame(ctx, tmp_path):
    """A fast-mode call streams its whole pass in under a second: a late subscription would show nothing."""
    source = LiveSource(tmp_path, ctx)
    tap = RawTap(ctx)
    try:
        source.poll()  # no endpoints.json yet
        (tmp_path / "endpoints.json").write_text(json.dumps({"hs": {"rx.raw": tap.endpoint}}))
        source.poll()
        assert ("hs", "rx.raw") in source._subs  # at once, not at the next half-second check
        same = source._subs[("hs", "rx.raw")]
        source.poll()  # unchanged file: nothing rewired
        assert source._subs[("hs", "rx.raw")] is same
    finally:
        source.close()
        tap.close()
