"""Finding an srsRAN 4G install and building the srsenb/srsue command lines (nothing of srsRAN is copied).

srsRAN is optional: the directory comes from ``[srsran] dir`` (relative to the flowgraph) or the
``SKYCALL_SRSRAN`` environment variable, laid out as a ``cmake --install`` prefix::

    bin/srsenb  bin/srsue  lib/libsrsran_rf_zmq.so*  conf/{enb,rr,rb,sib,ue}.conf
                                                     (or share/srsran/*.conf.example)

srsRAN loads its ZMQ radio with ``dlopen("libsrsran_rf_zmq.so")``; :func:`plugin_dir` links the plugin
into the run directory under that name (an install copied without its symbolic links still works).
Everything else is the install's own configuration with command-line overrides: the ZMQ ports and
base rate, the cell bandwidth, and the log files (the example configs log to fixed files in /tmp); only
the PRACH zero-correlation zone, on request, is set in a copy of its sib.conf in the run directory.
"""

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from skycall.config.flowgraph import SRSRAN_RATES_SPS, Flowgraph, resolve_path
from skycall.errors import MissingDependency, SkycallError
from skycall.fileio import atomic_write

ENV_VAR = "SKYCALL_SRSRAN"
_CONFS = ("enb", "rr", "rb", "sib", "ue")
_PLUGINS = ("libsrsran_rf", "libsrsran_rf_zmq")


@dataclass(frozen=True)
class SrsranInstall:
    """Paths of one srsRAN 4G install."""

    root: Path
    srsenb: Path
    srsue: Path
    lib: Path
    conf: dict  # name ("enb", "rr", "rb", "sib", "ue") -> Path


def _conf_file(root: Path, name: str) -> Path | None:
    for path in (root / "conf" / f"{name}.conf", root / "share" / "srsran" / f"{name}.conf.example"):
        if path.is_file():
            return path
    return None


