"""Uplink frame timing shared by both ends: a terrestrial phone's timing-advance range and the
satellite's uplink receive window (sources in ``docs/physics.md`` §9).

A terrestrial phone transmits uplink frame k at the start of downlink frame k as it receives it,
minus its timing advance TA, ``0 ≤ TA ≤ TA_MAX_S``: the largest a random-access response can
command (LTE: 11-bit TA × 16·Ts = 1282·16/30.72 MHz = 0.668 ms, a 100 km cell; the long PRACH
formats' cyclic prefix, ≈ 0.67 ms, bounds the round trip the base station can measure the same way).

The satellite expects uplink frame k at ``k·T + W0`` in its own stream (W0: the common timing
advance); it measures every received frame's error ``e`` (+: late) against that grid:

* an ACCESS is detected only when ``-WINDOW_S ≤ e ≤ TA_MAX_S`` (a random-access window), and its
  acknowledgement commands ``TA += e``;
* any other frame more than ``WINDOW_S`` (one symbol: the guard of a slotted uplink) off its slot is
  discarded; when the median error of the last ``TA_MEDIAN_FRAMES`` frames exceeds ``TA_UPDATE_S``
  (a quarter symbol) it sends a timing-advance command ``TA += median``, at most every
  ``TA_HOLDOFF_SLOTS``.

With beam-centre delay compensation W0 = 2·τ_0 − TA_MAX_S/2 (τ_0: the compensated beam-centre delay),
so a phone anywhere within ±TA_MAX_S/4 of differential delay from the centre gets through with
``TA = TA_MAX_S/2 + 2·Δτ``; without it W0 = 0, as a terrestrial base station, and the round trip
2·τ (4-13.5 ms) is beyond any terrestrial TA.
"""

SYMBOL_S = 1.0 / 12_000.0
TA_MAX_S = 1282 * 16 / 30.72e6
TA_REF_S = TA_MAX_S / 2
WINDOW_S = SYMBOL_S
TA_UPDATE_S = SYMBOL_S / 4
TA_MEDIAN_FRAMES = 5
TA_HOLDOFF_SLOTS = 10
#: the phone moves its uplink timing by at most this much per 40 ms slot (it slews, it does not jump)
SLEW_S_PER_SLOT = SYMBOL_S / 5


def common_ta_s(delay_ref_s: float, compensate_delay: bool) -> float:
    """W0: where the satellite's uplink frame grid sits behind its downlink frame clock (seconds)."""
    return 2.0 * delay_ref_s - TA_REF_S if compensate_delay else 0.0
