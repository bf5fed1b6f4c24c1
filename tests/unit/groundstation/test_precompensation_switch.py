"""Beam-centre compensation switched live at a slot boundary (the dashboard's pre-compensation switch).

References: two paths that never switch (always on, always off), fed the same samples. The switched
downlink must equal the always-on path until the switch reaches the phone, one propagation delay
after the boundary (the samples in flight were compensated when they left), and the always-off path
from then on; the uplink compensates after the channel, so its switch is exact at the boundary.
"""

import numpy as np
import pytest

from groundstation.pass_channel import PassPath, PassTables
from groundstation.satellite import Satellite

FS = 240_000.0
SLOT = 9600
DELAY_S = 0.002  # 480 samples


def _tables() -> PassTables:
    index = np.array([0, 40 * SLOT], np.int64)
    return PassTables(index, np.array([26_000.0, 24_000.0]), np.array([25_800.0, 23_900.0]),
                      np.array([DELAY_S, DELAY_S + 1e-6]), np.array([12.0, 12.0]))


def _path(compensate: bool, uplink: bool) -> PassPath:
    rng = np.random.default_rng(5) if uplink else None
    return PassPath(_tables(), FS, 20, 1e-6, compensate, uplink, rng)


def _run(path: PassPath, x: np.ndarray, switch_slot: int | None = None, on_after: bool = False) -> np.ndarray:
    out = []
    for k in range(len(x) // SLOT):
        if k == switch_slot:
            path.compensate = on_after
        out.append(path.process(x[k * SLOT : (k + 1) * SLOT], k * SLOT))
    return np.concatenate(out)


@pytest.mark.parametrize("uplink", [False, True])
def test_switch_off_at_a_slot_boundary_follows_the_never_switched_paths(rng, uplink):
    x = (rng.standard_normal(6 * SLOT) + 1j * rng.standard_normal(6 * SLOT)).astype(np.complex64)
    on, off = _run(_path(True, uplink), x), _run(_path(False, uplink), x)
    switched = _run(_path(True, uplink), x, switch_slot=3, on_after=False)
    edge = 3 * SLOT + (0 if uplink else int(DELAY_S * FS))  # where the switch reaches the path's output
    guard = 0 if uplink else 4  # the fractional-delay interpolator straddles the edge
    np.testing.assert_array_equal(switched[: edge - guard], on[: edge - guard])
    np.testing.assert_array_equal(switched[edge + guard :], off[edge + guard :])
    assert not np.allclose(on[edge + guard :], off[edge + guard :])  # the switch is visible at all


def test_switch_back_on_is_phase_continuous_with_the_always_on_path(rng):
    """Compensation's phase is a function of the sample index: on → off → on rejoins the on path."""
    x = (rng.standard_normal(8 * SLOT) + 1j * rng.standard_normal(8 * SLOT)).astype(np.complex64)
    on = _run(_path(True, False), x)
    path = _path(True, False)
    out = []
    for k in range(8):
        path.compensate = not 2 <= k < 5
        out.append(path.process(x[k * SLOT : (k + 1) * SLOT], k * SLOT))
    back = 5 * SLOT + int(DELAY_S * FS) + 4
    np.testing.assert_array_equal(np.concatenate(out)[back:], on[back:])


def test_state_reports_the_residual_the_phone_sees():
    path = _path(True, False)
    s = path.state(20 * SLOT)  # half-way: Doppler 25 kHz, centre 24.85 kHz
    assert s["doppler_hz"] == pytest.approx(25_000.0) and s["centre_doppler_hz"] == pytest.approx(24_850.0)
    assert s["residual_hz"] == pytest.approx(150.0) and s["precompensation"] is True
    path.compensate = False
    assert path.state(20 * SLOT)["residual_hz"] == pytest.approx(25_000.0)


def test_satellite_switch_takes_both_directions_and_refuses_non_booleans():
    sat = Satellite.__new__(Satellite)  # only the two paths matter here
    sat.dl_path, sat.ul_path = _path(True, False), _path(True, True)
    assert sat.set_precompensation(False) == {"precompensation": False}
    assert not sat.dl_path.compensate and not sat.ul_path.compensate
    with pytest.raises(ValueError, match="true or false"):
        sat.set_precompensation("off")
    assert not sat.dl_path.compensate


def test_satellite_switch_reaches_the_pass_paths_inside_the_handset_channel(repo_root):
    """With [channel] stages wrapped around the pass paths, the switch still reaches the rotators."""
    from groundstation.build import build_satellite
    from skycall.call.build import Speech
    from skycall.config.flowgraph import load_flowgraph

    flow = load_flowgraph(repo_root / "flowgraphs" / "loopback_call.toml")
    silence = np.zeros(8000, np.float32)
    sat, _ = build_satellite(flow, Speech(dl=silence, ul=silence))
    sat.set_precompensation(False)
    assert sat.dl_path.path.compensate is False and sat.ul_path.path.compensate is False
    assert sat.dl_path.state(0)["residual_hz"] == pytest.approx(sat.dl_path.state(0)["doppler_hz"])
