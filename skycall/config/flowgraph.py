"""Flowgraphs (``flowgraphs/*.toml``): which processes run, with which radios, linked how.

A flowgraph names the processes (``[[process]]``, each a *role*: ``groundstation`` or
``handset``), the radio each one drives (a hardware profile), the satellite pass and beam the
ground station emulates, the loopback air, and the call. Links (``[[link]]``) join a
process's ``tx`` port to another's ``rx`` port when the radios are loopback radios (real
radios are linked by cable or air); a flowgraph with a ``[link]`` table (the link budget:
``preset = "tr38821-set1"``) lists them as ``[[link.stream]]`` instead, TOML allowing only one of the
two. ``[channel]`` describes the handset's surroundings (co-channel beams, fading, shadowing).
Before anything runs, :func:`load_flowgraph` checks: every key (strictly, no NaN or infinity
anywhere), each radio's profile (tuning, rates, transmit guard, duplex), that every link joins
ports with the same sample rate, dtype and centre frequency (declared rates), and everything a run
reads later: ``pass.start_utc`` is an ISO 8601 time with a zone, the TLE file exists with valid
checksums, each speech WAV is readable, non-empty and finite. Process names are safe file and
socket names (:data:`PROCESS_NAME_PATTERN`): they name ``OUT/NAME.log`` and the process's sockets.
"""

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path

from skycall.config.hw_profile import HwProfile, load_hw_profile
from skycall.config.schema import load_dataclass, read_toml, spec
from skycall.config.virtual_pluto import VirtualPlutoConfig, check_twins
from skycall.errors import ConfigError, ConfigErrors

ROLES = ("groundstation", "handset")
#: Baseband rate of waveform v1 (12 ksym/s × 20 samples/symbol); radios resample from it.
BASEBAND_RATE_SPS = 240_000.0
DL_FREQ_HZ = 1545.0e6
UL_FREQ_HZ = 1646.5e6
#: a process name: a letter, then up to 31 letters, digits, ``_`` or ``-`` (no path separators or dots)
PROCESS_NAME_PATTERN = r"[A-Za-z][A-Za-z0-9_-]{0,31}"


@dataclass(frozen=True, kw_only=True)
class PassConfig:
    """The LEO pass the ground station emulates (orbit, observer, where in the pass the call sits)."""

    tle: str = spec("", doc="TLE file (relative to the flowgraph); empty: circular orbit below")
    altitude_km: float = spec(600.0, lo=300.0, hi=2000.0, doc="circular orbit altitude")
    inclination_deg: float = spec(53.0, lo=0.0, hi=180.0, doc="circular orbit inclination")
    observer_lat_deg: float = spec(48.0, lo=-90.0, hi=90.0, doc="handset latitude (WGS-84)")
    observer_lon_deg: float = spec(11.0, lo=-180.0, hi=180.0, doc="handset longitude (WGS-84)")
    observer_alt_m: float = spec(0.0, lo=-500.0, hi=9000.0, doc="handset height above the ellipsoid")
    start_utc: str = spec("2026-01-01T00:00:00Z", doc="search for the first pass after this time (ISO 8601)")
    min_elevation_deg: float = spec(10.0, lo=0.0, hi=89.0, doc="pass visibility mask")
    ground_track_offset_km: float = spec(0.0, lo=-2000.0, hi=2000.0, doc="circular orbit: ground track east of "
                                         "the handset (0: overhead pass; larger: lower pass)")
    call_offset_s: float = spec(-10.0, lo=-3600.0, hi=3600.0, doc="stream start relative to max elevation")


