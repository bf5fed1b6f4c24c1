"""Channel trajectory of one handset during one pass, and its per-sample tables for the DSP chain.

Time runs at the true rate: ``t_s`` is seconds after ``t0_unix_s`` (a 20 s call covers 20 s of the
pass). :meth:`ChannelTrajectory.to_sample_tables` keys every quantity to absolute sample indices
``n = round((t - start_s) f_s)``; the consumers (``skycall.dsp.rotator.TrajectoryRotator``,
``skycall.dsp.farrow.FarrowDelay``) interpolate linearly between table points, so channel state
is a function of the sample index, never of the wall clock.
"""

from dataclasses import dataclass, field

import numpy as np

from groundstation.beams import BeamEmulator, Handover, handovers
from groundstation.compensation import beam_centre_compensation
from groundstation.link_budget import LinkBudget
from groundstation.orbit import Ephemeris
from groundstation.passes import Observer, azimuth_elevation, range_and_rate
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
        budget = budget or LinkBudget()
        t_s = np.arange(int(np.floor(duration_s / step_s + 1e-9)) + 1) * step_s
        t = start_unix_s + t_s
        r, v = ephemeris.state_ecef(t)
        site = handset.ecef_m
        rho, rho_dot = range_and_rate(r, v, site)
        az, el = azimuth_elevation(r, handset)
        serving = beams.at_frequency(dl_freq_hz).serve(r, v, site)
        served = (serving.beam_id >= 0) & (el >= 0.0)
        beam_id = np.where(served, serving.beam_id, -1)
        ul_gains, _ = beams.at_frequency(ul_freq_hz).gains_dbi(r, v, site)
        ul_gain = ul_gains[np.arange(t.size), np.maximum(beam_id, 0)]
        n_el = beams.array.n_elements

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

        dl = link(dl_freq_hz, serving.gain_dbi, budget.downlink_cn0_dbhz(serving.gain_dbi, n_el, rho, dl_freq_hz))
        ul = link(ul_freq_hz, ul_gain, budget.uplink_cn0_dbhz(ul_gain, rho, ul_freq_hz))
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
