"""Per-scenario distributions of a campaign (outage, percentiles) and statistical scenarios' judging."""

import numpy as np
import pytest

from skycall.quality.campaign import judge
from skycall.quality.report import distributions
from skycall.quality.scenario import Thresholds


def _row(scenario, connected, pesq=None, fer=None, sinr=0.0, held=None):
    return {"scenario": scenario, "call_connected": connected, "call_held": held, "dl_pesq_nb": pesq,
            "ul_pesq_nb": pesq, "dl_fer": fer, "ul_fer": fer, "sinr_db_min": sinr, "fading": "rician:urban",
            "interference": "co-channel"}


def test_outage_and_percentiles_per_scenario():
    rng = np.random.default_rng(1)
    pesq = rng.uniform(1.5, 3.0, 20)
    rows = [_row("a", True, p, 0.01 * i, sinr=float(i)) for i, p in enumerate(pesq)]
    rows += [_row("a", False, sinr=-5.0) for _ in range(5)] + [_row("b", True, 2.5, 0.0, held=False)]
    d = distributions(rows)
    assert d["a"]["calls"] == 25 and d["a"]["outage"] == pytest.approx(5 / 25)
    for q in (10, 50, 90):  # over the connected calls only
        assert d["a"]["dl_pesq_nb"][f"p{q}"] == pytest.approx(np.percentile(pesq, q))
        assert d["a"]["dl_fer"][f"p{q}"] == pytest.approx(np.percentile(0.01 * np.arange(20), q))
    assert d["a"]["sinr_db_min"]["p10"] == pytest.approx(np.percentile([*range(20), *[-5.0] * 5], 10))
    assert d["b"]["outage"] == 1.0  # connected but not held to its hang-up
    assert d["a"]["fading"] == ["rician:urban"]


def test_statistical_scenarios_let_calls_fail_to_connect():
    summary = {"call_connected": False, "failure_reason": "faded"}
    assert judge(Thresholds(), summary)  # an ordinary scenario fails the call
    assert judge(Thresholds(statistical=True), summary) == []
    connected = {"call_connected": True, "dl": {"pesq_nb": 2.0, "codec_ceiling_pesq_nb": 2.9, "fer": 0.2}}
    assert judge(Thresholds(statistical=True, max_fer=0.1), connected)  # connected calls keep their limits
