"""Finding an srsRAN install (optional, one clear error) and the command lines built for it."""

import dataclasses
import os

import pytest
from bridge_flows import leo_flow

from skycall.bridge.srsran import enb_command, find_srsran, plugin_dir, ue_command
from skycall.config.flowgraph import SrsranConfig
from skycall.errors import MissingDependency

ELF = b"\x7fELF" + b"\0" * 60


def _install(root, flattened=True):
    (root / "bin").mkdir(parents=True)
    for exe in ("srsenb", "srsue"):
        (root / "bin" / exe).write_text("#!/bin/sh\n")
        os.chmod(root / "bin" / exe, 0o755)
    (root / "lib").mkdir()
    for stem in ("libsrsran_rf", "libsrsran_rf_zmq"):
        (root / "lib" / f"{stem}.so.0").write_bytes(ELF)
        if flattened:  # a copy that turned the symbolic link into a text file naming its target
            (root / "lib" / f"{stem}.so").write_text(f"{stem}.so.0")
    (root / "conf").mkdir()
    for name in ("enb", "rr", "rb", "sib", "ue"):
        (root / "conf" / f"{name}.conf").write_text("")
    return root


def test_missing_install_says_how_to_provide_it():
    with pytest.raises(MissingDependency, match="SKYCALL_SRSRAN=/path/to/srsran"):
        find_srsran(leo_flow(), env={})


def test_found_from_the_environment_or_the_flowgraph(tmp_path):
    root = _install(tmp_path / "srsran")
    assert find_srsran(leo_flow(), env={"SKYCALL_SRSRAN": str(root)}).srsue == root / "bin" / "srsue"
    flow = dataclasses.replace(leo_flow(), srsran=SrsranConfig(dir="srsran"), path=str(tmp_path / "f.toml"))
    assert find_srsran(flow, env={}).root == root  # relative to the flowgraph, before the environment


def test_an_incomplete_install_lists_what_is_missing(tmp_path):
    root = _install(tmp_path / "srsran")
    (root / "conf" / "sib.conf").unlink()
    (root / "lib" / "libsrsran_rf_zmq.so.0").unlink()
    with pytest.raises(MissingDependency, match=r"lacks lib/libsrsran_rf_zmq.so, conf/sib.conf"):
        find_srsran(None, env={"SKYCALL_SRSRAN": str(root)})


def test_plugin_links_point_at_the_real_shared_objects(tmp_path):
    install = find_srsran(None, env={"SKYCALL_SRSRAN": str(_install(tmp_path / "srsran"))})
    lib = plugin_dir(install, tmp_path / "run")
    for stem in ("libsrsran_rf", "libsrsran_rf_zmq"):
        assert (lib / f"{stem}.so").resolve() == (install.lib / f"{stem}.so.0").resolve()
    plugin_dir(install, tmp_path / "run")  # again: links replaced, no error


def test_command_lines_override_ports_rate_bandwidth_and_logs(tmp_path):
    install = find_srsran(None, env={"SKYCALL_SRSRAN": str(_install(tmp_path / "srsran"))})
    flow = dataclasses.replace(leo_flow(), srsran=SrsranConfig(n_prb=100, ue_args=["--phy.nof_phy_threads=1"]))
    enb = enb_command(install, flow, tmp_path, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2")
    ue = ue_command(install, flow, tmp_path, "tcp://127.0.0.1:3", "tcp://127.0.0.1:4", "ns1")
    assert "--enb.n_prb=100" in enb and f"--log.filename={tmp_path / 'srsenb.log'}" in enb
    assert ("--rf.device_args=fail_on_disconnect=true,tx_port=tcp://127.0.0.1:1,rx_port=tcp://127.0.0.1:2,id=enb,"
            "base_srate=23040000") in enb
    assert "--gw.netns=ns1" in ue and ue[-1] == "--phy.nof_phy_threads=1"
    assert "--rf.device_args=tx_port=tcp://127.0.0.1:3,rx_port=tcp://127.0.0.1:4,id=ue,base_srate=23040000" in ue


def test_prach_zero_correlation_zone_is_set_in_a_copy_of_the_sib_config(tmp_path):
    root = _install(tmp_path / "srsran")
    (root / "conf" / "sib.conf").write_text("prach_cnfg_info =\n{\n  zero_correlation_zone_config = 5;\n};\n")
    install = find_srsran(None, env={"SKYCALL_SRSRAN": str(root)})
    run = tmp_path / "run"
    run.mkdir()
    flow = dataclasses.replace(leo_flow(), srsran=SrsranConfig(prach_zero_correlation_zone=13))
    enb = enb_command(install, flow, run, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2")
    assert f"--enb_files.sib_config={run / 'sib.conf'}" in enb
    assert "zero_correlation_zone_config = 13;" in (run / "sib.conf").read_text()
    assert "= 5;" in (root / "conf" / "sib.conf").read_text()  # the install is untouched
    unchanged = enb_command(install, leo_flow(), run, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2")
    assert f"--enb_files.sib_config={root / 'conf' / 'sib.conf'}" in unchanged
