import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skycall.vocoder.playout import PlayoutBuffer, PlayoutError

TICK = 320  # samples per 40 ms at 8 kHz


def _payload(u):
    return u.to_bytes(4, "little")


def _run(buf, arrivals, n_ticks, seq_bits=12):
    """arrivals: {tick: [(unwrapped_seq, payload_or_None), ...]}; pushes then one pop per tick."""
    out = []
    for t in range(n_ticks):
        for u, p in arrivals.get(t, []):
            buf.push(u % (1 << seq_bits), p, t * TICK)
        out.append(buf.pop(t * TICK))
    return out


def test_in_order_stream_plays_after_target_depth_with_constant_delay():
    buf = PlayoutBuffer(target_depth_frames=3)
    out = _run(buf, {t: [(t, _payload(t))] for t in range(20)}, 20)
    assert out[:2] == [None, None]
    assert out[2:] == [_payload(u) for u in range(18)]
    assert buf.stats.played == 18 and buf.stats.lost == 0
    assert buf.stats.mean_delay_samples == buf.stats.delay_max_samples == 2 * TICK


def test_reorders_within_depth():
    order = [1, 0, 3, 2, 5, 4, 7, 6, 9, 8]
    buf = PlayoutBuffer(target_depth_frames=3)
    out = _run(buf, {t: [(u, _payload(u))] for t, u in enumerate(order)}, 12)
    assert [p for p in out if p is not None] == [_payload(u) for u in range(10)]
    assert buf.stats.lost == buf.stats.late == 0


def test_duplicates_are_dropped_and_counted():
    arrivals = {t: [(t, _payload(t))] for t in range(10)}
    arrivals[4].append((3, _payload(3)))  # still buffered
    arrivals[8].append((2, _payload(2)))  # already played
    buf = PlayoutBuffer(target_depth_frames=3)
    out = _run(buf, arrivals, 12)
    assert [p for p in out if p is not None] == [_payload(u) for u in range(10)]
    assert buf.stats.duplicate == 2 and buf.stats.received == 10


def test_missing_frames_conceal_and_late_arrivals_are_counted():
    arrivals = {t: [(t, _payload(t))] for t in range(12) if t not in (4, 7)}
    arrivals[11].append((7, _payload(7)))  # slot 7 was played at tick 9
    arrivals[5].append((4, None))  # receiver flags frame 4 as corrupt
    buf = PlayoutBuffer(target_depth_frames=3)
    out = _run(buf, arrivals, 14)
    assert out[2 + 4] is None and out[2 + 7] is None
    assert (buf.stats.erased, buf.stats.lost, buf.stats.late) == (1, 1, 1)
    assert buf.stats.played == 10


def test_sequence_number_wraps():
    first = 4090
    buf = PlayoutBuffer(target_depth_frames=2)
    arrivals = {t: [(first + t, _payload(first + t))] for t in range(14)}
    out = _run(buf, arrivals, 15)
    assert [p for p in out if p is not None] == [_payload(first + t) for t in range(14)]
    assert buf.stats.lost == 0


def test_jump_far_ahead_skips_forward():
    arrivals = {t: [(t, _payload(t))] for t in range(5)}
    arrivals[5] = [(100, _payload(100))]
    buf = PlayoutBuffer(target_depth_frames=3, max_depth_frames=20)
    out = _run(buf, arrivals, 8)
    assert _payload(100) in out
    assert buf.stats.skipped == 100 - 2 - 3  # playout point was 3, moves to 100 - 2


@settings(max_examples=60, deadline=None)
@given(
    jitter=st.lists(st.integers(0, 5), min_size=6, max_size=60),
    depth=st.integers(1, 6),
    first=st.integers(0, 4095),
)
def test_matches_closed_form_schedule(jitter, depth, first):
    """Frame k sent at tick k arrives at tick k + j_k. Playout starts at the first tick T0 whose
    received frames span >= depth seqs, with s0 = the lowest of them; frame k is played iff
    k + j_k <= T0 + (k - s0), else it is late (if it arrives at all within the run)."""
    n = len(jitter)
    arrive = [k + j for k, j in enumerate(jitter)]
    n_ticks = n + 10
    arrivals = {}
    for k, a in enumerate(arrive):
        arrivals.setdefault(a, []).append((first + k, _payload(k)))
    buf = PlayoutBuffer(target_depth_frames=depth)
    out = _run(buf, arrivals, n_ticks)

    def received_by(t):
        return [k for k in range(n) if arrive[k] <= t]

    t0 = next(t for t in range(n_ticks) if received_by(t) and np.ptp(received_by(t)) + 1 >= depth)
    s0 = min(received_by(t0))
    expected = [None] * n_ticks
    for k in range(s0, n):
        if arrive[k] <= t0 + (k - s0) and t0 + (k - s0) < n_ticks:
            expected[t0 + k - s0] = _payload(k)
    assert out == expected
    assert buf.stats.played == sum(p is not None for p in expected)


def test_bad_configuration_and_seq():
    with pytest.raises(PlayoutError, match="target_depth_frames"):
        PlayoutBuffer(target_depth_frames=0)
    with pytest.raises(PlayoutError, match="max_depth_frames"):
        PlayoutBuffer(target_depth_frames=5, max_depth_frames=3000)
    with pytest.raises(PlayoutError, match="outside 0..4095"):
        PlayoutBuffer().push(4096, b"x", 0)


def test_reset_forgets_everything():
    buf = PlayoutBuffer(target_depth_frames=1)
    _run(buf, {0: [(0, b"a")]}, 2)
    buf.reset()
    assert not buf.started and buf.stats.played == 0 and buf.depth_frames == 0
    assert np.isnan(buf.stats.mean_delay_samples)
