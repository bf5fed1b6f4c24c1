"""srsRAN 4G's unmodified eNodeB and UE through ``skycall bridge`` (the real binaries; skipped without them).

srsRAN is optional: it is found through ``SKYCALL_SRSRAN`` or, for this test only, ``../shared/srsran``
next to the repository. The run ends at the first completed random access (~1 s of stream time); srsRAN
plans its FFTs at start-up, which takes from seconds to a minute of wall time on a loaded machine.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skycall.bridge.runner import flowgraph_toml
from skycall.bridge.srsran import ENV_VAR, find_srsran
from skycall.config.flowgraph import load_flowgraph
from skycall.errors import MissingDependency

ROOT = Path(__file__).resolve().parents[2]
FLOWGRAPH = ROOT / "flowgraphs" / "srsran_leo.toml"


def _srsran_env() -> dict:
    """The environment naming srsRAN, or a skip that says why the test cannot run."""
    env = dict(os.environ)
    if not env.get(ENV_VAR) and (ROOT.parent / "shared" / "srsran").is_dir():
        env[ENV_VAR] = str(ROOT.parent / "shared" / "srsran")
    try:
        install = find_srsran(None, env=env)
    except MissingDependency as err:
        pytest.skip(f"srsRAN 4G not available: {err}")
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("srsUE needs a network namespace: run as root with iproute2 installed")
    for exe in (install.srsenb, install.srsue):
        ldd = subprocess.run(["ldd", str(exe)], capture_output=True, text=True,
                             env={**env, "LD_LIBRARY_PATH": str(install.lib)}, check=False)
        missing = [line.split()[0] for line in ldd.stdout.splitlines() if "not found" in line]
        if missing:
            pytest.skip(f"{exe.name} lacks runtime libraries {missing}: apt-get install libfftw3-single3 "
                        "libmbedcrypto7 libboost-program-options1.74.0 libconfig++9v5 libsctp1 libzmq5")
    return env


def _run(tmp_path: Path, env: dict, **changes) -> dict:
    base = load_flowgraph(FLOWGRAPH)
    flow = dataclasses.replace(base, duration_s=changes.pop("duration_s", base.duration_s),
                               srsran=dataclasses.replace(base.srsran, **changes.pop("srsran", {})),
                               beam=dataclasses.replace(base.beam, **changes.pop("beam", {})))
    path = tmp_path / "flow.toml"
    path.write_text(flowgraph_toml(flow))
    out = tmp_path / "run"
    cli = [sys.executable, "-m", "skycall.cli"]
    run = subprocess.run([*cli, "run", str(path), "--out", str(out)], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=420, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = subprocess.run([*cli, "report", str(out)], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    summary = json.loads((out / "summary.json").read_text())
    return {"summary": summary, "report_rc": report.returncode, "out": out}


def test_the_unmodified_stack_finds_the_cell_and_completes_random_access_through_the_pass(tmp_path):
    env = _srsran_env()
    result = _run(tmp_path, env, duration_s=30.0, srsran={"stop_after_rach": 1})
    summary, s = result["summary"], result["summary"]["srsran"]
    assert summary["kind"] == "srsran" and result["report_rc"] == 0
    assert summary["run"]["end_reason"] == "1 random accesses completed", summary["run"]
    assert s["cells_found"] >= 1 and s["plmn_found"] >= 1 and s["rach_attempts"] >= 1 and s["rach_complete"] >= 1
    assert len(s["cfo_estimates_hz"]) == s["cells_found"] and all(abs(c) < 500 for c in s["cfo_estimates_hz"])
    dl, ul = s["pass"]["dl"], s["pass"]["ul"]
    assert min(dl["doppler_before_compensation_hz"]) > 20e3 and min(ul["doppler_before_compensation_hz"]) > 20e3
    assert max(abs(f) for f in dl["doppler_after_compensation_hz"] + ul["doppler_after_compensation_hz"]) < 1.0
    assert summary["run"]["bridge"]["dl"]["messages"] > 0 and summary["run"]["bridge"]["dl"]["malformed"] == 0
    assert (result["out"] / "report.html").is_file() and (result["out"] / "srsue.log").is_file()
    netns = json.loads((result["out"] / "run.json").read_text())["netns"]
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    assert netns not in [line.split()[0] for line in listed.splitlines() if line.strip()]  # removed by the runner


@pytest.mark.slow
def test_without_compensation_the_stack_gets_no_access_and_the_summary_says_why(tmp_path):
    """±30 kHz of raw Doppler: srsUE may still report Found Cell (locked two subcarriers off) but never decodes
    SIB1, so it never transmits a preamble."""
    env = _srsran_env()
    result = _run(tmp_path, env, duration_s=20.0, beam={"precompensation": False})
    s = result["summary"]["srsran"]
    assert s["plmn_found"] == 0 and s["rach_attempts"] == 0 and s["rach_complete"] == 0 and result["report_rc"] == 1
    assert "compensation off" in s["diagnosis"]
    assert "never decoded SIB1" in s["diagnosis"] or s["diagnosis"].startswith("no cell found")
