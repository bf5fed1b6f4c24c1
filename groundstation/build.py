"""Assemble the satellite core from a flowgraph: scenario → pass channel → satellite."""

import numpy as np

from groundstation.compensation import compensated_delay_s
from groundstation.handset_channel import handset_paths, slot_link_quality
from groundstation.pass_channel import PassPath, PassTables
from groundstation.satellite import Satellite
from groundstation.scenario import Scenario, build_scenario
from groundstation.uplink_window import UplinkWindow
from handset_emu.build import handset_process
from skycall.call.build import SAT_ID, Speech, waveform
from skycall.call.held import handset_limits
from skycall.call.timing import common_ta_s
from skycall.config.flowgraph import Flowgraph
from skycall.dsp.level import LevelNormaliser
from skycall.rng import make_rng
from skycall.vocoder.base import get_vocoder

#: RMS of a real radio's downlink (signal + the transmitted receiver noise) at the pass's best Es/N0,
#: full scale 1: about 10 dB of headroom for the peaks
REAL_RADIO_DL_RMS = 0.3


def dl_noise_power(flow: Flowgraph, scenario: Scenario, loopback: bool, sps: int) -> float:
    """Noise power per sample N the downlink Es/N0 refers to.

    Loopback: the air's noise floor (the air adds it). A real radio transmits the noise with the
    signal (:mod:`groundstation.handset_channel`): N is chosen so that signal plus noise have an RMS of
    :data:`REAL_RADIO_DL_RMS` at the best Es/N0 of the pass, where the signal's power per sample is
    ``N·10^(Es/N0/10)/sps``: ``N = RMS² / (1 + 10^(Es/N0_max/10)/sps)``.
    """
    if loopback:
        return 10.0 ** (flow.air.noise_floor_dbfs / 10.0)
    best = float(np.nanmax(scenario.trajectory.dl.esn0_db)) + flow.beam.esn0_offset_db
    return REAL_RADIO_DL_RMS**2 / (1.0 + 10.0 ** (best / 10.0) / sps)


def build_satellite(flow: Flowgraph, speech: Speech, loopback: bool = True,
                    scenario: Scenario | None = None) -> tuple[Satellite, Scenario]:
    """The ground station's core for ``flow`` (pass, beams, compensation, modem, call, voice)."""
    wf = waveform()
    scenario = scenario or build_scenario(flow)
    fs, comp, offset = wf.sample_rate_sps, flow.beam.precompensation, flow.beam.esn0_offset_db
    traj = scenario.trajectory
    noise = dl_noise_power(flow, scenario, loopback, wf.sps)
    dl_only = flow.call.duplex == "dl_only"
    delay_comp = flow.beam.delay_precompensation
    dl_tables = PassTables.from_trajectory(traj, "dl", fs, offset, compensate_delay=delay_comp)
    dl = PassPath(dl_tables, fs, wf.sps, noise, comp, uplink=False)
    ul = window = None
    level = None if loopback else LevelNormaliser(fs)  # a real ADC's level varies; it delays by one block
    if not dl_only:
        ul = PassPath(PassTables.from_trajectory(traj, "ul", fs, offset, compensate_delay=delay_comp), fs,
                      wf.sps, 10.0 ** (flow.air.noise_floor_dbfs / 10.0), comp, uplink=True,
                      rng=make_rng(flow.seed + 7))
        window = UplinkWindow(fs, wf.samples_per_frame, common_ta_s(dl_tables.delay_ref_s, delay_comp),
                              latency_s=level.block / fs if level is not None else 0.0)
    dl, ul = handset_paths(flow, traj, wf, dl, ul, noise, level,  # + co-channel beams, fading, shadowing ([channel])
                           transmit_dl_noise=not loopback)
    beam_id = int(traj.beam_id[0])
    sat = Satellite(wf, dl, ul, get_vocoder(flow.call.vocoder), speech.dl, SAT_ID, beam_id, dl_only=dl_only,
                    ul_window=window)
    return sat, scenario


