"""The ``[link]`` (link-budget preset) and ``[channel]`` tables of a flowgraph, and their scenario keys."""

from pathlib import Path

import pytest

from skycall.config.flowgraph import load_flowgraph
from skycall.errors import ConfigErrors

ROOT = Path(__file__).resolve().parents[3]
DEMO = (ROOT / "flowgraphs" / "loopback_call.toml").read_text()


def _flow(tmp_path, text):
    path = tmp_path / "f.toml"
    path.write_text(text)
    return path


def test_defaults_are_set1_tapered_scan_cells_with_interference():
    flow = load_flowgraph(ROOT / "flowgraphs" / "loopback_call.toml")
    assert flow.radio_link.preset == "tr38821-set1"
    assert (flow.beam.taper, flow.beam.cell_layout, flow.beam.reuse) == ("taylor", "scan", 3)
    assert (flow.channel.interference, flow.channel.fading, flow.channel.shadowing) == ("co-channel", "none", "margin")


def test_link_table_with_loopback_streams(tmp_path):
    """``[link] preset = ...``; the loopback wiring then goes in ``[[link.stream]]``."""
    text = DEMO.split("[[link]]", 1)[0] + (
        '[link]\npreset = "tr38821-set2"\n\n'
        '[[link.stream]]\nsrc = "groundstation.tx"\ndst = "handset.rx"\n\n'
        '[[link.stream]]\nsrc = "handset.tx"\ndst = "groundstation.rx"\n'
    )
    flow = load_flowgraph(_flow(tmp_path, text))
    assert flow.radio_link.preset == "tr38821-set2"
    assert [(link.src, link.dst) for link in flow.link] == [("groundstation.tx", "handset.rx"),
                                                            ("handset.tx", "groundstation.rx")]


def test_bad_keys_name_file_and_toml_key(tmp_path):
    body = DEMO.split("[[link]]", 1)[0]
    with pytest.raises(ConfigErrors) as err:
        load_flowgraph(_flow(tmp_path, body + '[link]\npreset = "tr38821-set9"\n'))
    assert "link.preset" in str(err.value) and "tr38821-set1" in str(err.value)
    with pytest.raises(ConfigErrors) as err:
        load_flowgraph(_flow(tmp_path, body + '[channel]\nfading = "nakagami"\nspeed_kmh = -1\nwhatever = 1\n'))
    text = str(err.value)
    assert "channel.fading" in text and "channel.speed_kmh" in text and "channel.whatever" in text
    with pytest.raises(ConfigErrors, match="beam.taper"):
        load_flowgraph(_flow(tmp_path, DEMO.replace("[beam]\n", '[beam]\ntaper = "hann"\n')))


def test_scenario_keys_seeds_and_bearings_expand(tmp_path):
    from skycall.quality.scenario import expand, load_scenario

    suite = tmp_path / "s.toml"
    suite.write_text(f"""
[[scenario]]
name = "fade"
flowgraph = "{ROOT / 'flowgraphs' / 'loopback_call.toml'}"
call_offsets_s = [-100.0, 0.0]
seeds = 3
handset_bearings_deg = [0.0, 120.0]
link_preset = "tr38821-set2"
taper = "uniform"
cell_layout = "nadir"
handset_position = "corner"
fading = "rician"
environment = "urban"
speed_kmh = 30.0
shadowing = "states"
interference = "off"
[scenario.thresholds]
statistical = true
""")
    (sc,) = load_scenario(suite).scenario
    calls = expand(sc)
    assert len(calls) == 2 * 2 * 3
    assert len({c.flow.seed for c in calls}) == 12 and len({c.flow.name for c in calls}) == 12
    f = calls[-1].flow
    assert f.radio_link.preset == "tr38821-set2" and (f.beam.taper, f.beam.cell_layout) == ("uniform", "nadir")
    assert f.beam.handset_position == "corner" and f.beam.handset_bearing_deg == 120.0
    assert (f.channel.fading, f.channel.environment, f.channel.speed_kmh, f.channel.shadowing,
            f.channel.interference) == ("rician", "urban", 30.0, "states", "off")
    assert sc.thresholds.statistical
