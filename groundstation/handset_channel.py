"""What reaches the handset's antenna, and what the satellite receives from it: the pass channel plus the
handset's surroundings (``[channel]``: co-channel beams, fading, shadowing).

Downlink, with the phone's receiver noise ``w`` (power ``N``, the budget's reference)::

    y[n] = h_dl(n) · ( P_dl{x}[n] + Σ_i i_i[n] ) + w[n]

In loopback the air adds ``w``. A real radio cannot: the phone's own receiver sees the signal at the
cable's SNR (26 dB on the shipped bench, whatever the pass), so the ground station transmits ``w``
with the signal and the phone's SNR follows the link budget (its own noise adds ``10·log10(1 + N_rx/N)``,
0.1 dB at 26 dB). ``w`` does not fade: it is the receiver's, not the path's.

Uplink (the pass path adds the satellite receiver's noise after its own gain)::

    y[n] = P_ul{ h_ul · x }[n]

``P`` a :class:`~groundstation.pass_channel.PassPath`, ``i_i`` the co-channel carriers
(:class:`~groundstation.interference.CoChannelInterference`), ``h`` the flat fading and shadowing
(:class:`~skycall.channel.fading.FlatFading`): the interferers share the serving beam's path, so the
same ``h``; the uplink's scattered paths are independent of the downlink's (100 MHz apart), its
direct path, K and shadowing states are the same. Every random source is seeded from the
flowgraph's seed; all of it is a function of the sample index.

Per slot the predicted C/(N+I) (:func:`~groundstation.interference.predicted_sinr_db`) with the
channel gain the slot really had, and the C/I at the antenna, go to telemetry (``link_status``) and
to the ground station's record (``sinr_db``, ``c_over_i_db``, ``channel_gain_db`` per slot).
"""

import numpy as np

from groundstation.interference import CoChannelInterference, predicted_sinr_db, rc_overlap
from groundstation.pass_channel import PassPath
from skycall.channel.fading import FlatFading, doppler_spread_hz
from skycall.channel.noise import KeyedNoise
from skycall.channel.shadowing import ShadowingStates
from skycall.channel.tr38811 import k_factor_db
from skycall.config.flowgraph import DL_FREQ_HZ, UL_FREQ_HZ
from skycall.rng import make_rng

#: seed offsets of the channel's random sources (the flowgraph seed + these)
SEED_FADING_DL, SEED_FADING_UL, SEED_SHADOWING, SEED_INTERFERENCE, SEED_DL_NOISE = 11, 12, 13, 14, 15


def _grid_index(traj, sample_rate_sps: float) -> np.ndarray:
    return np.round(traj.t_s * sample_rate_sps).astype(np.int64)


def shadowing_states(flow, traj, sample_rate_sps: float) -> ShadowingStates | None:
    ch = flow.channel
    if ch.shadowing != "states":
        return None
    return ShadowingStates(sample_rate_sps, _grid_index(traj, sample_rate_sps), traj.elevation_deg, ch.environment,
                           ch.speed_kmh / 3.6, ch.shadowing_corr_m, make_rng(flow.seed + SEED_SHADOWING))


def flat_fading(flow, traj, sample_rate_sps: float, link: str, shadowing: ShadowingStates | None) -> FlatFading | None:
    """The handset's fading on ``link`` (``"dl"``/``"ul"``), or None when neither fading nor shadowing states."""
    ch = flow.channel
    if ch.fading == "none" and shadowing is None:
        return None
    freq = DL_FREQ_HZ if link == "dl" else UL_FREQ_HZ
    f_d = doppler_spread_hz(ch.speed_kmh / 3.6, freq)
    if ch.fading == "rayleigh":
        k_db = np.full(traj.t_s.size, -np.inf)
    elif ch.fading == "rician":
        k_db = np.full(traj.t_s.size, ch.k_factor_db) if ch.k_factor_db is not None else k_factor_db(
            ch.environment, traj.elevation_deg)
    else:  # shadowing states without small-scale fading: a pure direct path in the good state
        k_db = np.full(traj.t_s.size, np.inf)
    el, az = np.radians(traj.elevation_deg), np.radians(traj.azimuth_deg - ch.heading_deg)
    los_hz = f_d * np.cos(el) * np.cos(az)
    seed = SEED_FADING_DL if link == "dl" else SEED_FADING_UL
    return FlatFading(sample_rate_sps, f_d, _grid_index(traj, sample_rate_sps), k_db, los_hz,
                      make_rng(flow.seed + seed), shadowing)


