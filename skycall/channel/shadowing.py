"""Land-mobile-satellite shadowing: LOS (good) / NLOS (bad) Markov states keyed to the absolute sample index.

The two-state model of ITU-R P.681 (§ on the statistical LMS model; Lutz et al. 1991, *IEEE Trans.
Veh. Tech.* 40(2)) with 3GPP TR 38.811 statistics (:mod:`skycall.channel.tr38811`) for its states:

* good: the direct path is visible (the fading's Rician K applies), shadow fading ``SF ~ N(0, σ_LOS²)``;
* bad: the direct path is blocked (Rayleigh), loss ``CL + SF``, ``SF ~ N(0, σ_NLOS²)``.

The chain is a continuous-time Markov process whose stationary probability of the good state is the
LOS probability ``P(ε)`` at the current elevation and whose correlation time is ``τ = d_c / v``
(``d_c`` the decorrelation distance of the LOS state, 50 m as TR 38.901 §7.6.3.3 for urban
macro-cells, ``v`` the handset's speed): leaving rates ``λ_good→bad = (1 − P)/τ`` and
``λ_bad→good = P/τ``, i.e. exponential sojourns of mean ``τ/(1 − P)`` (good) and ``τ/P`` (bad).
A handset at rest keeps the state it starts in (drawn with probability ``P``). Each visit draws its
own shadow-fading level; a change of state ramps linearly over ``1.5 m`` of travel (the width of the
first Fresnel zone, ``√(λ d)``, for an obstacle ~10 m away at L-band).

The whole state sequence is drawn once at construction, from a seeded generator, for the span of
the elevation table: visibility and loss are piecewise-linear functions of the sample index.
"""

import numpy as np

from skycall.channel import tr38811
from skycall.errors import ConfigError

TRANSITION_M = 1.5


class ShadowingStates:
    """LOS/NLOS states over the sample span of an elevation table (module docstring).

    Parameters
    ----------
    sample_rate_sps : float
    index : int64 (P,)
        Absolute sample indices of the elevation table (strictly increasing); the states cover
        ``[index[0], index[-1]]`` and hold outside.
    elevation_deg : float64 (P,)
    environment : str
        TR 38.811 environment (``dense-urban``, ``urban``, ``suburban``, ``rural``).
    speed_m_s, decorrelation_m : float
        Handset speed (0: static) and LOS-state decorrelation distance.
    rng : numpy.random.Generator
    """

    def __init__(self, sample_rate_sps: float, index, elevation_deg, environment: str, speed_m_s: float,
                 decorrelation_m: float, rng: np.random.Generator):
        if not (speed_m_s >= 0.0 and decorrelation_m > 0.0):
            raise ConfigError("<channel>", "shadowing", f"speed {speed_m_s} m/s and decorrelation distance "
                              f"{decorrelation_m} m must be >= 0 and > 0")
        self.sample_rate_sps, self.environment = float(sample_rate_sps), environment
        index = np.asarray(index, dtype=np.int64)
        elevation = np.asarray(elevation_deg, dtype=np.float64)
        self.p_los = tr38811.los_probability(environment, elevation)
        t = (index - index[0]) / self.sample_rate_sps
        tau = decorrelation_m / speed_m_s if speed_m_s > 0 else np.inf
        ramp = TRANSITION_M / speed_m_s if speed_m_s > 0 else 0.0
        changes, states = [0.0], [bool(rng.random() < self.p_los[0])]
        while np.isfinite(tau):
            p = float(np.interp(changes[-1], t, self.p_los))
            mean = tau / (1.0 - p) if states[-1] else tau / max(p, 1e-9)
            nxt = changes[-1] + max(float(rng.exponential(mean)), ramp)
            if nxt >= t[-1]:
                break
            changes.append(nxt)
            states.append(not states[-1])
        el = np.interp(changes, t, elevation)
        sigma = np.where(states, tr38811.shadow_fading_db(environment, el, True),
                         tr38811.shadow_fading_db(environment, el, False))
        loss = rng.standard_normal(len(states)) * sigma + np.where(states, 0.0,
                                                                   tr38811.clutter_loss_db(environment, el))
        self.change_s = np.asarray(changes)
        self.states = np.asarray(states)  # True: good (LOS)
        self.levels_db = loss
        # knots of the piecewise-linear visibility and loss: each level holds until the next change, then ramps
        starts = index[0] + np.round(self.change_s * self.sample_rate_sps)
        ends = starts + round(ramp * self.sample_rate_sps)
        self._knots = np.concatenate([[starts[0]], np.ravel(np.column_stack([starts[1:], ends[1:]]))]).astype(
            np.float64)
        self._vis = np.concatenate([[self.states[0]], np.ravel(np.column_stack([self.states[:-1], self.states[1:]]))
                                    ]).astype(np.float64)
        self._loss = np.concatenate([[loss[0]], np.ravel(np.column_stack([loss[:-1], loss[1:]]))])

    def visibility(self, n: int, first_index: int) -> np.ndarray:
        """Direct-path visibility in [0, 1] at samples ``first_index …`` (1: good, 0: bad), float64 (n,)."""
        return np.interp(np.arange(first_index, first_index + n, dtype=np.float64), self._knots, self._vis)

    def loss_db(self, n: int, first_index: int) -> np.ndarray:
        """Shadowing loss (dB, SF and clutter loss) at samples ``first_index …``, float64 (n,)."""
        return np.interp(np.arange(first_index, first_index + n, dtype=np.float64), self._knots, self._loss)
