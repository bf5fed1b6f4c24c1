"""Issue 20 #4: one telemetry message cannot kill the supervisor's service thread (directory and
telemetry keep working), the collector's queue is bounded and events are not kept twice; fuzzed
telemetry frames are counted and skipped."""

import json
import threading
import time

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust_helpers import BAD_TELEMETRY_PEER, PEER, write_flowgraph

from skycall.runner.supervisor import Supervisor
from skycall.transport.telemetry import COLLECTOR_HWM, Telemetry, TelemetryCollector
from skycall.transport.wire import MAX_EVENT_BYTES


def test_hostile_telemetry_from_a_registered_process_does_not_stop_the_supervisor(tmp_path):
    # no IQ: telemetry only; 8 s so that the handset still runs when the attack has been digested on a loaded machine
    flow = write_flowgraph(tmp_path, duration_s=8.0, realtime=True, links=())
    sup = Supervisor(flow, tmp_path / "out", entries={"gs": BAD_TELEMETRY_PEER, "hs": PEER}, capture_logs=True)
    with sup:
        assert sup.wait_registered("gs", timeout_s=60)
        tick = sup.wait_event(lambda e: e["proc"] == "gs" and e["t"] == "tick", 60)  # sent after the attack
        assert tick is not None, (tmp_path / "out" / "gs.log").read_text()
        seen = len(sup.events)
        # the directory still answers: the handset registers its ports after the attack as well
        assert sup.wait_event(lambda e: e in sup.events[seen:] and e["proc"] == "hs" and e["t"] == "rx", 60)
        codes = sup.wait(60)
    assert sup.service_error is None
    assert codes == {"gs": 0, "hs": 0}
    lines = [json.loads(line) for line in (tmp_path / "out" / "telemetry.jsonl").read_text().splitlines()]
    assert {e["t"] for e in lines if e["proc"] == "gs"} >= {"tick"} and all(isinstance(e, dict) for e in lines)


class Draining:
    """A collector drained by its own thread (a ZeroMQ socket takes in new peers only while its owner
    calls into it), as the supervisor's service thread does."""

    def __init__(self, collector: TelemetryCollector):
        self.collector, self.got, self.failed = collector, [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self):
        try:
            while not self._stop.is_set():
                self.got += self.collector.drain(0.02)
        except BaseException as err:  # noqa: BLE001 - the test's point
            self.failed.append(err)

    def wait_for(self, predicate, timeout_s=10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.failed:
            if any(predicate(e) for e in list(self.got)):
                return True
            time.sleep(0.01)
        return False

    def close(self):
        self._stop.set()
        self._thread.join(10)
        self.collector.close()


def test_the_collector_queue_is_bounded_and_events_are_kept_once(ctx, tmp_path):
    collector = TelemetryCollector(ctx, tmp_path / "t.jsonl", keep_events=False)
    sock = collector.socket
    assert sock.getsockopt(zmq.RCVHWM) == COLLECTOR_HWM > 0  # was 0: unbounded under a flood
    assert sock.getsockopt(zmq.MAXMSGSIZE) == MAX_EVENT_BYTES
    draining = Draining(collector)
    tel = Telemetry(ctx, "p")
    try:
        assert tel.connect_collector(collector.endpoint, timeout_s=10)
        for i in range(20):
            tel.emit("e", i)
        tel.emit("too_big", 0, pad="x" * (MAX_EVENT_BYTES + 1))  # refused by the sender, not the collector
        tel.emit("end", 20)
        assert draining.wait_for(lambda e: e["t"] == "end")
    finally:
        draining.close()
    assert [e["index"] for e in draining.got] == list(range(21)) and collector.events == []  # kept once
    assert tel.dropped == 1 and not draining.failed
    tel.close()


def test_a_frame_over_the_size_limit_is_refused_before_it_is_buffered(ctx):
    draining = Draining(TelemetryCollector(ctx, None))
    pub = ctx.socket(zmq.XPUB)
    try:
        pub.connect(draining.collector.endpoint)
        assert pub.poll(10_000) and pub.recv() == b"\x01"
        pub.send(b"[" * 200_000 + b"]" * 200_000)  # 400 kB: libzmq drops this publisher
        good = ctx.socket(zmq.XPUB)
        good.connect(draining.collector.endpoint)
        assert good.poll(10_000) and good.recv() == b"\x01"
        good.send(b'{"t": "still here"}')
        assert draining.wait_for(lambda e: e["t"] == "still here")
        good.close()
    finally:
        pub.close()
        draining.close()
    assert draining.collector.bad == 0 and not draining.failed


_event = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda d: b"[" * d + b"]" * d, st.integers(1, 30_000)),
    st.builds(lambda d: b'{"a":' * d + b"1" + b"}" * d, st.integers(1, 10_000)),
    st.builds(lambda v: json.dumps(v).encode(), st.dictionaries(st.text(max_size=5), st.integers() | st.none())),
)


@pytest.fixture
def publisher(ctx):
    """An XPUB the draining collector has subscribed to."""
    draining = Draining(TelemetryCollector(ctx, None))
    pub = ctx.socket(zmq.XPUB)
    pub.connect(draining.collector.endpoint)
    assert pub.poll(10_000) and pub.recv() == b"\x01"
    yield pub, draining
    pub.close()
    draining.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_event, min_size=1, max_size=5))
def test_fuzzed_telemetry_frames_are_counted_or_collected_never_fatal(publisher, frames):
    pub, draining = publisher
    before_bad, before_got = draining.collector.bad, len(draining.got)
    for frame in frames:
        pub.send(frame)
    pub.send(b'{"t": "end"}')
    assert draining.wait_for(lambda e: e.get("t") == "end")
    got = draining.got[before_got:]
    draining.got.clear()
    assert got[-1] == {"t": "end"} and all(isinstance(e, dict) for e in got)
    assert len(got) - 1 + draining.collector.bad - before_bad == len(frames)
    assert not draining.failed
