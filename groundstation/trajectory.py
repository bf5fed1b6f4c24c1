"""Channel trajectory of one handset during one pass, and its per-sample tables for the DSP chain.

Time runs at the true rate: ``t_s`` is seconds after ``t0_unix_s`` (a 20 s call covers 20 s of the
pass). :meth:`ChannelTrajectory.to_sample_tables` keys every quantity to absolute sample indices
``n = round((t - start_s) f_s)``; the consumers (``skycall.dsp.rotator.TrajectoryRotator``,
``skycall.dsp.farrow.FarrowDelay``) interpolate linearly between table points, so channel state
is a function of the sample index, never of the wall clock.

Co-channel interference: every beam of the serving beam's colour is loaded (one carrier of the
same power); beam ``i`` reaches the handset through the same path as the serving beam ``0``
(same satellite, same range, Doppler and fading), weaker by its gain ratio ``G_i / G_0`` toward the
handset, and shifted by its *own* beam-centre pre-compensation ``-f_D,c_i`` (:class:`Interferers`).
``c_over_i_db = 10 log10(G_0 / Σ G_i)`` is the power ratio at the handset's antenna.
"""

from dataclasses import dataclass, field

import numpy as np

from groundstation.beams import BeamEmulator, Handover, body_frame, direction_cosines, handovers
from groundstation.compensation import beam_centre_compensation
from groundstation.link_budget import DEFAULT_PRESET, LinkBudget, preset
from groundstation.orbit import Ephemeris
from groundstation.passes import Observer, azimuth_elevation, doppler_hz, range_and_rate
from skycall.errors import ConfigError, SkycallError

DL_FREQ_HZ = 1545.0e6
UL_FREQ_HZ = 1646.5e6
_MAX_POINTS = 2_000_000


@dataclass(frozen=True)
class LinkTrajectory:
    """One direction (DL or UL) at carrier ``freq_hz``; arrays of shape (T,), NaN where not served."""

    freq_hz: float
    delay_s: np.ndarray  # physical one-way delay
    doppler_hz: np.ndarray  # physical Doppler -f ρ̇ / c
    doppler_rate_hz_s: np.ndarray
    precomp_hz: np.ndarray  # -Doppler of the serving beam centre
    residual_doppler_hz: np.ndarray  # doppler_hz + precomp_hz
    residual_delay_s: np.ndarray  # delay_s minus the serving beam centre's delay
    gain_dbi: np.ndarray  # serving-beam array gain toward the handset
    esn0_db: np.ndarray


@dataclass(frozen=True)
class Interferers:
    """The co-channel beams seen by the handset on the downlink (every beam that is ever co-channel).

    ``gain_rel_db`` (T, I): ``G_i - G_0`` toward the handset (-inf where beam i is not co-channel with
    the serving beam, or nothing is served); ``centre_doppler_hz`` (T, I): Doppler of beam i's centre
    at the downlink carrier (what its own pre-compensation removes).
    """

    beam_id: np.ndarray  # (I,)
    gain_rel_db: np.ndarray
    centre_doppler_hz: np.ndarray

    def offsets_hz(self, doppler_hz: np.ndarray, compensated: bool) -> np.ndarray:
        """Frequency (T, I) of each interferer at the handset: ``f_D,h - f_D,c_i`` (``f_D,h`` uncompensated)."""
        return doppler_hz[:, None] - (self.centre_doppler_hz if compensated else np.zeros_like(self.centre_doppler_hz))


@dataclass(frozen=True)
class SampleTables:
    """Piecewise-linear channel tables keyed to sample indices (strictly increasing int64).

    ``gain_db`` is relative to ``esn0_ref_db`` (the table's best Es/N0): a channel stage that
    scales the signal by ``gain_db`` and adds noise for Es/N0 = ``esn0_ref_db`` at 0 dB reproduces
    the link budget.
    """

    sample_rate_sps: float
    index: np.ndarray
    freq_hz: np.ndarray
    delay_s: np.ndarray
    gain_db: np.ndarray
    esn0_ref_db: float