def _plugin(lib: Path, stem: str) -> Path | None:
    """The first ELF shared object ``stem.so*`` in ``lib`` (a link flattened into a text file is skipped)."""
    for path in sorted(lib.glob(f"{stem}.so*")):
        if path.is_file():
            with path.open("rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    return path.resolve()
    return None


def find_srsran(flow: Flowgraph | None = None, env: dict | None = None) -> SrsranInstall:
    """The install named by ``[srsran] dir`` or ``$SKYCALL_SRSRAN``; one clear error when it is unusable."""
    env = os.environ if env is None else env
    if flow is not None and flow.srsran is not None and flow.srsran.dir:
        root, where = resolve_path(flow, flow.srsran.dir), f"[srsran] dir in {flow.path}"
    elif env.get(ENV_VAR):
        root, where = Path(env[ENV_VAR]), f"${ENV_VAR}"
    else:
        raise MissingDependency(
            f"srsRAN 4G not found: set {ENV_VAR}=/path/to/srsran (bin/srsenb, bin/srsue, lib/libsrsran_rf_zmq.so, "
            "conf/*.conf) or [srsran] dir in the flowgraph; build it from the public srsRAN_4G repository with "
            "-DENABLE_ZEROMQ=ON (docs/srsran.md)")
    missing = []
    exe = {name: root / "bin" / name for name in ("srsenb", "srsue")}
    missing += [f"bin/{n}" for n, p in exe.items() if not os.access(p, os.X_OK)]
    lib = root / "lib"
    missing += [f"lib/{stem}.so" for stem in _PLUGINS if not lib.is_dir() or _plugin(lib, stem) is None]
    conf = {name: _conf_file(root, name) for name in _CONFS}
    missing += [f"conf/{n}.conf" for n, p in conf.items() if p is None]
    if missing:
        raise MissingDependency(f"srsRAN 4G at {root} ({where}) lacks {', '.join(missing)}; see docs/srsran.md")
    return SrsranInstall(root, exe["srsenb"], exe["srsue"], lib, conf)


def plugin_dir(install: SrsranInstall, run_dir: Path) -> Path:
    """``run_dir/lib`` with ``libsrsran_rf*.so`` linked to the install's real shared objects."""
    out = Path(run_dir) / "lib"
    out.mkdir(parents=True, exist_ok=True)
    for stem in _PLUGINS:
        link = out / f"{stem}.so"
        link.unlink(missing_ok=True)
        link.symlink_to(_plugin(install.lib, stem))
    return out


def environment(install: SrsranInstall, run_dir: Path) -> dict:
    """The processes' environment: the plugin directory first on ``LD_LIBRARY_PATH``."""
    paths = [str(plugin_dir(install, run_dir)), str(install.lib), os.environ.get("LD_LIBRARY_PATH", "")]
    return {**os.environ, "LD_LIBRARY_PATH": os.pathsep.join(p for p in paths if p)}


def sib_config(install: SrsranInstall, flow: Flowgraph, run_dir: Path) -> Path:
    """The eNodeB's SIB configuration: the install's, or a copy in ``run_dir`` with the PRACH zero-correlation
    zone set (``[srsran] prach_zero_correlation_zone``: the cyclic-shift spacing N_CS of TS 36.211, which bounds
    the round trip a preamble may take: 5 → N_CS = 26 → ~25 µs, 13 → 167 → ~160 µs, 15 → 419 → ~400 µs)."""
    zone, path = flow.srsran.prach_zero_correlation_zone, install.conf["sib"]
    if zone < 0:
        return path
    text, n = re.subn(r"(zero_correlation_zone_config\s*=\s*)\d+", rf"\g<1>{zone}", path.read_text())
    if n != 1:
        raise SkycallError(f"{path}: expected one zero_correlation_zone_config to set, found {n}")
    out = Path(run_dir) / "sib.conf"
    atomic_write(out, text)
    return out


def _zmq_args(tx_port: str, rx_port: str, ident: str, n_prb: int, extra: str = "") -> str:
    return f"{extra}tx_port={tx_port},rx_port={rx_port},id={ident},base_srate={int(SRSRAN_RATES_SPS[n_prb])}"


def enb_command(install: SrsranInstall, flow: Flowgraph, run_dir: Path, tx_port: str, rx_port: str) -> list[str]:
    """srsenb with the install's configs, the ZMQ radio on the given ports and logs in ``run_dir``."""
    cfg, c = flow.srsran, install.conf
    return [str(install.srsenb), str(c["enb"]), f"--enb_files.sib_config={sib_config(install, flow, run_dir)}",
            f"--enb_files.rr_config={c['rr']}", f"--enb_files.rb_config={c['rb']}", f"--enb.n_prb={cfg.n_prb}",
            "--rf.device_name=zmq",
            "--rf.device_args=" + _zmq_args(tx_port, rx_port, "enb", cfg.n_prb, "fail_on_disconnect=true,"),
            f"--log.filename={Path(run_dir) / 'srsenb.log'}", *cfg.enb_args]


def ue_command(install: SrsranInstall, flow: Flowgraph, run_dir: Path, tx_port: str, rx_port: str,
               netns: str) -> list[str]:
    """srsue with the install's config, the ZMQ radio on the given ports, its TUN in ``netns``."""
    cfg = flow.srsran
    return [str(install.srsue), str(install.conf["ue"]), "--rf.device_name=zmq",
            "--rf.device_args=" + _zmq_args(tx_port, rx_port, "ue", cfg.n_prb), f"--gw.netns={netns}",
            f"--log.filename={Path(run_dir) / 'srsue.log'}", *cfg.ue_args]


def line_buffered(command: list[str]) -> list[str]:
    """``command`` under ``stdbuf -oL -eL`` when available: console lines arrive as they are printed."""
    stdbuf = shutil.which("stdbuf")
    return [stdbuf, "-oL", "-eL", *command] if stdbuf else command


class NetworkNamespace:
    """A network namespace for srsUE's TUN interface, created on enter and removed on exit (``ip netns``)."""

    def __init__(self, name: str):
        self.name = name

    def _ip(self, *args: str) -> subprocess.CompletedProcess:
        ip = shutil.which("ip")
        if ip is None:
            raise MissingDependency("srsUE needs a network namespace and `ip` (iproute2) is not installed: "
                                    "apt-get install iproute2")
        return subprocess.run([ip, "netns", *args], capture_output=True, text=True, check=False)

    def __enter__(self) -> "NetworkNamespace":
        done = self._ip("add", self.name)
        if done.returncode:
            raise SkycallError(f"cannot create network namespace {self.name!r} for srsUE: {done.stderr.strip()} "
                               "(needs root or CAP_SYS_ADMIN)")
        return self

    def __exit__(self, *exc) -> None:
        self._ip("delete", self.name)
