"""Every shipped profile/flowgraph loads; broken ones give one clear line naming file and key."""

import subprocess
import sys
from pathlib import Path

import pytest

from skycall.config.flowgraph import load_flowgraph
from skycall.config.hw_profile import load_hw_profile
from skycall.config.validate_cli import validate_file
from skycall.errors import ConfigError, ConfigErrors

ROOT = Path(__file__).resolve().parents[3]
PROFILES = sorted((ROOT / "hw_profiles").glob("*.toml"))
FLOWGRAPHS = sorted((ROOT / "flowgraphs").glob("*.toml"))


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_shipped_profiles_load(path):
    prof = load_hw_profile(path)
    assert prof.freq_min_hz < prof.freq_max_hz
    assert validate_file(path) == []


@pytest.mark.parametrize("path", FLOWGRAPHS, ids=lambda p: p.name)
def test_shipped_flowgraphs_load(path):
    flow = load_flowgraph(path)
    assert (flow.process or flow.srsran) and set(flow.profiles) == {p.name for p in flow.process}


def test_expected_files_shipped():
    assert {p.name for p in PROFILES} >= {"pluto.toml", "hackrf.toml", "loopback.toml"}
    assert {p.name for p in FLOWGRAPHS} >= {
        "loopback_call.toml",
        "lab_pluto_pluto.toml",
        "lab_pluto_hackrf.toml",
    }


def test_real_device_facts():
    pluto, hackrf = load_hw_profile("pluto"), load_hw_profile("hackrf")
    assert pluto.sample_rate_min_sps == pytest.approx(521e3) and pluto.duplex == "full"
    assert pluto.tx_full_scale == 2**14 and pluto.crystal_tolerance_ppm == 25
    assert (
        hackrf.duplex == "half" and hackrf.sample_rate_min_sps == 2e6 and hackrf.crystal_tolerance_ppm == 20
    )


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def _profile_text(**over):
    base = (ROOT / "hw_profiles" / "pluto.toml").read_text()
    for key, value in over.items():
        base = base.replace(f"\n{key} =", f"\n{key} = {value}\n#", 1)
    return base


BROKEN_PROFILES = [
    ({"duplex": '"simplex"'}, "duplex", "not one of"),
    ({"crystal_tolerance_ppm": "-3.0"}, "crystal_tolerance_ppm", "out of range"),
    ({"freq_min_hz": '"low"'}, "freq_min_hz", "expected a number"),
    ({"freq_max_hz": "100e6"}, "freq_max_hz", "above freq_min_hz"),
]


@pytest.mark.parametrize(("over", "key", "words"), BROKEN_PROFILES)
def test_broken_profile_messages(tmp_path, over, key, words):
    path = _write(tmp_path, "bad.toml", _profile_text(**over))
    lines = validate_file(path)
    assert len(lines) == 1, lines
    assert str(path) in lines[0] and key in lines[0] and words in lines[0]


def test_unknown_key_lists_allowed(tmp_path):
    path = _write(tmp_path, "bad.toml", "frobnicate = 3\n" + _profile_text())
    (line,) = validate_file(path)
    assert "frobnicate" in line and "unknown key" in line and "sample_rate_min_sps" in line


def test_nested_key_named(tmp_path):
    text = _profile_text().replace("max_gain_db = -10.0", 'max_gain_db = "loud"')
    (line,) = validate_file(_write(tmp_path, "bad.toml", text))
    assert "tx_guard.max_gain_db" in line


def test_toml_syntax_error(tmp_path):
    (line,) = validate_file(_write(tmp_path, "bad.toml", "name = \n"))
    assert "bad.toml" in line and "not valid TOML" in line


def _flow(tmp_path, text):
    return _write(tmp_path, "flow.toml", (ROOT / "flowgraphs" / "loopback_call.toml").read_text() + text)


def test_flowgraph_rate_below_pluto_minimum(tmp_path):
    text = (ROOT / "flowgraphs" / "lab_pluto_pluto.toml").read_text().replace("960000.0", "480000.0", 1)
    lines = validate_file(_write(tmp_path, "flow.toml", text))
    assert any("sample_rate_sps" in line and "521000" in line for line in lines), lines


def test_flowgraph_tx_outside_guard(tmp_path):
    text = (
        (ROOT / "flowgraphs" / "lab_pluto_pluto.toml")
        .read_text()
        .replace('radio_args = "ip:192.168.2.1"', 'radio_args = "ip:192.168.2.1"\ntx_freq_hz = 2400e6')
    )
    lines = validate_file(_write(tmp_path, "flow.toml", text))
    assert any("process[0]" in line and "outside the allowed bands" in line for line in lines), lines


def test_flowgraph_tx_gain_above_guard(tmp_path):
    text = (
        (ROOT / "flowgraphs" / "lab_pluto_pluto.toml")
        .read_text()
        .replace("tx_gain_db = -30.0", "tx_gain_db = 0.0", 1)
    )
    lines = validate_file(_write(tmp_path, "flow.toml", text))
    assert any("max_gain_db" in line for line in lines), lines


def test_flowgraph_half_duplex_hackrf_full_call_rejected(tmp_path):
    text = (ROOT / "flowgraphs" / "lab_pluto_hackrf.toml").read_text()
    text = text.replace('duplex = "dl_only"', 'duplex = "full"').replace(
        "transmit = false", "transmit = true"
    )
    lines = validate_file(_write(tmp_path, "flow.toml", text))
    assert any("half duplex" in line and "process[1].radio" in line for line in lines), lines


def test_flowgraph_bad_link(tmp_path):
    lines = validate_file(_flow(tmp_path, '\n[[link]]\nsrc = "nowhere.tx"\ndst = "handset.rx"\n'))
    assert any("link[2].src" in line for line in lines), lines


def test_flowgraph_unknown_pass_key(tmp_path):
    text = (
        (ROOT / "flowgraphs" / "loopback_call.toml")
        .read_text()
        .replace("[pass]\n", "[pass]\nelevation = 3\n")
    )
    (line,) = validate_file(_write(tmp_path, "flow.toml", text))
    assert "pass.elevation" in line and "unknown key" in line


def test_errors_are_collected_not_first_only(tmp_path):
    text = _profile_text(duplex='"x"', crystal_tolerance_ppm="-1.0")
    with pytest.raises(ConfigErrors) as info:
        load_hw_profile(_write(tmp_path, "bad.toml", text))
    assert {e.key for e in info.value.errors} == {"duplex", "crystal_tolerance_ppm"}
    assert all(isinstance(e, ConfigError) for e in info.value.errors)


def test_validate_cli_exit_codes(tmp_path):
    bad = _write(tmp_path, "bad.toml", _profile_text(duplex='"x"'))
    cmd = [sys.executable, "-m", "skycall.cli", "validate"]
    ok = subprocess.run([*cmd, str(PROFILES[0])], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("OK ")
    res = subprocess.run([*cmd, str(PROFILES[0]), str(bad)], capture_output=True, text=True)
    assert res.returncode == 1
    assert res.stdout.count("ERROR") == 1 and "duplex" in res.stdout