@dataclass(frozen=True, kw_only=True)
class BeamConfig:
    """The phased array, where the handset is in its beam, and the pre-compensation switch."""

    array_n: int = spec(16, lo=1, hi=256, doc="array elements along x")
    array_m: int = spec(16, lo=1, hi=256, doc="array elements along y")
    handset_offset_km: float = spec(0.0, lo=0.0, hi=500.0, doc="handset distance from its beam centre")
    handset_bearing_deg: float = spec(
        0.0, lo=-360.0, hi=360.0, doc="compass bearing (deg clockwise from true north) from the handset to its "
        "beam centre; the cells are laid out north-up, so 0, 60, 120... point at cell corners"
    )
    precompensation: bool = spec(True, doc="pre-/post-compensate the beam-centre Doppler")
    esn0_offset_db: float = spec(0.0, lo=-40.0, hi=40.0, doc="added to the link budget's Es/N0")
    taper: str = spec("taylor", choices=("uniform", "taylor"), doc="array amplitude taper (uniform: -13 dB side "
                      "lobes; taylor: lower side lobes, wider beam, less co-channel interference)")
    taylor_sll_db: float = spec(25.0, lo=13.5, hi=60.0, doc="Taylor taper side-lobe level below the peak")
    cell_layout: str = spec("scan", choices=("nadir", "scan"), doc="cells spaced by the nadir footprint, or by "
                            "the scanned footprint at the design elevation (max(call start, 30 deg))")
    reuse: int = spec(3, choices=(1, 3, 4, 7), doc="frequency reuse factor (beams of one colour interfere)")
    beam_rings: int = spec(4, lo=1, hi=8, doc="rings of cells around the serving one")
    handset_position: str = spec("offset", choices=("offset", "corner"), doc="offset: handset_offset_km and "
                                 "handset_bearing_deg; corner: the corner of its cell with the largest residual "
                                 "Doppler at the cell design point")
    delay_precompensation: bool = spec(True, doc="compensate the beam-centre delay: the handset sees the "
                                       "differential delay only and the uplink window sits at the beam centre's "
                                       "round trip (false: a terrestrial base station's timing)")


@dataclass(frozen=True, kw_only=True)
class AirConfig:
    """The loopback air: what a cable/the ether adds between two loopback radios."""

    noise_floor_dbfs: float = spec(-60.0, lo=-200.0, hi=0.0, doc="complex AWGN power per sample")
    lo_offset_ppm: float = spec(0.0, lo=-100.0, hi=100.0, doc="receiver LO error vs transmitter")
    clock_offset_ppm: float = spec(0.0, lo=-100.0, hi=100.0, doc="receiver sample-clock error")


@dataclass(frozen=True, kw_only=True)
class CallConfig:
    """The voice call: codec, duplex mode, who dials, when, and the speech sent each way."""

    vocoder: str = spec("opus", choices=("opus", "codec2"), doc="voice codec")
    duplex: str = spec("full", choices=("full", "dl_only"), doc="dl_only for half-duplex handset radios")
    placed_by: str = spec("handset", choices=ROLES, doc="which side dials")
    start_s: float = spec(1.0, lo=0.0, hi=3600.0, doc="when the call is dialled (stream time)")
    hold_s: float = spec(20.0, lo=0.0, hi=3600.0, doc="talk time before release")
    hold_until_end: bool = spec(False, doc="talk until 1 s before the run ends (hold_s ignored): the call lasts "
                                "as long as the run, e.g. skycall run --duration-s 300")
    speech_dl: str = spec("", doc="WAV sent satellite->phone (empty: espeak-ng speech)")
    speech_ul: str = spec("", doc="WAV sent phone->satellite (empty: espeak-ng speech)")
    feeder_ground_ms: float = spec(16.4, lo=0.0, hi=1000.0, doc="one-way feeder link + ground network delay "
                                   "added to mouth-to-ear: 6.4 ms satellite-gateway (600 km, gateway at 10 deg "
                                   "elevation) + 10 ms ground network to the far end")


@dataclass(frozen=True, kw_only=True)
class ChannelConfig:
    """What the handset's surroundings add (TOML ``[channel]``): co-channel beams, fading, shadowing."""

    interference: str = spec("co-channel", choices=("co-channel", "off"), doc="the other loaded beams of the "
                             "serving colour, emulated as signals at the handset's input")
    max_interferers: int = spec(8, lo=1, hi=64, doc="strongest co-channel beams emulated as signals")
    fading: str = spec("none", choices=("none", "rician", "rayleigh"), doc="flat fading: rician (K from TR 38.811 "
                       "by elevation and environment, or k_factor_db), rayleigh (no line of sight)")
    environment: str = spec("suburban", choices=("dense-urban", "urban", "suburban", "rural"),
                            doc="TR 38.811 environment: K factor, LOS probability, shadow fading, clutter loss")
    k_factor_db: float | None = spec(None, lo=-20.0, hi=40.0, doc="fixed Rician K (default: by elevation)")
    speed_kmh: float = spec(3.0, lo=0.0, hi=500.0, doc="handset speed: Doppler spread v f / c, state changes")
    heading_deg: float = spec(0.0, lo=-360.0, hi=360.0, doc="handset's direction of motion (compass bearing)")
    shadowing: str = spec("margin", choices=("margin", "states", "none"), doc="margin: the budget's static margin; "
                          "states: LOS/NLOS Markov states (TR 38.811 statistics) instead; none: neither")
    shadowing_corr_m: float = spec(50.0, lo=1.0, hi=10000.0, doc="LOS/NLOS state decorrelation distance")


