"""Scenario suites (``scenarios/*.toml``): calls to make and what each must achieve.

A suite file holds ``[[scenario]]`` tables. Each names a base flowgraph and overrides the
things a campaign varies (pass geometry, handset position, array, Es/N0 offset,
pre-compensation, handset profile, vocoder, duplex, speech) and its pass/fail
``[scenario.thresholds]``. ``call_offsets_s`` with several values sweeps the call along the
pass (one call per offset from the culmination), which gives quality versus elevation.
A scenario that *should* fail (pre-compensation off with an unmodified phone) says
``expect_connected = false``: it passes when the call does not connect; ``expect_held`` judges
whether the call was held to its planned hang-up instead (a whole pass: the unmodified phone may
catch the carrier near closest approach without pre-compensation, and must lose it).

The link budget, the array and cells and the handset's surroundings are scenario keys too
(``link_preset``, ``taper``, ``cell_layout``, ``reuse``, ``interference``, ``fading``, ``environment``,
``k_factor_db``, ``speed_kmh``, ``shadowing``); ``seeds`` repeats every call with the next seeds
(other fading and shadowing realisations, other noise) and ``handset_bearings_deg`` places the
handset around its beam centre: the report gives each scenario's distributions over them.
A ``[scenario.sweep]`` grid (sites × days × seeds × positions in the cell, any scenario key) expands
one scenario into many points, each with its calls (see :mod:`skycall.quality.sweep`).
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
    expect_held: bool | None = spec(None, doc="the call must be held: connected and never dropped until the "
                                    "planned hang-up (false: it must not be); replaces expect_connected")
    min_pesq_nb: float | None = spec(None, lo=1.0, hi=4.6, doc="minimum PESQ-NB each direction")
    max_pesq_drop: float | None = spec(None, lo=0.0, hi=4.0, doc="max PESQ-NB below the codec ceiling")
    max_fer: float | None = spec(None, lo=0.0, hi=1.0, doc="maximum voice frame error rate")
    max_mouth_to_ear_ms: float | None = spec(None, lo=0.0, hi=2000.0, doc="maximum one-way latency")
    max_setup_time_s: float | None = spec(None, lo=0.0, hi=600.0, doc="maximum call set-up time")
    statistical: bool = spec(False, doc="the call may or may not connect (fading, shadowing, interference): its "
                             "outcome counts in the scenario's distributions, not as a pass/fail")


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
    handset_bearing_deg: float | None = spec(None, lo=-360.0, hi=360.0, doc="compass bearing from the handset to "
                                             "its beam centre")
    array_n: int | None = spec(None, lo=1, hi=256, doc="array size")
    array_m: int | None = spec(None, lo=1, hi=256, doc="array size")
    esn0_offset_db: float | None = spec(None, lo=-40.0, hi=40.0, doc="added to the link budget")
    precompensation: bool | None = spec(None, doc="beam-centre Doppler pre-/post-compensation")
    delay_precompensation: bool | None = spec(None, doc="beam-centre delay compensation")
    receiver_profile: str | None = spec(None, choices=(None, "satellite", "unmodified"), doc="handset receiver")
    tcxo_ppm: float | None = spec(None, lo=-50.0, hi=50.0, doc="handset oscillator error before sync (ppm)")
    vocoder: str | None = spec(None, choices=(None, "opus", "codec2"), doc="voice codec")
    duplex: str | None = spec(None, choices=(None, "full", "dl_only"), doc="duplex mode")
    duration_s: float | None = spec(None, lo=2.0, hi=600.0, doc="stream time per call")
    hold_s: float | None = spec(None, lo=1.0, hi=600.0, doc="talk time per call")
    speech: list[str] = spec(default_factory=list, doc="WAV files (any rate, mono/stereo) to send both ways")
    seed: int = spec(1, lo=0, hi=2**63 - 1, doc="seed of the first call (+1 per call offset, speech file, bearing and "
                    "seed repeat)")
    link_preset: str | None = spec(None, choices=(None, "tr38821-set1", "tr38821-set2", "skycall-v1"),
                                   doc="link-budget parameter set")
    taper: str | None = spec(None, choices=(None, "uniform", "taylor"), doc="array amplitude taper")
    cell_layout: str | None = spec(None, choices=(None, "nadir", "scan"), doc="cell spacing")
    handset_position: str | None = spec(None, choices=(None, "offset", "corner"), doc="handset at the offset or "
                                        "at its cell's worst corner")
    reuse: int | None = spec(None, choices=(None, 1, 3, 4, 7), doc="frequency reuse factor")
    interference: str | None = spec(None, choices=(None, "co-channel", "off"), doc="co-channel beams")
    fading: str | None = spec(None, choices=(None, "none", "rician", "rayleigh"), doc="flat fading")
    environment: str | None = spec(None, choices=(None, "dense-urban", "urban", "suburban", "rural"),
                                   doc="TR 38.811 environment")
    k_factor_db: float | None = spec(None, lo=-20.0, hi=40.0, doc="fixed Rician K (default: by elevation)")
    speed_kmh: float | None = spec(None, lo=0.0, hi=500.0, doc="handset speed")
    shadowing: str | None = spec(None, choices=(None, "margin", "states", "none"), doc="shadowing model")
    seeds: int = spec(1, lo=1, hi=1000, doc="calls per sweep point, with successive seeds (distributions)")
    handset_bearings_deg: list[float] = spec(default_factory=list, doc="one call per bearing from the handset "
                                             "to its beam centre (positions in the cell); empty: the base one")
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
                                                            "array_m", "esn0_offset_db", "precompensation",
                                                            "delay_precompensation")
                         if getattr(scenario, k) is not None}
            call_over = {k: getattr(scenario, k) for k in ("vocoder", "duplex", "hold_s") if getattr(scenario, k)}
            if speech:
                call_over.update(speech_dl=str(Path(speech).resolve()), speech_ul=str(Path(speech).resolve()))
            hs_over = {k: getattr(scenario, k) for k in ("receiver_profile", "tcxo_ppm")
                       if getattr(scenario, k) is not None}
            procs = [dataclasses.replace(p, **hs_over) if p.role == "handset" else p for p in base.process]
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
            calls.append(CallSpec(scenario, offset, _link_and_channel(scenario, flow), speech))
    return _variants(scenario, calls)


def _link_and_channel(scenario: Scenario, flow: Flowgraph) -> Flowgraph:
    """The scenario's link-budget preset, array/cell keys and ``[channel]`` keys applied to ``flow``."""
    beam = {k: getattr(scenario, k) for k in ("taper", "cell_layout", "reuse", "handset_position")
            if getattr(scenario, k) is not None}
    channel = {k: getattr(scenario, k) for k in ("interference", "fading", "environment", "k_factor_db", "speed_kmh",
                                                  "shadowing") if getattr(scenario, k) is not None}
    link = {"preset": scenario.link_preset} if scenario.link_preset else {}
    return dataclasses.replace(flow, beam=dataclasses.replace(flow.beam, **beam),
                               channel=dataclasses.replace(flow.channel, **channel),
                               radio_link=dataclasses.replace(flow.radio_link, **link))


def _variants(scenario: Scenario, calls: list[CallSpec]) -> list[CallSpec]:
    """Each call once per ``handset_bearings_deg`` and per seed (``seeds``); seeds stay distinct."""
    bearings = scenario.handset_bearings_deg or [None]
    variants = [(b, k) for b in bearings for k in range(scenario.seeds)]
    if len(variants) == 1:
        return calls
    out = []
    for call in calls:
        flow = call.flow
        for v, (bearing, k) in enumerate(variants):
            beam = flow.beam if bearing is None else dataclasses.replace(flow.beam, handset_bearing_deg=bearing)
            name = flow.name + (f"@{bearing:g}deg" if bearing is not None else "") + (
                f"~{k}" if scenario.seeds > 1 else "")
            seed = scenario.seed + (flow.seed - scenario.seed) * len(variants) + v
            out.append(dataclasses.replace(call, flow=dataclasses.replace(flow, name=name, seed=seed, beam=beam)))
    return out