def _serving_hz(traj, precompensation: bool) -> np.ndarray:
    return traj.dl.residual_doppler_hz if precompensation else traj.dl.doppler_hz


def interference_terms(traj, waveform, precompensation: bool = True) -> np.ndarray:
    """``Σ_i κ(f_i − f_0) G_i/G_0`` over every co-channel beam of the trajectory (T,)."""
    ints = traj.interferers
    if ints is None or ints.beam_id.size == 0:
        return np.zeros(traj.t_s.size)
    offsets = ints.offsets_hz(traj.dl.doppler_hz, precompensation)
    return 10.0 ** (-predicted_sinr_db(np.full(traj.t_s.size, np.inf), ints.gain_rel_db, offsets,
                                       _serving_hz(traj, precompensation), waveform.symbol_rate_sps,
                                       waveform.rolloff) / 10.0)


def co_channel_interference(flow, traj, waveform, noise_power: float) -> CoChannelInterference | None:
    """The ``max_interferers`` strongest co-channel beams (by mean power over the run) as emulated carriers,
    the rest as Gaussian noise of the matched-filter power they would have."""
    ints = traj.interferers
    if flow.channel.interference == "off" or ints is None or ints.beam_id.size == 0:
        return None
    rel = np.nan_to_num(10.0 ** (ints.gain_rel_db / 10.0))  # -inf dB (not co-channel) -> 0
    order = np.argsort(-np.mean(rel, axis=0))
    keep, rest = order[: flow.channel.max_interferers], order[flow.channel.max_interferers :]
    keep = keep[np.mean(rel[:, keep], axis=0) > 0]
    es = noise_power * 10.0 ** ((traj.dl.esn0_db + flow.beam.esn0_offset_db) / 10.0)  # a² sps
    offsets = ints.offsets_hz(traj.dl.doppler_hz, flow.beam.precompensation)
    kappa = rc_overlap(offsets - _serving_hz(traj, flow.beam.precompensation)[:, None], waveform.symbol_rate_sps,
                       waveform.rolloff)
    residual = np.nan_to_num(es * np.sum(kappa[:, rest] * rel[:, rest], axis=1))
    floor = noise_power + np.nan_to_num(es * np.sum(kappa[:, keep] * rel[:, keep], axis=1))
    return CoChannelInterference(waveform.sample_rate_sps, waveform, _grid_index(traj, waveform.sample_rate_sps),
                                 (np.sqrt(es / waveform.sps)[:, None] * np.sqrt(rel[:, keep])).T, offsets[:, keep].T,
                                 make_rng(flow.seed + SEED_INTERFERENCE),
                                 # below 1 % of noise + emulated interference (< 0.05 dB) it is left out
                                 residual_power=residual if np.max(residual / floor) > 0.01 else None)


class LinkQuality:
    """Predicted link quality along a trajectory: SINR, C/I at the antenna, channel gain (module docstring)."""

    def __init__(self, traj, waveform, precompensation: bool = True, interference: bool = True,
                 esn0_offset_db: float = 0.0):
        self.t_s = traj.t_s
        self.esn0_db = traj.dl.esn0_db + esn0_offset_db
        self.ieff = interference_terms(traj, waveform, precompensation) if interference else np.zeros(traj.t_s.size)
        self.c_over_i_db = traj.c_over_i_db

    @classmethod
    def of_run(cls, flow, traj, waveform) -> "LinkQuality":
        return cls(traj, waveform, flow.beam.precompensation, flow.channel.interference != "off",
                   flow.beam.esn0_offset_db)

    def at(self, t_s, channel_gain_db=0.0) -> dict:
        """Predicted values at stream times ``t_s`` with the channel power gain ``channel_gain_db``."""
        esn0 = np.interp(t_s, self.t_s, self.esn0_db) + channel_gain_db
        ieff = np.interp(t_s, self.t_s, self.ieff)
        return {"sinr_db": -10.0 * np.log10(10.0 ** (-esn0 / 10.0) + ieff),
                "c_over_i_db": np.interp(t_s, self.t_s, self.c_over_i_db), "channel_gain_db": channel_gain_db}


class _OnPassPath:
    """The wrapped :class:`PassPath`'s live beam-centre compensation switch, seen through the wrapper."""

    path: PassPath

    @property
    def compensate(self) -> bool:
        return self.path.compensate

    @compensate.setter
    def compensate(self, on: bool) -> None:
        self.path.compensate = on


