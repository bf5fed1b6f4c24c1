"""What ``skycall run`` does about a flowgraph's radios before any call process starts.

* Hardware twins: one ``skycall virtual-pluto --twin FLOWGRAPH:SERIAL`` process per ``[[virtual_pluto]]``
  table, each cabled to its ``peer`` (its status file and log in the output directory), started
  together and stopped with the run.
* Serials: every Pluto process's radio is asked its ``hw_serial`` (a short libiio connection); the
  map goes to the processes as ``SKYCALL_RADIO_SERIALS``, so the handset can check that its
  calibration was measured against the ground station's radio *now* at the other end.
* Calibration: an ``unmodified`` handset on a real radio needs one. With twins, a missing, stale or
  mismatched one is measured on the spot (``skycall calibrate`` between the two twins); with real
  radios the run stops here with the one message that says what to do.
"""

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

from skycall.config.flowgraph import Flowgraph
from skycall.config.virtual_pluto import twin_port
from skycall.errors import SkycallError

log = logging.getLogger(__name__)
START_TIMEOUT_S = 60.0
CAL_TONE_HZ, CAL_SAMPLES = 50e3, 1 << 16


class TwinSet:
    """The flowgraph's twins as OS processes (see the module docstring)."""

    def __init__(self, flow: Flowgraph, out_dir: str | Path):
        self.flow, self.out_dir = flow, Path(out_dir)
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self) -> "TwinSet":
        air = {t.serial: t.air_port or t.port + 1 for t in self.flow.virtual_pluto}
        for twin in self.flow.virtual_pluto:
            cmd = [sys.executable, "-m", "skycall.cli", "virtual-pluto", "--twin", f"{self.flow.path}:{twin.serial}",
                   "--status-file", str(self.out_dir / f"twin-{twin.serial}.json")]
            if twin.peer:
                cmd += ["--peer-endpoint", f"tcp://127.0.0.1:{air[twin.peer]}"]
            with open(self.out_dir / f"twin-{twin.serial}.log", "ab") as err:
                self.procs[twin.serial] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                                                           start_new_session=True)
        try:
            for serial, proc in self.procs.items():
                self._await_banner(serial, proc)
        except BaseException:
            self.stop()
            raise
        return self

    def _await_banner(self, serial: str, proc: subprocess.Popen) -> None:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not line or not line[0]:
            raise SkycallError(f"hardware twin {serial} did not start (see {self.out_dir / f'twin-{serial}.log'})")
        log.info("%s", line[0].strip())

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for serial, proc in self.procs.items():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                log.warning("hardware twin %s ignored SIGTERM: killing it", serial)
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()


def pluto_serials(flow: Flowgraph) -> dict[str, str]:
    """``{process: hw_serial}`` of every Pluto process whose radio answers."""
    import iio

    from skycall.radio.pluto_stream import find_by_serial

    serials = {}
    for p in flow.process:
        if flow.profiles[p.name].driver == "pluto":
            uri = p.radio_args or flow.profiles[p.name].default_args
            try:
                if uri.startswith("serial:"):
                    uri = find_by_serial(uri.removeprefix("serial:"))
                ctx = iio.Context(uri)
                serial = ctx.attrs.get("hw_serial", "")
                serials[p.name] = getattr(serial, "value", serial)
                del ctx
            except (OSError, SkycallError) as err:
                log.info("%s: no Pluto answered at %s (%s)", p.name, uri, err)
    return serials


def _needs_calibration(flow: Flowgraph) -> tuple[str, str] | None:
    """``(handset process, ground-station process)`` when an unmodified handset drives a real radio."""
    handset = next((p for p in flow.process if p.role == "handset"), None)
    ground = next((p for p in flow.process if p.role == "groundstation"), None)
    if handset is None or ground is None or handset.receiver_profile != "unmodified":
        return None
    if flow.profiles[handset.name].driver == "loopback":
        return None
    return handset.name, ground.name


def _calibrate_twins(flow: Flowgraph, ground: str, handset: str, path: str | None) -> None:
    """Measure the pair as ``skycall calibrate`` does: the ground station's twin sends, the handset's hears."""
    from skycall.radio import calibrate_cli

    uris = {p.name: p.radio_args for p in flow.process}
    args = argparse.Namespace(tx_uri=uris[ground], rx_uri=uris[handset], rx_args=None,
                              freq_hz=flow.proc(ground).tx_freq, tone_hz=CAL_TONE_HZ, sample_rate_sps=None,
                              samples=CAL_SAMPLES, calibration_file=path, allow_any_tx=flow.allow_any_tx)
    print("calibrating the hardware twins (skycall calibrate "
          f"--tx-uri {args.tx_uri} --rx-uri {args.rx_uri})", flush=True)
    calibrate_cli.run(args)


def prepare_radios(flow: Flowgraph, out_dir: str | Path, env: dict | None = None
                   ) -> tuple[TwinSet | None, dict[str, str]]:
    """Start the twins, read the serials, make sure the calibration fits; the environment for the processes.

    ``env`` is the processes' extra environment (its ``SKYCALL_CALIBRATION`` names the calibration file).
    """
    from skycall.radio.calibration import NotCalibrated, require_calibrated

    path = (env or {}).get("SKYCALL_CALIBRATION") or os.environ.get("SKYCALL_CALIBRATION") or None
    twins = TwinSet(flow, out_dir).start() if flow.virtual_pluto else None
    try:
        pair = _needs_calibration(flow)
        serials = pluto_serials(flow) if pair else {}
        if pair and pair[0] in serials:
            handset, ground = pair
            max_age_h = flow.profiles[handset].calibration.max_age_h
            ours = {t.port for t in flow.virtual_pluto}
            if twins is not None and {twin_port(flow.proc(p).radio_args) for p in pair} <= ours:
                try:
                    cal = require_calibrated(serials[handset], path, reference_serial=serials.get(ground, ""))
                    fits = not max_age_h or cal.age_h() <= max_age_h
                except NotCalibrated:
                    fits = False
                if not fits:
                    _calibrate_twins(flow, ground, handset, path)
            require_calibrated(serials[handset], path, reference_serial=serials.get(ground, ""), max_age_h=max_age_h)
    except BaseException:
        if twins is not None:
            twins.stop()
        raise
    return twins, ({"SKYCALL_RADIO_SERIALS": json.dumps(serials)} if serials else {})