@dataclass(frozen=True)
class ChannelTrajectory:
    """Geometry, serving beam, Doppler/delay and link quality on a regular time grid."""

    t0_unix_s: float
    t_s: np.ndarray
    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    range_m: np.ndarray
    range_rate_m_s: np.ndarray
    beam_id: np.ndarray  # -1: not served (below the horizon or no beam in scan range)
    c_over_i_db: np.ndarray
    dl: LinkTrajectory
    ul: LinkTrajectory
    interferers: Interferers | None = None
    handovers: list[Handover] = field(default_factory=list)

    @classmethod
    def compute(
        cls,
        ephemeris: Ephemeris,
        handset: Observer,
        beams: BeamEmulator,
        start_unix_s: float,
        duration_s: float,
        step_s: float = 0.01,
        budget: LinkBudget | None = None,
        dl_freq_hz: float = DL_FREQ_HZ,
        ul_freq_hz: float = UL_FREQ_HZ,
    ) -> "ChannelTrajectory":
        """Evaluate the channel every ``step_s`` from ``start_unix_s`` for ``duration_s`` (both ends included)."""
        if not 1e-4 <= step_s <= 60.0:
            raise ConfigError("<trajectory>", "step_s", f"{step_s} s is outside 0.1 ms - 60 s")
        if not step_s <= duration_s <= _MAX_POINTS * step_s:
            raise ConfigError(
                "<trajectory>", "duration_s", f"{duration_s} s must be >= step_s and <= {_MAX_POINTS} steps"
            )
        budget = budget or preset(DEFAULT_PRESET)
        t_s = np.arange(int(np.floor(duration_s / step_s + 1e-9)) + 1) * step_s
        t = start_unix_s + t_s
        r, v = ephemeris.state_ecef(t)
        site = handset.ecef_m
        rho, rho_dot = range_and_rate(r, v, site)
        az, el = azimuth_elevation(r, handset)
        dl_array, ul_array = beams.array.at_frequency(dl_freq_hz), beams.array.at_frequency(ul_freq_hz)
        serving = beams.at_frequency(dl_freq_hz).serve(r, v, site)
        served = (serving.beam_id >= 0) & (el >= 0.0)
        beam_id = np.where(served, serving.beam_id, -1)
        tu, tv, _ = direction_cosines(body_frame(r, v), r, site)
        ul_gain = ul_array.gain_dbi(serving.steer_uv[:, 0], serving.steer_uv[:, 1], tu, tv)

        def link(freq_hz, gain_dbi, cn0_dbhz):
            comp = beam_centre_compensation(r, v, site, serving.centre_ecef_m, freq_hz)

            def nan_if_unserved(a):
                return np.where(served, a, np.nan)

            return LinkTrajectory(
                freq_hz=float(freq_hz),
                delay_s=comp.delay_s,
                doppler_hz=comp.doppler_hz,
                doppler_rate_hz_s=np.gradient(comp.doppler_hz, t_s),
                precomp_hz=nan_if_unserved(comp.precomp_hz),
                residual_doppler_hz=nan_if_unserved(comp.residual_doppler_hz),
                residual_delay_s=nan_if_unserved(comp.residual_delay_s),
                gain_dbi=nan_if_unserved(gain_dbi),
                esn0_db=nan_if_unserved(budget.esn0_db(cn0_dbhz)),
            )

        dl = link(dl_freq_hz, serving.gain_dbi, budget.downlink_cn0_dbhz(serving.gain_dbi, dl_array, rho, dl_freq_hz))
        ul = link(ul_freq_hz, ul_gain, budget.uplink_cn0_dbhz(ul_gain, ul_array, rho, ul_freq_hz))
        return cls(
            t0_unix_s=float(start_unix_s),
            t_s=t_s,
            azimuth_deg=az,
            elevation_deg=el,
            range_m=rho,
            range_rate_m_s=rho_dot,
            beam_id=beam_id,
            c_over_i_db=np.where(served, serving.c_over_i_db, np.nan),
            dl=dl,
            ul=ul,
            interferers=_interferers(serving, served, r, v, dl_freq_hz),
            handovers=handovers(t_s, beam_id),
        )

    def link(self, name: str) -> LinkTrajectory:
        if name not in ("dl", "ul"):
            raise ConfigError("<trajectory>", "link", f"{name!r} is not 'dl' or 'ul'")
        return self.dl if name == "dl" else self.ul

    def to_sample_tables(
        self, sample_rate_sps: float, start_s: float = 0.0, link: str = "dl", compensated: bool = True
    ) -> SampleTables:
        """Tables from ``start_s`` (sample 0) to the end of the trajectory.

        ``freq_hz`` is the residual Doppler after beam-centre compensation (``compensated=True``) or
        the physical Doppler; ``delay_s`` is the physical one-way delay. Grid points that round to
        the same sample index keep the first. Raises if the handset is not served in the window.
        """
        if not sample_rate_sps > 0:
            raise ConfigError("<trajectory>", "sample_rate_sps", f"{sample_rate_sps} must be > 0")
        if not self.t_s[0] <= start_s < self.t_s[-1]:
            raise ConfigError(
                "<trajectory>", "start_s", f"{start_s} s is outside the trajectory [0, {self.t_s[-1]:g}) s"
            )
        lt = self.link(link)
        first = int(np.searchsorted(self.t_s, start_s, side="right")) - 1
        unserved = np.flatnonzero(self.beam_id[first:] < 0)
        if unserved.size:
            t_bad = self.t_s[first + unserved[0]]
            raise SkycallError(
                f"the handset is not served at t = {t_bad:.3f} s (satellite below the horizon or beyond the "
                "scan limit); choose a start time and duration inside the pass (AOS..LOS)"
            )
        t = np.concatenate([[start_s], self.t_s[first + 1 :]])
        index = np.round((t - start_s) * sample_rate_sps).astype(np.int64)
        keep = np.concatenate([[True], np.diff(index) > 0])
        freq = lt.residual_doppler_hz if compensated else lt.doppler_hz
        esn0 = np.interp(t, self.t_s, lt.esn0_db)[keep]
        ref = float(np.max(esn0))
        return SampleTables(
            sample_rate_sps=float(sample_rate_sps),
            index=index[keep],
            freq_hz=np.interp(t, self.t_s, freq)[keep],
            delay_s=np.interp(t, self.t_s, lt.delay_s)[keep],
            gain_db=esn0 - ref,
            esn0_ref_db=ref,
        )


def _interferers(serving, served, r, v, freq_hz: float) -> Interferers:
    """The co-channel beams of ``serving`` (a :class:`~groundstation.beams.Serving`) as :class:`Interferers`."""
    gains = np.where(served[:, None], serving.co_channel_gain_dbi, -np.inf)
    ids = np.flatnonzero(np.isfinite(gains).any(axis=0))
    centres = serving.centres_ecef_m[:, ids]
    _, rate = range_and_rate(r[:, None, :], v[:, None, :], centres)
    with np.errstate(invalid="ignore"):
        rel = gains[:, ids] - np.where(served, serving.gain_dbi, 0.0)[:, None]
    return Interferers(beam_id=ids, gain_rel_db=rel, centre_doppler_hz=doppler_hz(rate, freq_hz))