class HandsetDownlink(_OnPassPath):
    """``y = h · (P{x} + Σ i) [+ w]`` (module docstring); ``process(x, first_index)`` like a PassPath.

    ``noise_rng``: adds the receiver noise ``w`` of power ``path.noise_power``, keyed to the sample index
    (a real radio; None in loopback, where the air adds it)."""

    def __init__(self, path: PassPath, interference: CoChannelInterference | None, fading: FlatFading | None,
                 quality: LinkQuality, sample_rate_sps: float, noise_rng: np.random.Generator | None = None):
        self.path, self.interference, self.fading, self.quality = path, interference, fading, quality
        self.sample_rate_sps = float(sample_rate_sps)
        self.noise = KeyedNoise(path.noise_power, noise_rng) if noise_rng is not None else None
        self.last_status: dict = {}

    def process(self, x: np.ndarray, first_index: int) -> np.ndarray:
        y = self.path.process(x, first_index)
        if self.interference is not None:
            y = y + self.interference.generate(len(x), first_index)
        gain_db = 0.0
        if self.fading is not None:
            y = self.fading.process(y, first_index)
            gain_db = 10.0 * np.log10(max(self.fading.last_power_gain, 1e-30))
        t_mid = (first_index + 0.5 * len(x)) / self.sample_rate_sps
        self.last_status = {k: float(v) for k, v in self.quality.at(t_mid, gain_db).items()}
        if self.noise is not None:
            y = y + self.noise.generate(len(x), first_index)
        return y.astype(np.complex64, copy=False)

    @property
    def compensated(self) -> np.ndarray | None:
        """The last chunk after pre-compensation, before the pass (a raw tap)."""
        return self.path.compensated

    def state(self, index: int) -> dict:
        """The pass channel at absolute sample ``index`` (:meth:`PassPath.state`)."""
        return self.path.state(index)


class HandsetUplink(_OnPassPath):
    """``y = P{h · L{x}}``: the received input brought to unit power (``level``, a real radio's ADC level
    varies: :class:`skycall.dsp.level.LevelNormaliser`), the handset's fading at the uplink carrier, then
    the pass path with the receiver noise."""

    def __init__(self, path: PassPath, fading: FlatFading | None, level=None):
        self.path, self.fading, self.level = path, fading, level

    def process(self, x: np.ndarray, first_index: int) -> np.ndarray:
        x = self.level.process(x, first_index) if self.level is not None else x
        return self.path.process(self.fading.process(x, first_index) if self.fading else x, first_index)


def handset_paths(flow, traj, waveform, dl: PassPath, ul: PassPath | None, dl_noise_power: float, ul_level=None,
                  transmit_dl_noise: bool = False):
    """Wrap the pass paths with the flowgraph's ``[channel]`` (interference, fading, shadowing); ``ul_level``
    normalises the received uplink first (see :class:`HandsetUplink`); ``transmit_dl_noise``: a real radio
    sends the phone's receiver noise with the downlink (module docstring)."""
    fs = waveform.sample_rate_sps
    shadowing = shadowing_states(flow, traj, fs)
    noise_rng = make_rng(flow.seed + SEED_DL_NOISE) if transmit_dl_noise else None
    down = HandsetDownlink(dl, co_channel_interference(flow, traj, waveform, dl_noise_power),
                           flat_fading(flow, traj, fs, "dl", shadowing), LinkQuality.of_run(flow, traj, waveform), fs,
                           noise_rng)
    up = HandsetUplink(ul, flat_fading(flow, traj, fs, "ul", shadowing), ul_level) if ul is not None else None
    return down, up


def slot_link_quality(flow, traj, waveform, n_slots: int) -> dict:
    """Per-slot predicted SINR, C/I and channel gain of a run (the fading rebuilt from the same seeds)."""
    fs, n = waveform.sample_rate_sps, waveform.samples_per_frame
    fading = flat_fading(flow, traj, fs, "dl", shadowing_states(flow, traj, fs))
    gain_db = np.zeros(n_slots)
    if fading is not None:
        gain_db = np.array([10 * np.log10(max(np.mean(np.abs(fading.gains(n, k * n)) ** 2), 1e-30))
                            for k in range(n_slots)])
    t_mid = (np.arange(n_slots) + 0.5) * n / fs
    return LinkQuality.of_run(flow, traj, waveform).at(t_mid, gain_db)
