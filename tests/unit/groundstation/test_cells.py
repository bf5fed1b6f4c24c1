"""Cell layouts and tapers: what co-channel interference costs at the demo's geometry and what the
scan-sized layout and the Taylor taper buy (C/I = G_0 / Σ G_i at the handset)."""

import dataclasses
from pathlib import Path

import pytest

from groundstation.cells import DESIGN_ELEVATION_DEG
from groundstation.scenario import build_scenario
from skycall.config.flowgraph import load_flowgraph

DEMO = Path(__file__).resolve().parents[3] / "flowgraphs" / "loopback_call.toml"


def _c_over_i(taper, layout, reuse=3, offset_s=-100.0):
    base = load_flowgraph(DEMO)
    flow = dataclasses.replace(base, duration_s=1.0, pass_=dataclasses.replace(base.pass_, call_offset_s=offset_s),
                               beam=dataclasses.replace(base.beam, taper=taper, cell_layout=layout, reuse=reuse))
    sc = build_scenario(flow)
    return float(sc.trajectory.c_over_i_db[0]), sc


def test_demo_geometry_c_over_i_by_design():
    """48° scan, 38° elevation: nadir-spaced cells put the co-channel neighbours in the main lobe (the
    reviewed −1…+3.5 dB; −2 dB with the fourth ring of beams); sizing the cells for the scanned
    footprint and tapering the array make the link usable."""
    uniform_nadir, sc = _c_over_i("uniform", "nadir")
    assert -4.0 < uniform_nadir < 3.5
    uniform_scan, _ = _c_over_i("uniform", "scan")
    taylor_scan, sc = _c_over_i("taylor", "scan")
    assert uniform_nadir + 8.0 < uniform_scan < taylor_scan - 2.0
    assert taylor_scan > 12.0
    assert _c_over_i("taylor", "scan", reuse=7)[0] > taylor_scan + 5.0
    cells = sc.cells
    assert cells.stretch > 2.0  # ≈ 289 × 123 km: the footprint is stretched toward the satellite
    assert cells.design_elevation_deg == pytest.approx(float(sc.trajectory.elevation_deg[0]), abs=1.0)


def test_low_calls_size_their_cells_at_the_reference_elevation():
    """A call starting at 13° (whose footprint spills over the horizon) gets the grid of the same pass
    half at 30°, TR 38.821's LEO reference elevation; its own C/I is then low: the honest cost."""
    c_over_i, sc = _c_over_i("taylor", "scan", offset_s=-250.0)
    assert sc.trajectory.elevation_deg[0] < 15.0
    assert sc.cells.design_elevation_deg == pytest.approx(DESIGN_ELEVATION_DEG, abs=0.01)
    assert c_over_i < 0.0