@dataclass(frozen=True, kw_only=True)
class RadioLinkConfig:
    """The link budget (TOML ``[link]`` table; loopback wiring then goes in ``[[link.stream]]``)."""

    preset: str = spec("tr38821-set1", choices=("tr38821-set1", "tr38821-set2", "skycall-v1"),
                       doc="link-budget parameter set (TR 38.821 Set-1/Set-2, or the kit's original numbers)")


@dataclass(frozen=True, kw_only=True)
class ProcessConfig:
    """One OS process of the flowgraph and the radio it drives."""

    name: str = spec(pattern=PROCESS_NAME_PATTERN, doc="unique process name (also OUT/NAME.log)")
    role: str = spec(choices=ROLES, doc="what the process runs")
    radio: str = spec("loopback", doc="hardware profile name (hw_profiles/NAME.toml) or path")
    radio_args: str = spec("", doc="device URI/args; empty: the profile's default")
    sample_rate_sps: float = spec(BASEBAND_RATE_SPS, lo=1e3, hi=100e6, doc="radio sample rate")
    tx_freq_hz: float = spec(0.0, lo=0.0, hi=100e9, doc="transmit centre frequency (0: role default)")
    rx_freq_hz: float = spec(0.0, lo=0.0, hi=100e9, doc="receive centre frequency (0: role default)")
    tx_gain_db: float | None = spec(None, lo=-120.0, hi=120.0, doc="transmit gain (profile units)")
    rx_gain_db: float | None = spec(None, lo=-120.0, hi=120.0, doc="receive gain (profile units)")
    transmit: bool = spec(True, doc="false: receive only (downlink-only handset)")
    receiver_profile: str = spec("satellite", choices=("satellite", "unmodified"), doc="handset receiver")
    tcxo_ppm: float = spec(2.5, lo=-50.0, hi=50.0, doc="handset: its oscillator's error before it syncs "
                           "(+: fast); applied to its downlink reception and uplink transmission")

    @property
    def tx_freq(self) -> float:
        return self.tx_freq_hz or (DL_FREQ_HZ if self.role == "groundstation" else UL_FREQ_HZ)

    @property
    def rx_freq(self) -> float:
        return self.rx_freq_hz or (UL_FREQ_HZ if self.role == "groundstation" else DL_FREQ_HZ)


@dataclass(frozen=True, kw_only=True)
class LinkConfig:
    """A sample stream from one process's ``tx`` port to another's ``rx`` port (loopback radios)."""

    src: str = spec(doc="PROCESS.tx")
    dst: str = spec(doc="PROCESS.rx")


#: srsRAN's sample rate (S/s) for each LTE cell bandwidth in resource blocks (its ZMQ radio's base_srate)
SRSRAN_RATES_SPS = {6: 1.92e6, 15: 3.84e6, 25: 5.76e6, 50: 11.52e6, 75: 15.36e6, 100: 23.04e6}


