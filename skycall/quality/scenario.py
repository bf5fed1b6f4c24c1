"""Scenario suites (``scenarios/*.toml``): calls to make and what each must achieve.

A suite file holds ``[[scenario]]`` tables. Each names a base flowgraph and overrides the
things a campaign varies (pass geometry, handset position, array, Es/N0 offset,
pre-compensation, handset profile, vocoder, duplex, speech) and its pass/fail
``[scenario.thresholds]``. ``call_offsets_s`` with several values sweeps the call along the
pass (one call per offset from the culmination), which gives quality versus elevation.
A scenario that *should* fail (pre-compensation off with an unmodified phone) says
``expect_connected = false``: it passes when the call does not connect. A ``[scenario.sweep]``
grid (sites × days × seeds × positions in the cell, any scenario key) expands one scenario into
many points, each with its calls (see :mod:`skycall.quality.sweep`).
"""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from skycall.config.flowgraph import Flowgraph, load_flowgraph
from skycall.config.schema import load_dataclass, read_toml, spec
from skycall.errors import ConfigError
from skycall.quality.sweep import check_value, point_label, sweep_points


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """Pass/fail limits of one call (None: not checked)."""

    expect_connected: bool = spec(True, doc="the call must connect (false: it must not)")
    min_pesq_nb: float | None = spec(None, lo=1.0, hi=4.6, doc="minimum PESQ-NB each direction")
    max_pesq_drop: float | None = spec(None, lo=0.0, hi=4.0, doc="max PESQ-NB below the codec ceiling")
    max_fer: float | None = spec(None, lo=0.0, hi=1.0, doc="maximum voice frame error rate")
    max_mouth_to_ear_ms: float | None = spec(None, lo=0.0, hi=2000.0, doc="maximum one-way latency")
    max_setup_time_s: float | None = spec(None, lo=0.0, hi=600.0, doc="maximum call set-up time")


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """One call configuration (or a sweep of calls along the pass)."""

    name: str = spec(doc="unique name")
    description: str = spec("", doc="what it shows")
    flowgraph: str = spec("../flowgraphs/loopback_call.toml", doc="base flowgraph (relative to the suite)")
    tle: str | None = spec(None, doc="TLE file instead of the circular orbit")
    altitude_km: float | None = spec(None, lo=300.0, hi=2000.0, doc="circular orbit altitude")
    ground_track_offset_km: float | None = spec(None, lo=-2000.0, hi=2000.0, doc="0: overhead pass")
    call_offsets_s: list[float] = spec(default_factory=lambda: [-100.0], doc="call starts rel. to culmination")
    handset_offset_km: float | None = spec(None, lo=0.0, hi=500.0, doc="distance from the beam centre")
    handset_bearing_deg: float | None = spec(None, lo=-360.0, hi=360.0, doc="direction of that offset")
    array_n: int | None = spec(None, lo=1, hi=256, doc="array size")
    array_m: int | None = spec(None, lo=1, hi=256, doc="array size")
    esn0_offset_db: float | None = spec(None, lo=-40.0, hi=40.0, doc="added to the link budget")
    precompensation: bool | None = spec(None, doc="beam-centre pre-/post-compensation")
    receiver_profile: str | None = spec(None, choices=(None, "satellite", "unmodified"), doc="handset receiver")
    vocoder: str | None = spec(None, choices=(None, "opus", "codec2"), doc="voice codec")
    duplex: str | None = spec(None, choices=(None, "full", "dl_only"), doc="duplex mode")
    duration_s: float | None = spec(None, lo=2.0, hi=600.0, doc="stream time per call")
    hold_s: float | None = spec(None, lo=1.0, hi=600.0, doc="talk time per call")
    speech: list[str] = spec(default_factory=list, doc="WAV files (any rate, mono/stereo) to send both ways")
    seed: int = spec(1, lo=0, hi=2**63 - 1, doc="seed of the first call (+1 per call offset and speech file)")
    quick: bool = spec(False, doc="part of the --quick suite")
    thresholds: Thresholds = spec(default_factory=Thresholds, doc="pass/fail limits")
    observer_lat_deg: float | None = spec(None, lo=-90.0, hi=90.0, doc="handset latitude (a site)")
    observer_lon_deg: float | None = spec(None, lo=-180.0, hi=180.0, doc="handset longitude (a site)")
    start_utc: str | None = spec(None, doc="first pass after this time, ISO 8601 (a day)")
    sweep: dict[str, list] = spec(default_factory=dict, doc="grid: KEY = [values] or LABEL = [{KEY = value}]")
    path: str = field(default="", compare=False)
    sweep_point: tuple = field(default=())  # this point's sweep coordinates ((axis, value), ...)


