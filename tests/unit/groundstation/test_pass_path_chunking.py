"""The pass paths with their receiver noise are functions of the absolute sample index: slot-sized,
odd-sized and one-shot processing give the same bits (the noise included), and the noise has the
power the Es/N0 refers to."""

import numpy as np
import pytest

from groundstation.handset_channel import HandsetDownlink
from groundstation.pass_channel import PassPath, PassTables

FS = 240_000.0
N = 12 * 9600


def _tables() -> PassTables:
    index = np.array([0, N], np.int64)
    return PassTables(index, np.array([26_000.0, 24_000.0]), np.array([25_800.0, 23_900.0]),
                      np.array([0.002, 0.002 + 1e-6]), np.array([12.0, 9.0]))


class _Quality:
    def at(self, t_s, gain_db):
        return {"sinr_db": 0.0}


def _uplink() -> PassPath:
    return PassPath(_tables(), FS, 20, 1e-3, True, uplink=True, rng=np.random.default_rng(5))


def _downlink_with_noise() -> HandsetDownlink:
    path = PassPath(_tables(), FS, 20, 1e-3, True, uplink=False)
    return HandsetDownlink(path, None, None, _Quality(), FS, noise_rng=np.random.default_rng(6))


def _chunked(model, x: np.ndarray, sizes) -> np.ndarray:
    out, pos = [], 0
    for size in sizes:
        out.append(model.process(x[pos : pos + size], pos))
        pos += size
    return np.concatenate(out)


@pytest.mark.parametrize("make", [_uplink, _downlink_with_noise], ids=["uplink", "downlink+noise"])
def test_slot_odd_and_one_shot_chunking_give_the_same_bits(make, rng):
    x = ((rng.standard_normal(N) + 1j * rng.standard_normal(N)) / np.sqrt(2)).astype(np.complex64)
    one = make().process(x, 0)
    odd = np.diff(np.r_[0, np.sort(rng.choice(np.arange(1, N), 30, replace=False)), N])
    np.testing.assert_array_equal(_chunked(make(), x, [9600] * 12), one)
    np.testing.assert_array_equal(_chunked(make(), x, odd), one)
    w = make().process(np.zeros_like(x), 0)  # silence in: the receiver noise alone, at its power
    assert np.mean(np.abs(w) ** 2) == pytest.approx(1e-3, rel=0.02)