@dataclass(frozen=True, kw_only=True)
class SrsranConfig:
    """srsRAN 4G's eNodeB and UE linked through ``skycall bridge`` (docs/srsran.md); its presence makes the
    flowgraph an srsRAN run: no ``[[process]]``, the runner starts srsenb, the bridge and srsue itself."""

    dir: str = spec("", doc="srsRAN install (bin/, lib/, conf/), relative to the flowgraph; empty: $SKYCALL_SRSRAN")
    n_prb: int = spec(6, choices=tuple(SRSRAN_RATES_SPS), doc="LTE cell bandwidth in resource blocks")
    channel: str = spec("pass", choices=("pass", "static", "off", "direct"),
                        doc="pass: the LEO pass; static: only the offsets below; off: bit-exact passthrough; "
                            "direct: no bridge (the UE talks to the eNB)")
    full_delay: bool = spec(False, doc="apply the whole one-way delay, not only the in-beam differential delay")
    dl_noise_db: float = spec(26.0, lo=-200.0, hi=200.0, doc="noise power per sample at the UE, dB re 1 (srsenb: ~56)")
    ul_noise_db: float = spec(26.0, lo=-200.0, hi=200.0, doc="noise power per sample at the eNodeB, dB re 1")
    dl_offset_hz: float = spec(0.0, lo=-200e3, hi=200e3, doc="constant frequency offset added to the downlink")
    dl_rate_hz_s: float = spec(0.0, lo=0.0, hi=1e6, doc="downlink Doppler rate added as a triangle wave")
    dl_rate_span_hz: float = spec(1000.0, lo=1.0, hi=100e3, doc="peak offset of that triangle wave")
    ul_offset_hz: float = spec(0.0, lo=-200e3, hi=200e3, doc="constant frequency offset added to the uplink")
    delay_s: float = spec(0.0, lo=0.0, hi=0.05, doc="one-way delay added in each direction")
    stop_after_rach: int = spec(0, lo=0, hi=1000, doc="end the run after this many completed random accesses")
    prach_zero_correlation_zone: int = spec(-1, lo=-1, hi=15, doc="PRACH zeroCorrelationZoneConfig set in a copy of "
                                            "the install's sib.conf (larger: longer round trips); -1: unchanged")
    enb_args: list[str] = spec(default_factory=list, doc="extra srsenb command-line options")
    ue_args: list[str] = spec(default_factory=list, doc="extra srsue command-line options")


@dataclass(frozen=True, kw_only=True)
class Flowgraph:
    """A whole flowgraph file."""

    name: str = spec(doc="flowgraph name")
    description: str = spec("", doc="what it demonstrates")
    seed: int = spec(1, lo=0, hi=2**63 - 1, doc="seed of every random source")
    duration_s: float = spec(25.0, lo=0.1, hi=86400.0, doc="stream time to run")
    realtime: bool = spec(False, doc="pace streams at the sample rate (radios always are)")
    allow_any_tx: bool = spec(False, doc="override the transmit guard (cabled set-ups only)")
    pass_: PassConfig = spec(default_factory=PassConfig, doc="satellite pass")
    beam: BeamConfig = spec(default_factory=BeamConfig, doc="array and beam")
    air: AirConfig = spec(default_factory=AirConfig, doc="loopback air")
    call: CallConfig = spec(default_factory=CallConfig, doc="the call")
    channel: ChannelConfig = spec(default_factory=ChannelConfig, doc="interference, fading, shadowing")
    radio_link: RadioLinkConfig = spec(default_factory=RadioLinkConfig, doc="link budget ([link] table)")
    process: list[ProcessConfig] = spec(default_factory=list, doc="processes")
    link: list[LinkConfig] = spec(default_factory=list, doc="loopback links")
    virtual_pluto: list[VirtualPlutoConfig] = spec(default_factory=list, doc="hardware twins skycall run starts")
    srsran: SrsranConfig | None = spec(None, doc="srsRAN eNodeB and UE through skycall bridge")
    path: str = field(default="", compare=False)
    profiles: dict = field(default_factory=dict, compare=False)  # process name -> HwProfile

    def proc(self, name: str) -> ProcessConfig:
        """The process called ``name`` (KeyError when absent)."""
        for p in self.process:
            if p.name == name:
                return p
        raise KeyError(name)


def _port(flow: Flowgraph, ref: str, want: str, key: str) -> ProcessConfig:
    name, _, port = ref.partition(".")
    names = [p.name for p in flow.process]
    if name not in names or port != want:
        raise ConfigError(flow.path, key, f"{ref!r} must be PROCESS.{want} with PROCESS one of {names}")
    return flow.proc(name)


