"""Uplink timing: the phone's downlink-derived timing minus a bounded TA, the satellite's window."""

from types import SimpleNamespace

import numpy as np
import pytest

from groundstation.compensation import compensated_delay_s
from groundstation.uplink_window import UplinkWindow
from handset_emu.uplink_timing import UplinkTiming
from skycall.call.messages import MsgType, SystemInfo, pack_ta, unpack_ta
from skycall.call.session import HandsetSession, NetworkSession
from skycall.call.timing import SLEW_S_PER_SLOT, TA_MAX_S, TA_REF_S, TA_UPDATE_S, WINDOW_S, common_ta_s

FS, N = 240_000.0, 9600


def _frame(index, kind=MsgType.VOICE, ok=True):
    return SimpleNamespace(sample_index=index, type=int(kind), crc_ok=ok, seq=0, call_id=0x2A17, payload=b"")


def test_ta_limit_is_lte_rar_range():
    assert TA_MAX_S == pytest.approx(0.6677e-3, rel=1e-3)  # 1282 x 16 Ts, Ts = 1/30.72 MHz: a 100 km cell
    assert common_ta_s(3e-3, True) == pytest.approx(6e-3 - TA_MAX_S / 2)
    assert common_ta_s(3e-3, False) == 0.0


def test_phone_sends_at_its_downlink_timing_minus_ta():
    t = UplinkTiming(FS, N, terrestrial=True)
    t.observe([_frame(k * N + 700) for k in range(5)])
    x = (np.arange(N) + 1.0).astype(np.complex64)
    y = t.process(x, 100 / FS)  # delay 700 - 100 = 600 samples
    assert np.all(y[:600] == 0) and np.array_equal(y[600:], x[: N - 600])
    y2 = t.process(x, 100 / FS)
    assert np.array_equal(y2[:600], x[N - 600 :])  # the previous slot's tail comes first


def test_phone_slews_while_transmitting_and_clamps_its_ta():
    t = UplinkTiming(FS, N, terrestrial=True)
    t.observe([_frame(700)])
    x = np.ones(N, np.complex64)
    t.process(x, 0.0)
    assert t.delay_samples == 700
    t.process(x, 60 / FS)  # TA +60 samples while on air: at most SLEW per slot
    step = round(SLEW_S_PER_SLOT * FS)
    assert t.delay_samples == 700 - step
    for _ in range(60):
        t.process(x, 60 / FS)
    assert t.delay_samples == 640
    assert t.timing_advance_s(-1e-3, None) == 0.0 and t.timing_advance_s(5e-3, None) == TA_MAX_S
    ntn = UplinkTiming(FS, N, terrestrial=False)
    ntn.observe([_frame(1200)])  # NTN: 2δ - W0 from the broadcast common TA, no bound
    assert ntn.timing_advance_s(1e-6, 0.0) == pytest.approx(2 * 1200 / FS + 1e-6)


def test_window_admits_by_timing_and_commands_ta():
    w0 = common_ta_s(2.5e-3, True)
    win = UplinkWindow(FS, N, w0)
    net = NetworkSession(sat_id=1, beam_id=0)
    net.ue_id = 0x2A17
    base = round(w0 * FS) + 3 * N
    late = base + round(0.9 * TA_MAX_S * FS)
    assert win.admit(3, [_frame(late, MsgType.ACCESS)], net) and net.access_ta_s == pytest.approx(0.9 * TA_MAX_S,
                                                                                                   abs=1 / FS)
    assert not win.admit(4, [_frame(base + N + round(1.1 * TA_MAX_S * FS), MsgType.ACCESS)], net)
    assert win.admit(20, [_frame(base + 17 * N + round(0.9 * WINDOW_S * FS))], net)
    assert not win.admit(21, [_frame(base + 18 * N + round(1.2 * WINDOW_S * FS))], net)
    assert win.rejected == 2
    err = 2 * TA_UPDATE_S  # consistently late by half a symbol: one TA command, then hold-off
    for k in range(30, 40):
        win.admit(k, [_frame(base + (k - 3) * N + round(err * FS))], net)
    cmds = [e for e in net.events if e["t"] == "timing_advance"]
    assert len(cmds) == 1 and cmds[0]["delta_us"] == pytest.approx(err * 1e6, abs=5.0)
    assert net.answers[-1].type == MsgType.TIMING_ADVANCE
    assert unpack_ta(net.answers[-1].payload) == pytest.approx(err, abs=1e-9 + 1 / FS)


def test_sessions_carry_the_timing_advance():
    hs = HandsetSession(ue_id=7)
    hs.on_frame(0, SimpleNamespace(type=int(MsgType.BEACON), crc_ok=True, call_id=0, seq=0,
                                   payload=SystemInfo(1, 2, 0, 0, 5_000_000).pack()))
    assert hs.system_info.common_ta_ns == 5_000_000 and hs.state == "registering"
    hs.on_frame(2, SimpleNamespace(type=int(MsgType.ACCESS_ACK), crc_ok=True, call_id=7, seq=1,
                                   payload=pack_ta(300e-6)))
    assert hs.state == "idle" and hs.network_ta_s == pytest.approx(300e-6)
    hs.on_frame(9, SimpleNamespace(type=int(MsgType.TIMING_ADVANCE), crc_ok=True, call_id=7, seq=2,
                                   payload=pack_ta(-20e-6)))
    assert hs.network_ta_s == pytest.approx(280e-6)


def test_delay_compensation_leaves_the_differential_delay():
    tau_h = np.array([6.7e-3, 4.0e-3, 2.1e-3, 4.1e-3])
    tau_c = np.array([6.6e-3, 4.02e-3, 2.1e-3, 4.2e-3])
    delay, tau0 = compensated_delay_s(tau_h, tau_h - tau_c)
    assert tau0 == pytest.approx(6.6e-3)
    np.testing.assert_allclose(delay, tau0 + tau_h - tau_c)
    # an unmodified phone at differential delay Δτ needs TA = TA_REF + 2Δτ: inside [0, TA_MAX] for |Δτ| ≤ TA_MAX/4
    assert 0.0 <= TA_REF_S + 2 * (tau_h - tau_c).min() and TA_REF_S + 2 * (tau_h - tau_c).max() <= TA_MAX_S
