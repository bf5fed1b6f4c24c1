"""A free-running virtual Pluto ("hardware twin") as a flowgraph declares it: ``[[virtual_pluto]]``.

``skycall run`` starts one ``skycall virtual-pluto`` process per table before the call processes
(see :mod:`skycall.radio.twins`); a process whose ``radio_args`` is ``ip:127.0.0.1:PORT`` drives the
twin serving ``port``. Levels are absolute, as on a real board: ``dc_offset_dbfs`` at the ADC,
``lo_leakage_dbfs`` at the DAC (before the TX attenuator, so it is attenuated with the signal).
DC offset and IQ imbalance are what remains with the AD9361's tracking loops on (the power-on
state); switching ``bb_dc_offset_tracking_en``/``rf_dc_offset_tracking_en`` off adds
``UNTRACKED_DC_DB`` each, ``quadrature_tracking_en`` off multiplies the image by ``UNTRACKED_IQ_FACTOR``.
"""

from dataclasses import dataclass

from skycall.config.schema import spec
from skycall.errors import ConfigError

UNTRACKED_DC_DB = 10.0
UNTRACKED_IQ_FACTOR = 3.0


@dataclass(frozen=True, kw_only=True)
class VirtualPlutoConfig:
    """One twin: its crystal, front-end impairments, the cable to its peer, and injected faults."""

    serial: str = spec(doc="hw_serial the twin reports (calibration is stored under it)")
    port: int = spec(lo=1, hi=65535, doc="iiod port on 127.0.0.1 (the process's radio_args ip:127.0.0.1:PORT)")
    air_port: int = spec(0, lo=0, hi=65535, doc="port of its transmit stream for the peer (0: port + 1)")
    peer: str = spec("", doc="serial of the twin cabled to this one (empty: hears its own transmitter)")
    seed: int = spec(1, lo=0, hi=2**63 - 1, doc="seed of its receiver noise and DC phase")
    crystal_ppm: float = spec(0.0, lo=-100.0, hi=100.0, doc="crystal error at power-up (LOs and sample clock)")
    drift_ppm: float = spec(0.0, lo=-20.0, hi=20.0, doc="warm-up drift added to crystal_ppm")
    drift_tau_s: float = spec(600.0, lo=1.0, hi=1e6, doc="time constant of the warm-up drift")
    power_up_s: float = spec(0.0, lo=0.0, hi=600.0, doc="power-up after the run starts (each board its own)")
    cable_db: float = spec(30.0, lo=0.0, hi=150.0, doc="attenuation from the peer's TX port to this RX port")
    latency_s: float = spec(50e-6, lo=0.0, hi=0.1, doc="air + converter pipeline delay")
    noise_floor_dbfs: float = spec(-60.0, lo=-200.0, hi=0.0, doc="receiver noise power per sample at the ADC "
                                   "(-60: 1.4 LSB per component, as a real front end dithers its ADC)")
    dc_offset_dbfs: float = spec(-200.0, lo=-200.0, hi=0.0, doc="receive DC offset at the ADC")
    lo_leakage_dbfs: float = spec(-200.0, lo=-200.0, hi=0.0, doc="transmit LO leakage at the DAC")
    iq_gain_db: float = spec(0.0, lo=-3.0, hi=3.0, doc="I/Q amplitude imbalance, both chains")
    iq_phase_deg: float = spec(0.0, lo=-20.0, hi=20.0, doc="I/Q phase imbalance, both chains")
    stalls_s: list[list[float]] = spec(default_factory=list, doc="host stalls [[start_s, duration_s], ...] "
                                       "after the receive stream starts (fault injection)")
    drops_s: list[float] = spec(default_factory=list, doc="receive blocks lost on the bus at these times "
                                "after the receive stream starts (fault injection)")

    def __post_init__(self):
        for i, stall in enumerate(self.stalls_s):
            if len(stall) != 2 or stall[0] < 0 or not 0 < stall[1] <= 60:
                raise ConfigError("", f"stalls_s[{i}]", f"expected [start_s >= 0, 0 < duration_s <= 60], got {stall}")
        if any(t < 0 for t in self.drops_s):
            raise ConfigError("", "drops_s", "times must be >= 0")


def check_twins(twins: list[VirtualPlutoConfig]) -> list[tuple[str, str]]:
    """``(key, problem)`` for every inconsistency between the twins (duplicate serials/ports, unknown peer)."""
    problems = []
    serials = [t.serial for t in twins]
    ports = [p for t in twins for p in (t.port, t.air_port or t.port + 1)]
    for i, twin in enumerate(twins):
        if serials.count(twin.serial) > 1:
            problems.append((f"virtual_pluto[{i}].serial", f"{twin.serial!r} is used twice"))
        if twin.peer and twin.peer not in serials:
            problems.append((f"virtual_pluto[{i}].peer", f"no [[virtual_pluto]] has serial {twin.peer!r}"))
        if twin.peer == twin.serial:
            problems.append((f"virtual_pluto[{i}].peer", "a twin cannot be its own peer"))
    if len(set(ports)) != len(ports):
        problems.append(("virtual_pluto", f"iiod and air ports overlap: {sorted(ports)}"))
    return problems


def twin_port(radio_args: str) -> int | None:
    """The port of ``ip:127.0.0.1:PORT`` (a twin's URI), else None."""
    scheme, _, rest = radio_args.partition(":")
    host, _, port = rest.rpartition(":")
    return int(port) if scheme == "ip" and host in ("127.0.0.1", "localhost") and port.isdigit() else None
