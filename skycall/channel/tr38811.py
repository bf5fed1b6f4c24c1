"""3GPP TR 38.811 (V15.4.0) NTN channel statistics, S-band (used at L-band: both are "below 6 GHz"), by
elevation angle (10°, 20°, …, 90°; linear in between, held outside) and environment.

* LOS probability, Table 6.6.1-1.
* Shadow fading σ_SF in LOS and NLOS and clutter loss CL in NLOS, Tables 6.6.2-1 (dense urban),
  6.6.2-2 (urban), 6.6.2-3 (suburban and rural), S-band columns.
* Mean Rician K factor μ_K of the LOS channel, Tables 6.7.2-1 (dense urban), -3 (urban), -5 (suburban),
  -7 (rural), S-band: the power of the direct path over all scattered clusters. At the kit's 16 kHz
  bandwidth every cluster (delay spreads of tens to hundreds of ns) falls in one flat tap, so the flat
  channel is Rician with this K.
"""

import numpy as np

from skycall.errors import ConfigError

ELEVATIONS_DEG = np.arange(10.0, 91.0, 10.0)
ENVIRONMENTS = ("dense-urban", "urban", "suburban", "rural")

_LOS_PROBABILITY = {
    "dense-urban": (0.282, 0.331, 0.398, 0.468, 0.537, 0.612, 0.738, 0.820, 0.981),
    "urban": (0.246, 0.386, 0.493, 0.613, 0.726, 0.805, 0.919, 0.968, 0.992),
    "suburban": (0.782, 0.869, 0.919, 0.929, 0.935, 0.940, 0.949, 0.952, 0.998),
    "rural": (0.782, 0.869, 0.919, 0.929, 0.935, 0.940, 0.949, 0.952, 0.998),
}
_SUBURBAN_RURAL_SF_CL = (  # σ_SF LOS, σ_SF NLOS, CL (dB)
    (1.79, 8.93, 19.52), (1.14, 9.08, 18.17), (1.14, 8.78, 18.42), (0.92, 10.25, 18.28), (1.42, 10.56, 18.63),
    (1.56, 10.74, 17.68), (0.85, 10.17, 16.5), (0.72, 11.52, 16.3), (0.72, 11.52, 16.3),
)
_SF_CL = {
    "dense-urban": ((3.5, 15.5, 34.3), (3.4, 13.9, 30.9), (2.9, 12.4, 29.0), (3.0, 11.7, 27.7), (3.1, 10.6, 26.8),
                    (2.7, 10.5, 26.2), (2.5, 10.1, 25.8), (2.3, 9.2, 25.5), (1.2, 9.2, 25.5)),
    "urban": ((4.0, 6.0, 34.3), (4.0, 6.0, 30.9), (4.0, 6.0, 29.0), (4.0, 6.0, 27.7), (4.0, 6.0, 26.8),
              (4.0, 6.0, 26.2), (4.0, 6.0, 25.8), (4.0, 6.0, 25.5), (4.0, 6.0, 25.5)),
    "suburban": _SUBURBAN_RURAL_SF_CL,
    "rural": _SUBURBAN_RURAL_SF_CL,
}
_K_FACTOR_DB = {
    "dense-urban": (4.4, 9.0, 9.3, 7.9, 7.4, 7.0, 6.9, 6.5, 6.8),
    "urban": (31.83, 18.78, 10.49, 7.46, 6.52, 5.47, 4.54, 4.03, 3.68),
    "suburban": (11.4, 19.45, 20.8, 21.2, 21.6, 19.75, 12.0, 12.85, 12.85),
    "rural": (24.72, 12.31, 8.05, 6.21, 5.04, 4.42, 3.92, 3.65, 3.59),
}


def _check(environment: str) -> None:
    if environment not in ENVIRONMENTS:
        raise ConfigError("<channel>", "environment", f"{environment!r} is not one of {', '.join(ENVIRONMENTS)}")


def _by_elevation(values, elevation_deg) -> np.ndarray:
    return np.interp(np.asarray(elevation_deg, dtype=np.float64), ELEVATIONS_DEG, np.asarray(values, np.float64))


def los_probability(environment: str, elevation_deg) -> np.ndarray:
    """P(LOS) at ``elevation_deg`` (Table 6.6.1-1)."""
    _check(environment)
    return _by_elevation(_LOS_PROBABILITY[environment], elevation_deg)


def k_factor_db(environment: str, elevation_deg) -> np.ndarray:
    """Mean Rician K factor μ_K (dB) of the LOS channel (Tables 6.7.2-1/3/5/7, S-band)."""
    _check(environment)
    return _by_elevation(_K_FACTOR_DB[environment], elevation_deg)


def shadow_fading_db(environment: str, elevation_deg, los: bool) -> np.ndarray:
    """σ_SF (dB) in LOS or NLOS (Tables 6.6.2-1..3, S-band)."""
    _check(environment)
    return _by_elevation([row[0 if los else 1] for row in _SF_CL[environment]], elevation_deg)


def clutter_loss_db(environment: str, elevation_deg) -> np.ndarray:
    """Clutter loss CL (dB) in NLOS (Tables 6.6.2-1..3, S-band)."""
    _check(environment)
    return _by_elevation([row[2] for row in _SF_CL[environment]], elevation_deg)