def pass_record(flow: Flowgraph, scenario: Scenario, n_slots: int, lo_offset_hz: float = 0.0) -> dict:
    """Arrays for the report: the pass over time and, per slot, the offset the phone's receiver really
    has to correct (Doppler left by the beam, the loopback air's LO offset ``lo_offset_hz`` and the
    phone's TCXO error)."""
    traj = scenario.trajectory
    dl = traj.dl
    residual = dl.residual_doppler_hz if flow.beam.precompensation else dl.doppler_hz
    t_slot = (np.arange(n_slots) + 0.5) * 0.04
    hs = handset_process(flow)
    lo_offset_hz -= hs.tcxo_ppm * 1e-6 * hs.rx_freq  # the phone's own oscillator error
    path_delay = compensated_delay_s(dl.delay_s, dl.residual_delay_s)[0] if flow.beam.delay_precompensation \
        else dl.delay_s
    return {
        "t_s": traj.t_s,
        "path_delay_s": path_delay,
        "residual_delay_s": dl.residual_delay_s,
        "doppler_hz": dl.doppler_hz,
        "residual_hz": dl.residual_doppler_hz,
        "esn0_db": dl.esn0_db + flow.beam.esn0_offset_db,
        "elevation_deg": traj.elevation_deg,
        "truth_cfo_hz": np.interp(t_slot, traj.t_s, residual) + lo_offset_hz,
        **slot_link_quality(flow, traj, waveform(), n_slots),  # per slot: sinr_db, c_over_i_db, channel_gain_db
    }


def scenario_info(flow: Flowgraph, scenario) -> dict:
    """The scenario block of ``summary.json``."""
    traj = scenario.trajectory
    proc = handset_process(flow)
    return {
        "flowgraph": flow.name,
        "seed": flow.seed,
        "duration_s": flow.duration_s,
        "receiver_profile": proc.receiver_profile,
        "tcxo_ppm": proc.tcxo_ppm,
        "handset_limits": handset_limits(proc.receiver_profile, proc.rx_freq),
        "precompensation": flow.beam.precompensation,
        "vocoder": flow.call.vocoder,
        "duplex": flow.call.duplex,
        "placed_by": flow.call.placed_by,
        "handset_offset_km": flow.beam.handset_offset_km,
        "beam_diameter_km": scenario.beam_diameter_m / 1e3,
        "max_elevation_deg": scenario.pass_.max_elevation_deg,
        "elevation_deg": [float(traj.elevation_deg[0]), float(traj.elevation_deg[-1])],
        "doppler_hz": [float(traj.dl.doppler_hz[0]), float(traj.dl.doppler_hz[-1])],
        "residual_doppler_hz": [float(traj.dl.residual_doppler_hz[0]), float(traj.dl.residual_doppler_hz[-1])],
        "esn0_db_min": float(traj.dl.esn0_db.min() + flow.beam.esn0_offset_db),
        "feeder_ground_ms": flow.call.feeder_ground_ms,
        **delay_info(flow, traj),
        **link_info(flow, scenario),
    }


def link_info(flow: Flowgraph, scenario) -> dict:
    """The link-budget preset, array, cells and ``[channel]`` of a run (for ``summary.json``)."""
    ch, cells = flow.channel, scenario.cells
    return {
        "link_preset": flow.radio_link.preset,
        "taper": flow.beam.taper,
        "cell_layout": flow.beam.cell_layout,
        "reuse": flow.beam.reuse,
        "cell_spacing_km": [cells.spacing_m / 1e3, cells.spacing_m * cells.stretch / 1e3] if cells else None,
        "interference": ch.interference,
        "fading": ch.fading if ch.fading == "none" else f"{ch.fading}:{ch.environment}",
        "shadowing": ch.shadowing if ch.shadowing != "states" else f"states:{ch.environment}",
        "speed_kmh": ch.speed_kmh,
        "c_over_i_db_min": float(np.nanmin(scenario.trajectory.c_over_i_db)),
    }


def delay_info(flow: Flowgraph, traj) -> dict:
    """What the handset sees of the delay: the differential delay to its beam centre and its drift
    (applied when the satellite compensates the beam-centre delay), or the whole propagation delay."""
    dl = traj.dl
    seen = dl.residual_delay_s if flow.beam.delay_precompensation else dl.delay_s
    drift = np.gradient(seen, traj.t_s)
    steps = np.abs(np.diff(seen)) > 20e-6  # a serving-beam change moves the reference centre
    smooth = ~(np.r_[steps, False] | np.r_[False, steps])
    _, tau0 = compensated_delay_s(dl.delay_s, dl.residual_delay_s)
    return {
        "delay_precompensation": flow.beam.delay_precompensation,
        "delay_seen_us": [float(np.nanmin(seen)) * 1e6, float(np.nanmax(seen)) * 1e6],
        "delay_drift_us_per_s_max": float(np.nanmax(np.abs(drift[smooth]))) * 1e6,
        "delay_reference_ms": tau0 * 1e3 if flow.beam.delay_precompensation else None,
        "common_ta_us": common_ta_s(tau0, flow.beam.delay_precompensation) * 1e6,
    }
