"""Sweep grids: the cartesian product of the axes, every point's calls named and seeded, bad grids refused."""

import itertools
from pathlib import Path

import pytest

from skycall.errors import ConfigError, ConfigErrors
from skycall.quality.scenario import expand, load_scenario

ROOT = Path(__file__).resolve().parents[3]
FLOW = ROOT / "flowgraphs" / "loopback_call.toml"
TLE = ROOT / "groundstation" / "data" / "skycall-1.tle"


def _suite(tmp_path, sweep: str, extra: str = "") -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(f"""
[[scenario]]
name = "grid"
flowgraph = "{FLOW}"
call_offsets_s = [-100.0, 0.0, 100.0]
seed = 5
{extra}
[scenario.sweep]
{sweep}
""")
    return path


def test_grid_expands_to_the_product_in_file_order(tmp_path):
    sites = [(48.1, 11.6), (40.4, -3.7), (-33.9, 151.2)]
    days = ["2026-01-01T00:00:00Z", "2026-03-01T06:00:00Z"]
    cells = [(0.0, 0.0), (20.0, 90.0)]
    path = _suite(tmp_path, f"""
seed = [100, 200]
start_utc = {days!r}
site = [{", ".join(f"{{observer_lat_deg = {a}, observer_lon_deg = {b}}}" for a, b in sites)}]
cell = [{", ".join(f"{{handset_offset_km = {d}, handset_bearing_deg = {b}}}" for d, b in cells)}]
""".replace("'", '"'), extra=f'tle = "{TLE}"')
    (sc,) = load_scenario(path).scenario
    calls = expand(sc)
    offsets = [-100.0, 0.0, 100.0]
    grid = list(itertools.product([100, 200], days, range(3), range(2), range(3)))
    assert len(calls) == 2 * 2 * 3 * 2 * 3 == len(grid)
    assert len({c.flow.name for c in calls}) == len(calls)  # nothing merged, nothing dropped
    for call, (seed, day, site, cell, i) in zip(calls, grid, strict=True):
        flow = call.flow
        assert flow.name == f"grid[seed={seed},start_utc={day},site={site},cell={cell}]@{offsets[i]:+g}s"
        assert flow.seed == seed + i and call.call_offset_s == offsets[i] == flow.pass_.call_offset_s
        assert flow.pass_.start_utc == day and flow.pass_.tle == str(TLE)
        assert (flow.pass_.observer_lat_deg, flow.pass_.observer_lon_deg) == sites[site]
        assert (flow.beam.handset_offset_km, flow.beam.handset_bearing_deg) == cells[cell]
        assert call.scenario.name == "grid"  # rows group by the scenario, points differ by their coordinates
        assert dict(call.scenario.sweep_point) == {
            "seed": seed, "start_utc": day, "site": site, "site.observer_lat_deg": sites[site][0],
            "site.observer_lon_deg": sites[site][1], "cell": cell, "cell.handset_offset_km": cells[cell][0],
            "cell.handset_bearing_deg": cells[cell][1]}


def test_any_scenario_key_sweeps_and_values_are_converted(tmp_path):
    path = _suite(tmp_path, 'vocoder = ["opus", "codec2"]\nesn0_offset_db = [-3, 0]\nprecompensation = [true, false]')
    calls = expand(load_scenario(path).scenario[0])
    assert len(calls) == 2 * 2 * 2 * 3
    assert {(c.flow.call.vocoder, c.flow.beam.esn0_offset_db, c.flow.beam.precompensation) for c in calls} == set(
        itertools.product(["opus", "codec2"], [-3.0, 0.0], [True, False]))
    assert all(isinstance(c.flow.beam.esn0_offset_db, float) for c in calls)


def test_a_plain_scenario_is_unchanged(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(f'[[scenario]]\nname = "p"\nflowgraph = "{FLOW}"\ncall_offsets_s = [-50.0, 50.0]\n')
    calls = expand(load_scenario(path).scenario[0])
    assert [c.flow.name for c in calls] == ["p@-50s", "p@+50s"] and [c.flow.seed for c in calls] == [1, 2]
    assert all(c.scenario.sweep_point == () for c in calls)


@pytest.mark.parametrize("sweep, key, words", [
    ("handset_offset_km = [5.0, 900.0]", "scenario[0].sweep.handset_offset_km[1]", "out of range"),
    ('vocoder = ["opus", "amr"]', "scenario[0].sweep.vocoder[1]", "not one of"),
    ("seed = [1, 2]", "scenario[0].sweep.seed", "closer than the 3 consecutive seeds"),
    ("seed = [1, 1]", "scenario[0].sweep.seed", "duplicate"),
    ("name = [\"a\", \"b\"]", "scenario[0].sweep.name", "cannot be swept"),
    ("call_offsets_s = [[0.0]]", "scenario[0].sweep.call_offsets_s", "cannot be swept"),
    ("seed = []", "scenario[0].sweep.seed", "non-empty list"),
    ("site = [1, 2]", "scenario[0].sweep.site[0]", "must be tables of scenario keys"),
    ("site = [{observer_lat = 1.0}]", "scenario[0].sweep.site[0].observer_lat", "not a sweepable"),
    ("site = [{observer_lat_deg = 91.0}]", "scenario[0].sweep.site[0].observer_lat_deg", "out of range"),
    ('start_utc = ["2026-13-01T00:00:00Z"]', "scenario[0].sweep.start_utc[0]", "ISO 8601"),
    ('tle = ["missing.tle"]', "scenario[0].sweep.tle[0]", "does not exist"),
    ("handset_offset_km = [1.0]\ncell = [{handset_offset_km = 2.0}]", "scenario[0].sweep.cell",
     "which sweep axis 'handset_offset_km' sets too"),
])
def test_bad_grids_name_file_and_key(tmp_path, sweep, key, words):
    path = _suite(tmp_path, sweep)
    with pytest.raises((ConfigError, ConfigErrors)) as info:
        load_scenario(path)
    err = info.value.errors[0] if isinstance(info.value, ConfigErrors) else info.value
    assert err.file == str(path) and err.key == key and words in err.message, str(info.value)


def test_seed_spacing_counts_calls_per_point(tmp_path):
    path = _suite(tmp_path, "seed = [1, 4, 7]")  # 3 offsets per point: 1..3, 4..6, 7..9 do not overlap
    seeds = [c.flow.seed for c in expand(load_scenario(path).scenario[0])]
    assert sorted(seeds) == list(range(1, 10))


def test_documented_example_expands_as_documented(tmp_path):
    """docs/campaigns.md's sweep example loads, validates and gives the call count the page states."""
    import re

    text = (ROOT / "docs" / "campaigns.md").read_text()
    (example,) = [b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if "[scenario.sweep]" in b]
    (tmp_path / "scenarios").mkdir()
    for name in ("flowgraphs", "groundstation", "hw_profiles"):
        (tmp_path / name).symlink_to(ROOT / name)
    path = tmp_path / "scenarios" / "survey.toml"
    path.write_text(example)
    (sc,) = load_scenario(path).scenario
    calls = expand(sc)
    points, n_calls = re.search(r"That is [\d × ]+ = (\d+) points, (\d+) calls", text).groups()
    assert len(calls) == int(n_calls) == 3 * int(points) and len({c.flow.name for c in calls}) == len(calls)
    assert any(c.flow.name == "cell-survey[seed=101,start_utc=2026-06-02T00:00:00Z,site=1,cell=2,vocoder=opus]@+0s"
               for c in calls)
