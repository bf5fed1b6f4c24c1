"""StreamOut/StreamIn over inproc/tcp in one process: order, exact reads, gaps, malformed, timeouts."""

import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skycall.transport.protocol import StreamHeader, pack
from skycall.transport.stream import RawTap, StreamIn, StreamOut


@pytest.fixture
def ctx():
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


def _pair(ctx, **kw):
    out = StreamOut(ctx, sample_rate_sps=240e3, centre_freq_hz=1545e6, hwm=1000, **kw)
    inp = StreamIn(ctx, out.endpoint, sample_rate_sps=240e3)
    return out, inp


def _noise(rng, n):
    return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)


def test_any_write_and_read_chunking_gives_the_same_samples(ctx, rng):
    x = _noise(rng, 10_000)
    out, inp = _pair(ctx)
    cuts = np.sort(rng.choice(np.arange(1, x.size), 20, replace=False))
    for part in np.split(x, cuts):
        assert out.send(part)
    got, idx = [], []
    sizes = rng.integers(1, 1500, 100)
    total = 0
    for n in sizes:
        n = int(min(n, x.size - total))
        if n == 0:
            break
        first, y = inp.read(n, timeout_s=5)
        assert y.size == n  # exactly n when available
        idx.append(first)
        got.append(y)
        total += n
    assert idx[0] == 0 and all(b == a + g.size for a, b, g in zip(idx, idx[1:], got, strict=False))
    assert np.array_equal(np.concatenate(got), x)
    out.close()
    inp.close()


def test_gap_is_reported_and_read_stops_before_it(ctx):
    out, inp = _pair(ctx)
    gaps = []
    inp.on_gap = lambda expected, got: gaps.append((expected, got))
    out.send(np.ones(100, np.complex64), first_index=0)
    out.send(np.full(50, 2, np.complex64), first_index=1000)  # peer "restarted" elsewhere
    first, y = inp.read(120, timeout_s=5)
    assert (first, y.size) == (0, 100)
    first, y = inp.read(50, timeout_s=5)
    assert first == 1000 and np.all(y == 2)
    assert gaps == [(100, 1000)] and inp.counters.gaps == 1 and inp.counters.gap_samples == 900
    assert inp.counters.read_timeouts == 0


def test_malformed_messages_are_counted_per_kind_and_dropped(ctx, caplog):
    raw = ctx.socket(zmq.PUSH)
    port = raw.bind_to_random_port("tcp://127.0.0.1")
    inp = StreamIn(ctx, f"tcp://127.0.0.1:{port}", sample_rate_sps=240e3)
    good = pack(StreamHeader(0, 240e3, 1e9), np.arange(4, dtype=np.complex64))
    for frames in ([b"junk"], [b"XXXX" + good[4:]], [b"ju"], [good[:36] + b"abc"], [good, good], [good]):
        raw.send_multipart(frames)
    raw.send(pack(StreamHeader(4, 1e6, 1e9), np.ones(4, np.complex64)))  # wrong rate
    first, y = inp.read(4, timeout_s=5)
    assert first == 0 and np.array_equal(y, np.arange(4, dtype=np.complex64))
    first, y = inp.read(4, timeout_s=0.2)
    assert y.size == 0 and inp.counters.read_timeouts == 1
    assert inp.counters.malformed == {"frames": 1, "magic": 2, "header": 1, "payload": 1, "rate": 1}
    assert sum("malformed" in r.getMessage() for r in caplog.records) == 5  # one warning per kind
    raw.close()


def test_sender_reports_an_absent_reader_instead_of_blocking(ctx):
    out = StreamOut(
        ctx, sample_rate_sps=1e3, centre_freq_hz=0.0, hwm=1, connect_timeout_s=0.1, send_timeout_s=0.1
    )
    sent = [out.send(np.ones(10, np.complex64)) for _ in range(5)]
    assert sent == [False] * 5
    assert out.counters.send_timeouts == 5 and out.counters.dropped_messages == 5
    assert out.next_index == 50  # the stream clock keeps running


@pytest.mark.timeout(60)
def test_end_flag_stops_a_read_without_a_timeout(ctx):
    out, inp = _pair(ctx)
    out.send(np.ones(10, np.complex64))
    out.close()
    first, y = inp.read(100, timeout_s=10)
    assert y.size == 10 and inp.ended and inp.counters.read_timeouts == 0
    first, y = inp.read(100, timeout_s=None)  # would block forever if END were ignored
    assert (first, y.size) == (10, 0)


def test_paced_mode_sends_the_same_samples(ctx, rng):
    x = _noise(rng, 4000)
    out = StreamOut(ctx, sample_rate_sps=200e3, centre_freq_hz=1.0, realtime=True, hwm=1000)
    inp = StreamIn(ctx, out.endpoint)
    for part in np.split(x, 8):
        out.send(part)
    _, y = inp.read(x.size, timeout_s=5)
    assert np.array_equal(y, x)


def test_raw_tap_publishes_bare_complex64(ctx):
    tap = RawTap(ctx)
    sub = ctx.socket(zmq.SUB)
    sub.subscribe(b"")
    sub.connect(tap.endpoint)
    x = np.arange(8, dtype=np.complex64) * (1 + 2j)
    for _ in range(200):  # PUB drops until the subscription arrives: publish until one lands
        tap.publish(x)
        if sub.poll(20, zmq.POLLIN):
            break
    assert np.array_equal(np.frombuffer(sub.recv(), np.complex64), x)
    sub.close()
    tap.close()


