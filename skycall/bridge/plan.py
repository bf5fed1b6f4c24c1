"""What the bridge applies in each direction: tables keyed to the absolute sample index.

Sample n of a direction is stream time t = n / fs after the run's start (the pass's ``call_offset_s``
after culmination): the pass advances with the samples forwarded, never with the wall clock.

``channel = "pass"`` (from the flowgraph's ``[pass]``/``[beam]``, through :mod:`groundstation.scenario`):

* carriers: L-band MSS n255, DL 1545.0 MHz, UL 1646.5 MHz, whatever band the eNodeB is configured for
  (over the ZMQ radio its EARFCN is only a label);
* Doppler f_d(t) of the handset at each carrier (applied) and, with ``[beam] precompensation``, the
  Doppler f_c(t) of its beam's centre (removed: DL before the channel, UL after it);
* delay: the network absorbs the common delay of the beam centre (an NTN eNodeB's gateway side does),
  so the UE gets only the in-beam differential delay and its drift,
  τ(t) = τ_h(t) − τ_c(t) + b, with the fixed latency b = 2/fs + max(0, −min τ_h − τ_c) that keeps τ ≥ 2
  samples (the interpolator's minimum); ``full_delay`` applies τ_h(t) itself (2–6 ms at 600 km), which a
  terrestrial eNodeB/UE cannot absorb (LTE timing advance ≤ 0.67 ms);
* gain: the link budget's Es/N0 (beam pattern, scan loss, path loss) relative to its best in the run.

τ_c needs the beam centre's range: the satellite's position is rebuilt from the trajectory's azimuth,
elevation and range at the handset, r = p_h + ρ·(E sin az cos el + N cos az cos el + U sin el), and
checked against the trajectory's own beam-centre Doppler (the serving beam must be the handset's beam).

``channel = "static"``: no pass, only the configured offsets, a triangle-wave Doppler ramp and a delay
(the envelope sweeps). Both modes add ``[srsran]``'s dl/ul offsets, ramp and extra delay.

What the eNodeB receives: a terrestrial UE locks its uplink carrier to the downlink it receives (within
0.1 ppm), and srsUE does so by default (it takes its DL CFO estimate for its own oscillator's error and
shifts its uplink by it, scaled to the UL carrier). A DL offset δ_dl therefore reaches the eNodeB as
δ_dl·f_UL/f_DL on top of the bridge's UL offset δ_ul: :meth:`BridgePlan.ul_at_enb_hz` (after beam-centre
compensation in a pass ≈ 2·δ_ul, the "satellite sees twice the residual" of NTN).
"""

from dataclasses import dataclass

import numpy as np

from skycall.config.flowgraph import DL_FREQ_HZ, SRSRAN_RATES_SPS, UL_FREQ_HZ, Flowgraph, SrsranConfig
from skycall.errors import SkycallError

_MIN_DELAY_SAMPLES = 2.0


@dataclass(frozen=True)
class LinkPlan:
    """One direction: piecewise-linear tables on absolute sample indices ``index`` (int64, increasing).

    ``doppler_hz`` is applied (+), ``centre_hz`` removed (−; None: no compensation), ``delay_s`` the
    one-way delay (None: no delay stage), ``gain_db`` the power gain; ``noise_power`` per complex sample.
    """

    freq_hz: float
    index: np.ndarray
    doppler_hz: np.ndarray
    centre_hz: np.ndarray | None
    delay_s: np.ndarray | None
    gain_db: np.ndarray
    noise_power: float

    @property
    def residual_hz(self) -> np.ndarray:
        """The frequency offset the receiver is left with: f_d − f_c."""
        return self.doppler_hz - (self.centre_hz if self.centre_hz is not None else 0.0)


@dataclass(frozen=True)
class BridgePlan:
    """Both directions, the sample rate and the pass numbers for the summary (``info``, JSON-ready)."""

    sample_rate_sps: float
    dl: LinkPlan
    ul: LinkPlan
    info: dict

    def ul_at_enb_hz(self, n) -> np.ndarray:
        """Offset of the UE's uplink at the eNodeB at sample(s) n: δ_ul + δ_dl·f_UL/f_DL (the UE locked to the DL)."""
        n = np.asarray(n, dtype=np.float64)
        dl = np.interp(n, self.dl.index, self.dl.residual_hz)
        return np.interp(n, self.ul.index, self.ul.residual_hz) + dl * self.ul.freq_hz / self.dl.freq_hz


