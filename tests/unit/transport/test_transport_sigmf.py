"""SigMF record/replay: samples, capture segments at index jumps, metadata read back as plain JSON."""

import json

import numpy as np
import pytest

from skycall.errors import SkycallError
from skycall.radio.base import Radio, RadioConfig
from skycall.radio.sigmf_backend import SigMFRecorder, SigMFReplayRadio


def test_record_then_replay_returns_the_same_samples_and_indices(tmp_path, rng):
    x = (rng.standard_normal(5000) + 1j * rng.standard_normal(5000)).astype(np.complex64)
    rec = SigMFRecorder(tmp_path / "cap", 240e3, 1545e6, hw="loopback test")
    rec.write(x[:1000], 100)
    rec.write(x[1000:3000])  # continues at 1100
    rec.write(x[3000:], 90_000)  # sender restarted: a new capture
    meta_path = rec.close()

    meta = json.loads(meta_path.read_text())  # independent of the sigmf library
    assert meta["global"]["core:datatype"] == "cf32_le"
    assert meta["global"]["core:sample_rate"] == 240e3 and meta["global"]["core:hw"] == "loopback test"
    caps = meta["captures"]
    assert [(c["core:sample_start"], c["core:global_index"]) for c in caps] == [(0, 100), (3000, 90_000)]
    assert all(c["core:frequency"] == 1545e6 and c["core:datetime"].endswith("Z") for c in caps)
    assert np.array_equal(np.fromfile(tmp_path / "cap.sigmf-data", np.complex64), x)

    radio = SigMFReplayRadio(meta_path)
    assert isinstance(radio, Radio)
    radio.open()
    radio.configure(RadioConfig(sample_rate_sps=240e3))
    radio.start()
    got = []
    while True:
        first, y = radio.read(1300)
        if y.size == 0:
            break
        got.append((first, y))
    assert [f for f, _ in got] == [100, 1400, 2700, 90_000, 91_300]  # never across a capture boundary
    assert np.array_equal(np.concatenate([y for _, y in got]), x)
    with pytest.raises(SkycallError, match="only receives"):
        radio.write(x)
    with pytest.raises(SkycallError, match="recorded at 240000"):
        radio.configure(RadioConfig(sample_rate_sps=960e3))


def test_replay_of_a_missing_recording_is_a_clear_error(tmp_path):
    with pytest.raises(SkycallError, match="no SigMF recording"):
        SigMFReplayRadio(tmp_path / "nothing").open()