_frame = st.one_of(
    st.binary(max_size=64),
    st.builds(
        lambda n, first, rate, flags, cut: pack(
            StreamHeader(first, rate, 1e9, flags=flags), np.ones(n, np.complex64)
        )[: 36 + 8 * n - cut],
        st.integers(0, 20),
        st.integers(0, 2**64 - 1),
        st.sampled_from([240e3, 1e6, float("nan"), -1.0]),
        st.integers(0, 255),
        st.integers(0, 9),
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_frame, min_size=1, max_size=4), min_size=1, max_size=8))
def test_fuzzed_messages_never_crash_a_receiver_and_it_stays_in_sync(ctx, messages):
    raw = ctx.socket(zmq.PUSH)
    port = raw.bind_to_random_port("tcp://127.0.0.1")
    inp = StreamIn(ctx, f"tcp://127.0.0.1:{port}", sample_rate_sps=240e3)
    for frames in messages:
        raw.send_multipart(frames)
    good = np.arange(5, dtype=np.complex64)
    raw.send(pack(StreamHeader(10**6, 240e3, 1e9, flags=2), good))  # RESTART: may go back in the index
    first = None
    for _ in range(2000):  # bounded: whatever the junk held, the good message must come out last
        first, y = inp.read(1, timeout_s=5)
        if first == 10**6:
            break
    assert first == 10**6 and y[0] == good[0]
    assert np.array_equal(inp.read(4, timeout_s=5)[1], good[1:])
    raw.close()
    inp.close()


@pytest.mark.parametrize("n", [0, 1, 7, 4096])
def test_copy_finite_matches_an_isfinite_reference(rng, n):
    from skycall.transport._finite import copy_finite

    x = _noise(rng, n)
    bad = rng.random(n) < 0.1
    parts = np.array([np.nan, np.inf, -np.inf], np.float32)
    x.real[bad & (rng.random(n) < 0.5)] = rng.choice(parts)  # a bad real part, imaginary part or both
    x.imag[bad & (rng.random(n) < 0.7)] = rng.choice(parts)
    want = np.where(np.isfinite(x.real) & np.isfinite(x.imag), x, 0).astype(np.complex64)
    y = np.full(n, 99, np.complex64)
    assert copy_finite(x, y) == np.count_nonzero(~(np.isfinite(x.real) & np.isfinite(x.imag)))
    assert np.array_equal(y, want)


def test_sender_grows_its_buffer_and_copies_any_layout(ctx, rng):
    out, inp = _pair(ctx)
    x = _noise(rng, 6000)
    parts = [x[:10], x[10:3010], x[3010:3020], x[3020:5020:2], x[3021:5021:2]]  # grow, shrink, strided
    for part in parts:
        assert out.send(part)
    with pytest.raises(ValueError, match="complex64"):
        out.send(np.ones(4, np.complex128))
    assert out.next_index == sum(p.size for p in parts)  # a refused array is not counted as sent
    want = np.concatenate(parts)
    first, y = inp.read(want.size, timeout_s=5)
    assert first == 0 and np.array_equal(y, want)
    with pytest.raises(ValueError, match="contiguous complex64"):
        inp.read(4, out=np.empty(4, np.complex128))
    out.close()
    inp.close()


def test_a_sender_closing_on_a_unix_socket_loses_nothing_to_a_reader_that_is_behind(tmp_path, rng):
    """The last messages and END reach a reader whose queue is full when the sender closes.

    libzmq 4.3 discards what the kernel still holds for a Unix-socket reader whose queue is full
    when the writer hangs up; the sender's close must wait for the reader instead. Separate contexts
    (as in two processes); the reader reads slowly so it is always behind.
    """
    import threading
    import time

    x = _noise(rng, 40 * 3000)
    endpoint = f"ipc://{tmp_path}/s"
    tx_ctx, rx_ctx = zmq.Context(), zmq.Context()
    out = StreamOut(tx_ctx, sample_rate_sps=240e3, centre_freq_hz=1545e6, endpoint=endpoint, send_timeout_s=20)
    inp = StreamIn(rx_ctx, out.endpoint, sample_rate_sps=240e3)
    closed = []

    def send() -> None:
        for part in np.split(x, 40):
            assert out.send(part)
        out.close()
        tx_ctx.destroy()
        closed.append(time.monotonic())

    sender = threading.Thread(target=send)
    sender.start()
    got = []
    while True:
        time.sleep(0.005)  # behind: the reader's queue stays full
        _, y = inp.read(4096, timeout_s=5)
        got.append(y.copy())
        if y.size < 4096:
            break
    inp.close()  # the reader hangs up (a process's node closes its inputs first)
    hung_up = time.monotonic()
    sender.join(30)
    assert np.array_equal(np.concatenate(got), x) and inp.ended  # every sample, then END
    assert inp.counters.read_timeouts == 0
    assert closed and closed[0] <= hung_up + 5  # the sender waited for the hang-up, not for its 20 s
    rx_ctx.destroy()
