"""The phone's uplink frame timing: from the downlink, minus a timing advance (see :mod:`skycall.call.timing`).

The phone's downlink frame timing δ is where received frames start within its slot grid
(``sample_index mod N``, median of the last few frames). It transmits uplink frame k at ``k·N + δ − TA``:
the samples it produces for slot k leave delayed by ``u = (δ − TA) mod N`` whole samples (a delay
line over the previous slot; a negative offset is sent one slot ahead). While it transmits, ``u``
slews by at most ``SLEW_S_PER_SLOT`` per slot toward its target, so the satellite's receiver sees
no timing jump; after a silent slot it takes the target at once.

TA = the phone's own advance + what the network commanded. A terrestrial phone has no own advance
and clamps TA to ``[0, TA_MAX_S]``; a satellite-aware (NTN) phone pre-compensates
``2δ − W0`` (its round trip, from the beacon's common timing advance W0) and has no bound.
"""

import numpy as np

from skycall.call.timing import SLEW_S_PER_SLOT, TA_MAX_S

_HISTORY = 5  # downlink frames in the median


class UplinkTiming:
    """Delay line placing each uplink slot at the phone's downlink-derived timing minus its TA.

    Parameters
    ----------
    sample_rate_sps : float
    samples_per_slot : int
    terrestrial : bool
        TA bounded to ``[0, TA_MAX_S]`` and no own pre-compensation (else: NTN phone).
    """

    def __init__(self, sample_rate_sps: float, samples_per_slot: int, terrestrial: bool):
        self.fs, self.n, self.terrestrial = float(sample_rate_sps), int(samples_per_slot), bool(terrestrial)
        self.step = max(1, int(round(SLEW_S_PER_SLOT * self.fs)))
        self._dl: list[int] = []
        self.delay_samples = 0  # u currently applied
        self.ta_s = 0.0
        self._prev = np.zeros(self.n, np.complex64)

    @property
    def dl_timing_samples(self) -> float | None:
        """δ: median start of the last downlink frames within the slot grid (None before the first)."""
        if not self._dl:
            return None
        ref = self._dl[-1]
        unwrapped = [ref + ((d - ref + self.n // 2) % self.n) - self.n // 2 for d in self._dl]
        return float(np.median(unwrapped)) % self.n

    def observe(self, frames) -> None:
        """Note the start of each received downlink frame."""
        for f in frames:
            self._dl = (self._dl + [int(f.sample_index) % self.n])[-_HISTORY:]

    def timing_advance_s(self, network_ta_s: float, common_ta_s: float | None) -> float:
        """The TA the phone applies: bounded terrestrial, or the NTN pre-compensation plus the network's."""
        if self.terrestrial:
            return float(np.clip(network_ta_s, 0.0, TA_MAX_S))
        delta = self.dl_timing_samples
        own = 2.0 * delta / self.fs - common_ta_s if delta is not None and common_ta_s is not None else 0.0
        return own + network_ta_s

    def process(self, x: np.ndarray, ta_s: float) -> np.ndarray:
        """One slot of uplink samples placed at ``δ − ta_s`` (complex64, same length)."""
        self.ta_s = ta_s
        delta = self.dl_timing_samples
        if delta is not None:
            target = int(round(delta - ta_s * self.fs)) % self.n
            diff = (target - self.delay_samples + self.n // 2) % self.n - self.n // 2
            step = int(np.clip(diff, -self.step, self.step)) if self._prev.any() else diff
            self.delay_samples = (self.delay_samples + step) % self.n
        x = np.asarray(x, np.complex64)
        d = self.delay_samples
        y = np.concatenate([self._prev[self.n - d :], x[: self.n - d]]) if d else x.copy()
        self._prev = x.copy()
        return y
