"""Assemble the satellite core from a flowgraph: scenario → pass channel → satellite."""

import numpy as np

from groundstation.pass_channel import PassPath, PassTables
from groundstation.satellite import Satellite
from groundstation.scenario import Scenario, build_scenario
from handset_emu.build import handset_process
from skycall.call.build import SAT_ID, Speech, waveform
from skycall.config.flowgraph import Flowgraph
from skycall.dsp.level import LevelNormaliser
from skycall.rng import make_rng
from skycall.vocoder.base import get_vocoder

#: headroom of the strongest downlink sample over a real radio's full scale
REAL_RADIO_PEAK_ES_AMPLITUDE = 0.3


def dl_noise_power(flow: Flowgraph, scenario: Scenario, loopback: bool, sps: int) -> float:
    """Noise power per sample the downlink Es/N0 refers to.

    Loopback: the air's noise floor. A real radio: chosen so the best Es/N0 of the pass gives an
    amplitude of ``REAL_RADIO_PEAK_ES_AMPLITUDE`` (the receiver's own noise then sets the real SNR).
    """
    if loopback:
        return 10.0 ** (flow.air.noise_floor_dbfs / 10.0)
    best = float(np.nanmax(scenario.trajectory.dl.esn0_db)) + flow.beam.esn0_offset_db
    return REAL_RADIO_PEAK_ES_AMPLITUDE**2 * sps / 10.0 ** (best / 10.0)


def build_satellite(flow: Flowgraph, speech: Speech, loopback: bool = True,
                    scenario: Scenario | None = None) -> tuple[Satellite, Scenario]:
    """The ground station's core for ``flow`` (pass, beams, compensation, modem, call, voice)."""
    wf = waveform()
    scenario = scenario or build_scenario(flow)
    fs, comp, offset = wf.sample_rate_sps, flow.beam.precompensation, flow.beam.esn0_offset_db
    traj = scenario.trajectory
    noise = dl_noise_power(flow, scenario, loopback, wf.sps)
    dl_only = flow.call.duplex == "dl_only"
    dl = PassPath(PassTables.from_trajectory(traj, "dl", fs, comp, offset), fs, wf.sps, noise, comp, uplink=False)
    ul = None
    if not dl_only:
        ul = PassPath(PassTables.from_trajectory(traj, "ul", fs, comp, offset), fs, wf.sps,
                      10.0 ** (flow.air.noise_floor_dbfs / 10.0), comp, uplink=True, rng=make_rng(flow.seed + 7),
                      level=None if loopback else LevelNormaliser(fs))  # a real ADC's level varies
    beam_id = int(traj.beam_id[0])
    sat = Satellite(wf, dl, ul, get_vocoder(flow.call.vocoder), speech.dl, SAT_ID, beam_id, dl_only=dl_only)
    return sat, scenario


def pass_record(flow: Flowgraph, scenario: Scenario, n_slots: int, lo_offset_hz: float = 0.0) -> dict:
    """Arrays for the report: the pass over time and, per slot, the offset the phone really receives."""
    traj = scenario.trajectory
    dl = traj.dl
    residual = dl.residual_doppler_hz if flow.beam.precompensation else dl.doppler_hz
    t_slot = (np.arange(n_slots) + 0.5) * 0.04
    return {
        "t_s": traj.t_s,
        "doppler_hz": dl.doppler_hz,
        "residual_hz": dl.residual_doppler_hz,
        "esn0_db": dl.esn0_db + flow.beam.esn0_offset_db,
        "elevation_deg": traj.elevation_deg,
        "truth_cfo_hz": np.interp(t_slot, traj.t_s, residual) + lo_offset_hz,
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
    }