@dataclass(frozen=True, kw_only=True)
class Suite:
    scenario: list[Scenario] = spec(default_factory=list, doc="scenarios")
    path: str = field(default="", compare=False)


def load_scenario(path: str | Path) -> Suite:
    """Load and validate a suite file (every scenario's base flowgraph included)."""
    path = Path(path)
    suite = load_dataclass(Suite, read_toml(path), str(path))
    names = [s.name for s in suite.scenario]
    if len(set(names)) != len(names):
        raise ConfigError(str(path), "scenario", f"duplicate scenario names in {names}")
    scenarios = [dataclasses.replace(s, path=str(path)) for s in suite.scenario]
    for i, s in enumerate(scenarios):
        base = path.parent / s.flowgraph
        if not base.exists():
            raise ConfigError(str(path), f"scenario[{i}].flowgraph", f"{base} does not exist")
        if s.tle and not (path.parent / s.tle).exists():
            raise ConfigError(str(path), f"scenario[{i}].tle", f"{path.parent / s.tle} does not exist")
        check_value("start_utc", s.start_utc, str(path), f"scenario[{i}].start_utc", path.parent)
        sweep_points(s, f"scenario[{i}]")  # every grid value checked before anything runs
    return Suite(scenario=scenarios, path=str(path))


@dataclass(frozen=True)
class CallSpec:
    """One call of a campaign: the scenario it belongs to and its flowgraph."""

    scenario: Scenario
    call_offset_s: float
    flow: Flowgraph
    speech_path: str | None


def expand(scenario: Scenario, speech_override: list[str] | None = None) -> list[CallSpec]:
    """The calls of a scenario (one per sweep point, call offset, and speech file when several are given)."""
    if scenario.sweep:
        return [c for point in sweep_points(scenario) for c in expand(point, speech_override)]
    suite_dir = Path(scenario.path).parent
    base = load_flowgraph(suite_dir / scenario.flowgraph)
    speeches = speech_override or [str(suite_dir / p) for p in scenario.speech] or [None]
    calls = []
    for i, offset in enumerate(scenario.call_offsets_s):
        for j, speech in enumerate(speeches):
            pass_over = {"call_offset_s": offset}
            if scenario.tle:
                pass_over["tle"] = str((suite_dir / scenario.tle).resolve())
            for key in ("altitude_km", "ground_track_offset_km", "observer_lat_deg", "observer_lon_deg", "start_utc"):
                if getattr(scenario, key) is not None:
                    pass_over[key] = getattr(scenario, key)
            beam_over = {k: getattr(scenario, k) for k in ("handset_offset_km", "handset_bearing_deg", "array_n",
                                                            "array_m", "esn0_offset_db", "precompensation")
                         if getattr(scenario, k) is not None}
            call_over = {k: getattr(scenario, k) for k in ("vocoder", "duplex", "hold_s") if getattr(scenario, k)}
            if speech:
                call_over.update(speech_dl=str(Path(speech).resolve()), speech_ul=str(Path(speech).resolve()))
            procs = [dataclasses.replace(p, receiver_profile=scenario.receiver_profile)
                     if p.role == "handset" and scenario.receiver_profile else p for p in base.process]
            flow = dataclasses.replace(
                base,
                name=f"{scenario.name}{point_label(scenario.sweep_point)}@{offset:+g}s"
                + (f"#{j}" if len(speeches) > 1 else ""),
                seed=scenario.seed + i * len(speeches) + j,
                duration_s=scenario.duration_s or base.duration_s,
                pass_=dataclasses.replace(base.pass_, **pass_over),
                beam=dataclasses.replace(base.beam, **beam_over),
                call=dataclasses.replace(base.call, **call_over),
                process=procs,
            )
            calls.append(CallSpec(scenario, offset, flow, speech))
    return calls
