import json

import numpy as np
import pytest

from skycall.cli import main

KEYS = {
    "t_utc", "t_s", "elevation_deg", "azimuth_deg", "range_m", "range_rate_m_s", "doppler_hz",
    "doppler_rate_hz_s", "delay_s", "beam_id", "gain_dbi", "residual_doppler_hz", "esn0_db", "c_over_i_db",
    "sinr_db",
}  # fmt: skip


def test_next_pass_json_and_plot(tle_file, tmp_path, capsys):
    out, png = tmp_path / "pass.json", tmp_path / "pass.png"
    rc = main(["pass", "--tle", str(tle_file), "--lat", "40.4", "--lon", "-3.7", "--next-pass", "--step-s", "5",
               "--json", str(out), "--plot", str(png)])  # fmt: skip
    assert rc == 0
    data = json.loads(out.read_text())
    assert {"samples", "aos_utc", "los_utc", "max_elevation_deg"} <= set(data)
    s = data["samples"]
    assert set(s[0]) == KEYS
    el = np.array([x["elevation_deg"] for x in s])
    assert el[0] == pytest.approx(10.0, abs=1e-3) and el.max() <= data["max_elevation_deg"] + 1e-6
    dop = np.array([x["doppler_hz"] for x in s])
    assert dop[0] > 0 > dop[-1]  # approaching then receding
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "residual Doppler" in capsys.readouterr().out


def test_budget_is_printed_term_by_term_and_adds_up(tmp_path, capsys):
    out = tmp_path / "b.json"
    rc = main(["pass", "--altitude-km", "600", "--lat", "48.1", "--lon", "11.6", "--start", "2026-01-01T00:00:00Z",
               "--duration-s", "600", "--step-s", "2", "--link-preset", "tr38821-set1", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "link budget 'tr38821-set1'" in text
    dl = text.split("  downlink")[1].split("  uplink")[0].splitlines()[1:]
    terms = [line for line in dl if not line.strip().startswith(("=", "C/"))]
    values = np.array([[float(v) for v in line.split()[-2:]] for line in terms])
    cn0 = [float(v) for v in next(line for line in dl if "= C/N0" in line).split()[-2:]]
    np.testing.assert_allclose(values.sum(axis=0), cn0, atol=0.02)  # the printed terms are the budget
    assert "+34.00" not in text and "+14.79" in text  # 34 dBW/MHz in one 12 kHz carrier
    samples = json.loads(out.read_text())["samples"]
    best = max((x for x in samples if x["sinr_db"] is not None), key=lambda x: x["elevation_deg"])
    assert best["sinr_db"] <= min(best["esn0_db"], best["c_over_i_db"]) + 1e-9


def test_circular_orbit_window(tmp_path):
    out = tmp_path / "c.json"
    rc = main(["pass", "--altitude-km", "600", "--lat", "10", "--lon", "20", "--start", "2025-06-01T12:00:00Z",
               "--duration-s", "600", "--step-s", "10", "--handset-offset-km", "10", "20",
               "--json", str(out)])  # fmt: skip
    assert rc == 0
    data = json.loads(out.read_text())
    assert data["max_elevation_deg"] > 89.0
    delays = [x["delay_s"] for x in data["samples"] if x["elevation_deg"] >= 10]
    assert min(delays) == pytest.approx(600e3 / 299792458.0, rel=0.01)
    residual = [abs(x["residual_doppler_hz"]) for x in data["samples"] if x["elevation_deg"] >= 10]
    assert 100.0 < max(residual) < 3000.0  # handset 22 km from the cell centre, inside its 67 km beam


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--altitude-km", "600", "--lat", "95", "--lon", "0", "--next-pass"], "latitude_deg: 95.0 is outside"),
        (["--altitude-km", "600", "--lat", "80", "--lon", "0", "--inclination-deg", "30", "--next-pass"],
         "never passes over"),
        (["--altitude-km", "600", "--lat", "0", "--lon", "0", "--start", "yesterday"], "not ISO 8601"),
    ],
)  # fmt: skip
def test_errors_are_one_line(argv, message, capsys):
    assert main(["pass", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_bad_tle_and_no_pass(tle_file, tmp_path, capsys):
    lines = tle_file.read_text().splitlines()
    bad = tmp_path / "bad.tle"
    bad.write_text("\n".join([lines[0], lines[1][:68] + "0" if lines[1][68] != "0" else lines[1][:68] + "1", lines[2]]))
    assert main(["pass", "--tle", str(bad), "--lat", "0", "--lon", "0", "--next-pass"]) == 2
    assert "TLE line 1: checksum digit" in capsys.readouterr().err
    # 53° orbit never rises above 10° at the pole
    assert main(["pass", "--tle", str(tle_file), "--lat", "89", "--lon", "0", "--next-pass"]) == 2
    assert "never rises above 10 deg" in capsys.readouterr().err