def _plan(fs: float, links: dict, info: dict) -> BridgePlan:
    """The plan, its info completed with the uplink offset at the eNodeB over the run (UE locked to the DL)."""
    plan = BridgePlan(fs, links["dl"], links["ul"], info)
    at_enb = plan.ul_at_enb_hz(np.union1d(plan.dl.index, plan.ul.index))
    info["ul"]["offset_at_enb_with_ue_lock_hz"] = [float(np.min(at_enb)), float(np.max(at_enb))]
    return plan


def triangle(t_s: float, rate_hz_s: float, span_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Corner points (t, f) of a triangle wave from 0 Hz with slopes ±rate, peaks ±span, covering [0, t_s]."""
    if rate_hz_s <= 0.0:
        return np.array([0.0]), np.array([0.0])
    quarter = span_hz / rate_hz_s
    n = int(np.ceil((t_s + quarter) / (2.0 * quarter))) + 1
    t = np.concatenate([[0.0], quarter + 2.0 * quarter * np.arange(n)])
    f = np.concatenate([[0.0], span_hz * (-1.0) ** np.arange(n)])
    return t, f


def _on_grid(t_grid: np.ndarray, t_pts: np.ndarray, f_pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of the two time grids (within the first) and the points' values on it."""
    t = np.union1d(t_grid, t_pts[(t_pts > t_grid[0]) & (t_pts < t_grid[-1])])
    return t, np.interp(t, t_pts, f_pts)


def _index(t_s: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample indices of the times and the mask keeping the first of points that round together."""
    index = np.round(t_s * fs).astype(np.int64)
    return index, np.concatenate([[True], np.diff(index) > 0])


def _link_info(plan: LinkPlan, raw_hz: np.ndarray, t_s: np.ndarray) -> dict:
    rate = np.gradient(plan.residual_hz, t_s) if t_s.size > 1 else np.zeros(1)
    info = {
        "freq_hz": plan.freq_hz,
        "doppler_hz": [float(np.min(raw_hz)), float(np.max(raw_hz))],
        "doppler_after_compensation_hz": [float(np.min(plan.residual_hz)), float(np.max(plan.residual_hz))],
        "max_abs_doppler_hz": float(np.max(np.abs(raw_hz))),
        "max_abs_offset_at_receiver_hz": float(np.max(np.abs(plan.residual_hz))),
        "max_abs_rate_at_receiver_hz_s": float(np.max(np.abs(rate))),
        "gain_db": [float(np.min(plan.gain_db)), float(np.max(plan.gain_db))],
        "noise_db": float(10.0 * np.log10(plan.noise_power)) if plan.noise_power > 0 else None,
    }
    if plan.delay_s is not None:
        info["delay_applied_s"] = [float(np.min(plan.delay_s)), float(np.max(plan.delay_s))]
    return info


def pass_plan(flow: Flowgraph) -> BridgePlan:
    """The LEO pass of ``flow`` at the LTE rate of its ``[srsran] n_prb`` (see the module docstring)."""
    from groundstation.scenario import build_scenario

    cfg = flow.srsran or SrsranConfig()
    fs = SRSRAN_RATES_SPS[cfg.n_prb]
    scenario = build_scenario(flow)
    traj = scenario.trajectory
    if np.any(traj.beam_id < 0):
        t_bad = float(traj.t_s[np.argmax(traj.beam_id < 0)])
        raise SkycallError(f"the handset is not served {t_bad:.2f} s into the run (below the mask or beyond the "
                           "scan limit): move [pass] call_offset_s inside the pass or shorten duration_s")
    comp = flow.beam.precompensation
    tau_h = traj.dl.delay_s
    diff = traj.dl.residual_delay_s  # to the serving beam's centre, whose delay the network absorbs
    latency_s = _MIN_DELAY_SAMPLES / fs + max(0.0, -float(np.min(diff)))
    delay = (tau_h if cfg.full_delay else np.maximum(diff + latency_s, _MIN_DELAY_SAMPLES / fs)) + cfg.delay_s
    t_ramp, f_ramp = triangle(float(traj.t_s[-1]), cfg.dl_rate_hz_s, cfg.dl_rate_span_hz)
    links, raw = {}, {}
    for name, lt, offset, noise_db in (("dl", traj.dl, cfg.dl_offset_hz, cfg.dl_noise_db),
                                         ("ul", traj.ul, cfg.ul_offset_hz, cfg.ul_noise_db)):
        ramp = (t_ramp, f_ramp) if name == "dl" else (np.array([0.0]), np.array([0.0]))
        t, ramp_hz = _on_grid(traj.t_s, *ramp)
        index, keep = _index(t, fs)

        def on(values, t=t, keep=keep):
            return np.interp(t, traj.t_s, values)[keep]

        links[name] = LinkPlan(
            freq_hz=lt.freq_hz,
            index=index[keep],
            doppler_hz=on(lt.doppler_hz) + offset + ramp_hz[keep],
            centre_hz=on(-lt.precomp_hz) if comp else None,
            delay_s=on(delay),
            gain_db=on(lt.esn0_db - np.max(lt.esn0_db)),
            noise_power=10.0 ** (noise_db / 10.0),
        )
        raw[name] = on(lt.doppler_hz)
    info = {
        "channel": "pass",
        "band": "n255 (L-band MSS)",
        "precompensation": comp,
        "full_delay": cfg.full_delay,
        "call_offset_s": flow.pass_.call_offset_s,
        "max_elevation_deg": scenario.pass_.max_elevation_deg,
        "elevation_deg": [float(np.min(traj.elevation_deg)), float(np.max(traj.elevation_deg))],
        "handset_offset_km": flow.beam.handset_offset_km,
        "beam_diameter_km": scenario.beam_diameter_m / 1e3,
        "one_way_delay_s": [float(np.min(tau_h)), float(np.max(tau_h))],
        "differential_delay_s": [float(np.min(diff)), float(np.max(diff))],
        "handovers": [{"t_s": h.t_s, "from_beam": h.from_beam, "to_beam": h.to_beam} for h in traj.handovers],
        "latency_s": 0.0 if cfg.full_delay else latency_s,
        **{name: _link_info(links[name], raw[name], links[name].index / fs) for name in ("dl", "ul")},
    }
    return _plan(fs, links, info)


def static_plan(cfg: SrsranConfig, duration_s: float) -> BridgePlan:
    """No pass: the configured offsets, DL triangle ramp and delay only (unit gain)."""
    fs = SRSRAN_RATES_SPS[cfg.n_prb]
    if 0.0 < cfg.delay_s < _MIN_DELAY_SAMPLES / fs:
        raise SkycallError(f"[srsran] delay_s = {cfg.delay_s} s is below 2 samples ({2 / fs:.3g} s): use 0 or more")
    delay = cfg.delay_s if cfg.delay_s > 0.0 else None
    links = {}
    for name, freq, offset, noise_db in (("dl", DL_FREQ_HZ, cfg.dl_offset_hz, cfg.dl_noise_db),
                                           ("ul", UL_FREQ_HZ, cfg.ul_offset_hz, cfg.ul_noise_db)):
        t, f = triangle(duration_s + 1.0, cfg.dl_rate_hz_s, cfg.dl_rate_span_hz) if name == "dl" else ([0.0], [0.0])
        index, keep = _index(np.asarray(t), fs)
        f = np.asarray(f)[keep] + offset
        links[name] = LinkPlan(freq, index[keep], f, None, None if delay is None else np.full(f.size, delay),
                               np.zeros(f.size), 10.0 ** (noise_db / 10.0))
    info = {"channel": "static", "band": "n255 (L-band MSS)", "precompensation": False,
            "full_delay": False, "delay_s": cfg.delay_s, "dl_rate_hz_s": cfg.dl_rate_hz_s,
            "dl_rate_span_hz": cfg.dl_rate_span_hz,
            **{name: _link_info(links[name], links[name].doppler_hz, links[name].index / fs) for name in ("dl", "ul")}}
    return _plan(fs, links, info)


def bridge_plan(flow: Flowgraph) -> BridgePlan | None:
    """The plan ``flow``'s ``[srsran] channel`` asks for (None: bit-exact passthrough or no bridge)."""
    cfg = flow.srsran or SrsranConfig()
    if cfg.channel == "pass":
        return pass_plan(flow)
    if cfg.channel == "static":
        return static_plan(cfg, flow.duration_s)
    return None