def _check_process(flow: Flowgraph, i: int, p: ProcessConfig, prof: HwProfile) -> None:
    key = f"process[{i}]"
    uses_tx = p.transmit and not (p.role == "handset" and flow.call.duplex == "dl_only")
    ratio = Fraction(p.sample_rate_sps / BASEBAND_RATE_SPS).limit_denominator(64)
    if abs(float(ratio) * BASEBAND_RATE_SPS - p.sample_rate_sps) > 1e-6 * p.sample_rate_sps:
        raise ConfigError(
            flow.path,
            f"{key}.sample_rate_sps",
            f"{p.sample_rate_sps:.0f} S/s is not a rational multiple (denominator <= 64) "
            f"of the {BASEBAND_RATE_SPS:.0f} S/s baseband",
        )
    prof.check_tuning(p.rx_freq, p.sample_rate_sps)
    if uses_tx:
        prof.check_tuning(p.tx_freq, p.sample_rate_sps)
    if prof.duplex == "half" and uses_tx:
        raise ConfigError(
            flow.path,
            f"{key}.radio",
            f"{prof.name} is half duplex: it cannot transmit and receive at once; "
            'set [call] duplex = "dl_only" (downlink-only call) or transmit = false',
        )
    for gain, rng, gkey in (
        (p.rx_gain_db, prof.rx_gain, "rx_gain_db"),
        (p.tx_gain_db, prof.tx_gain, "tx_gain_db"),
    ):
        if gain is not None and not rng.min_db <= gain <= rng.max_db:
            raise ConfigError(
                flow.path,
                f"{key}.{gkey}",
                f"{gain} dB is outside {prof.name}'s range [{rng.min_db}, {rng.max_db}] dB",
            )
    if uses_tx and not flow.allow_any_tx:
        tx_gain = (
            p.tx_gain_db if p.tx_gain_db is not None else (prof.tx_gain.default_db or prof.tx_gain.min_db)
        )
        try:
            prof.tx_guard.check(p.tx_freq, BASEBAND_RATE_SPS / 20 * 1.35, tx_gain)
        except ConfigError as err:
            raise ConfigError(flow.path, f"{key} ({prof.path}: {err.key})", err.message) from None


def _check(flow: Flowgraph) -> list[ConfigError]:
    errors: list[ConfigError] = []
    names = [p.name for p in flow.process]
    if flow.srsran is not None and (flow.process or flow.link):
        errors.append(ConfigError(flow.path, "srsran", "an srsRAN flowgraph has no [[process]] or [[link]]: "
                                  "the runner starts srsenb, skycall bridge and srsue"))
    elif not flow.process and flow.srsran is None:
        errors.append(ConfigError(flow.path, "process", "at least one [[process]] is required"))
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        errors.append(ConfigError(flow.path, "process", f"duplicate process names: {sorted(dupes)}"))
    for i, p in enumerate(flow.process):
        try:
            prof = load_hw_profile(resolve_path(flow, p.radio) if p.radio.endswith(".toml") else p.radio)
            flow.profiles[p.name] = prof
            _check_process(flow, i, p, prof)
        except ConfigErrors as errs:
            errors.extend(errs.errors)
        except ConfigError as err:
            errors.append(
                err if err.file == flow.path else ConfigError(flow.path, f"process[{i}].radio", str(err))
            )
    for i, link in enumerate(flow.link):
        try:
            src = _port(flow, link.src, "tx", f"link[{i}].src")
            dst = _port(flow, link.dst, "rx", f"link[{i}].dst")
            for p in (src, dst):
                if flow.profiles.get(p.name) and flow.profiles[p.name].driver != "loopback":
                    raise ConfigError(
                        flow.path,
                        f"link[{i}]",
                        f"process {p.name!r} uses a real radio: "
                        "links are only for loopback radios (real radios are linked by cable)",
                    )
            if src.sample_rate_sps != dst.sample_rate_sps:
                raise ConfigError(
                    flow.path,
                    f"link[{i}]",
                    f"rate mismatch: {link.src} sends "
                    f"{src.sample_rate_sps:.0f} S/s but {link.dst} expects {dst.sample_rate_sps:.0f}",
                )
            if abs(src.tx_freq - dst.rx_freq) > 1.0:
                raise ConfigError(
                    flow.path,
                    f"link[{i}]",
                    f"frequency mismatch: {link.src} transmits at "
                    f"{src.tx_freq / 1e6:.3f} MHz, {link.dst} listens at {dst.rx_freq / 1e6:.3f} MHz",
                )
        except ConfigError as err:
            errors.append(err)
    errors += [ConfigError(flow.path, key, problem) for key, problem in check_twins(flow.virtual_pluto)]
    return errors + _check_inputs(flow)


