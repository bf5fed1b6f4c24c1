"""A radio in slots: whole slots only, jumps after lost samples, the answer written at slot·N + lead."""

import numpy as np

from skycall.radio.base import RadioCounters
from skycall.radio.slots import SlotRadio

FS = 240e3  # baseband rate: no resampling, so samples can be followed exactly
N = 9600


class FakeRadio:
    """Hands out ``(first, samples)`` chunks as scripted; records writes."""

    def __init__(self, chunks):
        self.chunks, self.writes, self.counters = list(chunks), [], RadioCounters()

    def read(self, n, timeout_s=None):
        first, x = self.chunks.pop(0)
        if len(x) > n:
            self.chunks.insert(0, (first + n, x[n:]))
            x = x[:n]
        return first, x

    def write(self, samples, first_sample_index=None):
        self.writes.append((first_sample_index, len(samples)))


def _ramp(first, n):
    return (np.arange(first, first + n) % 1000 / 1000).astype(np.complex64)


def test_slots_follow_the_receive_index_and_skip_what_a_discontinuity_touched():
    chunks = [(0, _ramp(0, 2 * N)),  # slots 0 and 1 whole
              (2 * N, _ramp(2 * N, 500)),  # slot 2 starts...
              (2 * N + 3000, _ramp(2 * N + 3000, 3 * N))]  # ... 2500 samples lost in it: slot 2 gone
    radio = SlotRadio(FakeRadio(chunks), "p", FS, tx_lead_s=0.1)
    got = [radio.read() for _ in range(3)]
    assert [g[0] for g in got] == [0, 1, 3]
    for slot, x in got:
        np.testing.assert_array_equal(x, _ramp(slot * N, N))  # the samples of exactly that slot
    radio.write(3, np.zeros(N, np.complex64))
    assert radio.radio.writes == [(3 * N + 24_000, N)]
    times = radio.slot_time_array(5)
    assert np.isnan(times[2]) and np.isnan(times[4]) and np.isfinite(times[[0, 1, 3]]).all()
    assert radio.levels.summary()["rx_rms_dbfs"] is not None


def test_status_and_summary_carry_the_counters_and_levels():
    fake = FakeRadio([(0, _ramp(0, N))])
    fake.counters.gap(12345, 678, 1.0)
    fake.counters.overflows, fake.counters.underflows = 1, 2
    radio = SlotRadio(fake, "groundstation", FS, own_clock=True)
    radio.read()
    status = radio.status()
    assert {k: status[k] for k in ("proc", "overflows", "underflows", "lost_samples", "discontinuities")} == {
        "proc": "groundstation", "overflows": 1, "underflows": 2, "lost_samples": 678, "discontinuities": 1}
    assert -12 < status["rx_rms_dbfs"] < 0 and status["rx_peak_dbfs"] <= 0 and status["clipped"] == 0
    summary = radio.summary()
    assert summary["discontinuity_list"] == [{"index": 12345, "lost_samples": 678, "time_s": 1.0}]
    assert summary["own_clock"] is True and summary["clipped"] == 0


def test_a_weak_level_warns_on_an_adc_and_not_on_a_loopback_stream(caplog):
    weak = np.full(N, 1e-4, np.complex64)  # -80 dBFS: below the level window
    for adc, warned in ((True, True), (False, False)):
        caplog.clear()
        radio = SlotRadio(FakeRadio([(0, weak)]), "p", FS, adc=adc)
        radio.read()
        status = radio.status()
        assert abs(status["rx_rms_dbfs"] + 80.0) < 0.01
        assert any("weak" in r.getMessage() for r in caplog.records) is warned
