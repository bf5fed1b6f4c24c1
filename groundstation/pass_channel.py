"""The satellite pass applied to a sample stream, with beam-centre compensation (numba FOC).

Everything is keyed to the absolute sample index ``n`` through piecewise-linear tables
(:class:`PassTables`), never to the wall clock.

Downlink (satellite → phone), compensation *before* the channel::

    y[n] = a(n) · D_{+f_d(n)} { τ(n) ∘ R_{−f_c(n)} { x } }[n]

Uplink (phone → satellite), compensation *after* the channel, plus the satellite receiver's noise::

    y[n] = R_{−f_c(n)} { D_{+f_d(n)} { τ(n) ∘ (a(n)·x) } }[n] + w[n]

with ``R_f`` a :class:`~skycall.dsp.rotator.TrajectoryRotator`, ``τ∘`` a
:class:`~skycall.dsp.farrow.FarrowDelay` (one-way delay, drifting up to ±40 µs/s; with beam-centre
delay compensation τ_0 + Δτ(n), the differential delay to the beam centre), ``f_d`` the
handset's physical Doppler, ``f_c`` the beam centre's Doppler (``R`` is skipped while compensation
is off: :attr:`PassPath.compensate` may be switched between two calls, e.g. at a slot boundary,
and the rotator's phase stays a function of the sample index) and ``a(n)`` the amplitude that
gives the link budget's Es/N0 over a noise power ``N``:
``Es/N0 = a²·sps/N`` for a unit-power, ``sps`` samples-per-symbol input, so
``a(n) = sqrt(N · 10^(Es/N0(n)/10) / sps)``. The phone sees ``f_d − f_c``: the residual.
"""

from dataclasses import dataclass

import numpy as np

from groundstation.compensation import compensated_delay_s
from skycall.channel.noise import KeyedNoise
from skycall.dsp.farrow import FarrowDelay
from skycall.dsp.rotator import TrajectoryRotator
from skycall.errors import SkycallError


@dataclass(frozen=True)
class PassTables:
    """Channel state at absolute sample indices (piecewise linear between points).

    Attributes
    ----------
    index : int64 (K,)
        Strictly increasing absolute sample indices.
    doppler_hz : float64 (K,)
        Physical Doppler of the handset, Hz.
    centre_doppler_hz : float64 (K,)
        Doppler of the serving beam's centre (what compensation removes while it is on), Hz.
    delay_s : float64 (K,)
        One-way delay the path applies, s: the propagation delay, or ``delay_ref_s`` + the differential
        delay to the beam centre when the satellite compensates the beam-centre delay.
    esn0_db : float64 (K,)
        Es/N0 from the link budget, dB.
    """

    index: np.ndarray
    doppler_hz: np.ndarray
    centre_doppler_hz: np.ndarray
    delay_s: np.ndarray
    esn0_db: np.ndarray
    delay_ref_s: float = 0.0

    @classmethod
    def from_trajectory(cls, trajectory, link: str, sample_rate_sps: float,
                        esn0_offset_db: float = 0.0, compensate_delay: bool = False) -> "PassTables":
        """Tables of one link (``"dl"``/``"ul"``) of a ChannelTrajectory; its t = 0 is sample 0.

        ``compensate_delay``: the beam-centre delay is compensated (``delay_ref_s`` = τ_0, see
        :func:`groundstation.compensation.compensated_delay_s`). Raises a clear error when the handset
        is not served somewhere in the trajectory.
        """
        lt = trajectory.link(link)
        if np.any(trajectory.beam_id < 0):
            t_bad = float(trajectory.t_s[np.argmax(trajectory.beam_id < 0)])
            raise SkycallError(f"the handset is not served {t_bad:.2f} s into the run (satellite below the mask "
                               "or beyond the scan limit): move [pass] call_offset_s inside the pass")
        index = np.round(trajectory.t_s * sample_rate_sps).astype(np.int64)
        delay, ref = compensated_delay_s(lt.delay_s, lt.residual_delay_s) if compensate_delay else (lt.delay_s, 0.0)
        return cls(index, lt.doppler_hz, -lt.precomp_hz, delay, lt.esn0_db + esn0_offset_db, ref)


class PassPath:
    """One direction of the pass channel (see the module docstring for the two orders).

    Parameters
    ----------
    tables : PassTables
    sample_rate_sps : float
    samples_per_symbol : int
    noise_power : float
        Noise power per complex sample N the Es/N0 refers to (the air's floor on the downlink,
        the satellite receiver's own noise on the uplink).
    compensate : bool
        Apply the beam-centre compensation (an attribute: may be switched between calls).
    uplink : bool
        Uplink order (compensation after the channel) and add the receiver noise, keyed to the sample
        index (:class:`~skycall.channel.noise.KeyedNoise`: any chunking gives the same bits).
    rng : numpy.random.Generator, optional
        Source of the noise key (uplink only).
    """

    def __init__(
        self,
        tables: PassTables,
        sample_rate_sps: float,
        samples_per_symbol: int,
        noise_power: float,
        compensate: bool,
        uplink: bool,
        rng: np.random.Generator | None = None,
    ):
        fs, idx = sample_rate_sps, tables.index
        self.tables, self.uplink, self.compensate = tables, uplink, compensate
        self.noise_power = float(noise_power)
        if uplink and rng is None:
            raise ValueError("the uplink path adds the satellite receiver's noise and needs a seeded rng")
        self.noise = KeyedNoise(self.noise_power, rng) if uplink else None
        self._comp = TrajectoryRotator(fs, idx, tables.centre_doppler_hz, sign=-1)
        self.compensated: np.ndarray | None = None  # downlink: the last chunk after compensation (a raw tap)
        self._delay = FarrowDelay(fs, idx, tables.delay_s)
        self._doppler = TrajectoryRotator(fs, idx, tables.doppler_hz, sign=+1)
        self._amp = np.sqrt(self.noise_power * 10.0 ** (tables.esn0_db / 10.0) / samples_per_symbol)
        self._idx_f = idx.astype(np.float64)

    def process(self, x: np.ndarray, first_index: int) -> np.ndarray:
        """Apply the path to ``x`` whose first sample is absolute index ``first_index``."""
        n = np.arange(first_index, first_index + len(x), dtype=np.float64)
        amp = np.interp(n, self._idx_f, self._amp).astype(np.float32)
        if not self.uplink:
            y = self.compensated = self._comp.process(x, first_index) if self.compensate else x
            y = self._doppler.process(self._delay.process(y, first_index), first_index)
            return (y * amp).astype(np.complex64)
        y = self._doppler.process(self._delay.process((x * amp).astype(np.complex64), first_index), first_index)
        if self.compensate:
            y = self._comp.process(y, first_index)
        return (y + self.noise.generate(len(x), first_index)).astype(np.complex64)

    def state(self, index: int) -> dict:
        """The channel at absolute sample ``index``: Doppler, beam-centre Doppler, what is left of it
        (``doppler_hz − centre_doppler_hz`` while compensating, else ``doppler_hz``), Es/N0."""
        t = self.tables
        f_d, f_c, esn0 = (float(np.interp(index, self._idx_f, v)) for v in (t.doppler_hz, t.centre_doppler_hz,
                                                                            t.esn0_db))
        return {"doppler_hz": f_d, "centre_doppler_hz": f_c, "residual_hz": f_d - f_c if self.compensate else f_d,
                "esn0_db": esn0, "precompensation": bool(self.compensate)}