def parse_utc(text: str) -> datetime:
    """An ISO 8601 time with a zone (``2026-01-01T00:00:00Z``); ValueError otherwise."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError("no time zone")
    return when


def _check_inputs(flow: Flowgraph) -> list[ConfigError]:
    """The files and values a run reads after start-up: refuse them now, not mid-call."""
    errors = []
    try:
        parse_utc(flow.pass_.start_utc)
    except ValueError:
        errors.append(ConfigError(flow.path, "pass.start_utc", f"{flow.pass_.start_utc!r} is not an ISO 8601 "
                                  "time with a zone, such as 2026-01-01T00:00:00Z"))
    if flow.pass_.tle:
        from groundstation.orbit import TLEError, read_tle_file

        try:
            read_tle_file(resolve_path(flow, flow.pass_.tle))
        except TLEError as err:
            errors.append(ConfigError(flow.path, "pass.tle", str(err)))
    for key in ("speech_dl", "speech_ul"):
        name = getattr(flow.call, key)
        if name:
            problem = _wav_problem(resolve_path(flow, name))
            if problem:
                errors.append(ConfigError(flow.path, f"call.{key}", problem))
    return errors


def _wav_problem(path: Path) -> str | None:
    """Why the speech file ``path`` cannot be played into a call, or None."""
    import numpy as np
    import soundfile

    try:
        data, _ = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as err:
        return f"cannot read the speech file {path}: {err}"
    if data.shape[0] == 0:
        return f"the speech file {path} holds no samples"
    bad = int(np.count_nonzero(~np.isfinite(data)))
    if bad:
        return f"the speech file {path} holds {bad} NaN or infinite samples"
    return None


#: Python field -> TOML table name, where they differ (``pass`` is a keyword; ``[link]`` is the link budget)
TOML_NAMES = {"pass_": "pass", "radio_link": "link"}


def load_flowgraph(path: str | Path) -> Flowgraph:
    """Load and fully validate a flowgraph file; raise :class:`ConfigErrors` listing every problem."""
    path = Path(path)
    data = read_toml(path)
    if "pass" in data:
        data["pass_"] = data.pop("pass")
    if isinstance(data.get("link"), dict):  # [link] preset = ... (radio link); loopback wiring: [[link.stream]]
        table = dict(data.pop("link"))
        data["link"] = table.pop("stream", [])
        data["radio_link"] = table
    try:
        flow = load_dataclass(Flowgraph, data, str(path))
    except ConfigErrors as errs:
        raise ConfigErrors([_rename(e) for e in errs.errors]) from None
    flow = dataclasses.replace(flow, path=str(path), profiles={})
    errors = _check(flow)
    if errors:
        raise ConfigErrors(errors)
    return flow


def _rename(err: ConfigError) -> ConfigError:
    """Show the TOML spellings ``pass`` and ``link`` for the Python fields ``pass_`` and ``radio_link``."""
    key = err.key
    for field_name, toml in TOML_NAMES.items():
        key = key.replace(field_name, toml, 1) if key.startswith(field_name) else key
    return ConfigError(err.file, key, err.message.replace("pass_", "pass").replace("radio_link", "link"))


def resolve_path(flow: Flowgraph, rel: str) -> Path:
    """A path named in a flowgraph, relative to the flowgraph file."""
    p = Path(rel)
    return p if p.is_absolute() else Path(flow.path).parent / p


__all__ = [
    "Flowgraph",
    "ProcessConfig",
    "LinkConfig",
    "PassConfig",
    "BeamConfig",
    "AirConfig",
    "CallConfig",
    "ChannelConfig",
    "RadioLinkConfig",
    "SrsranConfig",
    "SRSRAN_RATES_SPS",
    "load_flowgraph",
    "resolve_path",
    "parse_utc",
    "PROCESS_NAME_PATTERN",
]
