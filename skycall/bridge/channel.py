"""One direction of the bridge's channel: the pass applied to a sample stream (numba FOC in the path).

Downlink (eNodeB → UE), beam-centre **pre**-compensation before the channel::

    y[n] = g(n) · D_{+f_d} { τ(n) ∘ R_{−f_c} { x } }[n] + σ·w[n]

Uplink (UE → eNodeB), beam-centre **post**-compensation after the channel (and after the satellite
receiver's noise)::

    y[n] = R_{−f_c} { g(n) · D_{+f_d} { τ(n) ∘ x } + σ·w }[n]

``R_f``/``D_f``: :class:`~skycall.dsp.rotator.TrajectoryRotator` (phase keyed to the absolute index n),
``τ∘``: :class:`~skycall.dsp.farrow.FarrowDelay` (or, for a constant whole number of samples, such as the
2-sample latency at the beam centre, :class:`IntegerDelay`: the same output, the interpolant at μ = 0
being the sample itself, for the cost of a copy), g and w: :class:`~skycall.bridge.noise.GainNoise`
(gain evaluated at the received sample's index). The receiver is left with f_d − f_c (the residual).
Stages that are the identity (no compensation, no delay, zero Doppler) are skipped. Every stage is a
function of the absolute index, so any message sizes give the same output samples; the calls must be
contiguous (the interpolator keeps history), which the forwarding loop guarantees by counting samples.
"""

import numpy as np

from skycall.bridge.noise import GainNoise
from skycall.bridge.plan import LinkPlan
from skycall.dsp._checks import DspArgumentError, complex_input
from skycall.dsp.farrow import FarrowDelay
from skycall.dsp.fir import _History
from skycall.dsp.rotator import TrajectoryRotator

_WHOLE = 1e-9  # samples: a constant delay this close to a whole number is that number


class IntegerDelay:
    """y[n] = x[n − D] for a whole number of samples D ≥ 0 (zeros before the stream's start)."""

    def __init__(self, samples: int):
        self.samples = int(samples)
        self._hist = _History(self.samples)
        self._next = 0

    def process(self, x, first_index: int) -> np.ndarray:
        """Delay ``x``, whose first sample is absolute index ``first_index`` (the stream is contiguous)."""
        if first_index != self._next:
            raise DspArgumentError(f"IntegerDelay: first_index {first_index} does not continue the stream "
                                   f"(expected {self._next})")
        x = complex_input(x)
        y = self._hist.load(x)[: x.size].copy()
        self._hist.keep_tail(x.size)
        self._next += x.size
        return y

    def reset(self) -> None:
        self._hist.reset()
        self._next = 0

    def copy(self) -> "IntegerDelay":
        other = IntegerDelay.__new__(IntegerDelay)
        other.samples, other._next, other._hist = self.samples, self._next, self._hist.copy()
        return other


def delay_stage(sample_rate_sps: float, index, delay_s) -> "IntegerDelay | FarrowDelay":
    """The delay of a table: an :class:`IntegerDelay` when it is one constant whole number of samples."""
    d = np.asarray(delay_s, dtype=np.float64) * sample_rate_sps
    whole = round(float(d[0]))
    if np.all(np.abs(d - whole) <= _WHOLE):
        return IntegerDelay(whole)
    return FarrowDelay(sample_rate_sps, index, delay_s)


class LinkChannel:
    """The pass of one direction (see the module docstring).

    Parameters
    ----------
    plan : LinkPlan
        Tables on absolute sample indices.
    sample_rate_sps : float
    uplink : bool
        Uplink order (compensation after the channel and the noise).
    rng : numpy.random.Generator
        Noise source (seeded).
    """

    def __init__(self, plan: LinkPlan, sample_rate_sps: float, uplink: bool, rng: np.random.Generator):
        fs, idx = sample_rate_sps, plan.index
        self.plan, self.uplink = plan, uplink
        self._comp = TrajectoryRotator(fs, idx, plan.centre_hz, sign=-1) if plan.centre_hz is not None else None
        self._delay = delay_stage(fs, idx, plan.delay_s) if plan.delay_s is not None else None
        self._doppler = TrajectoryRotator(fs, idx, plan.doppler_hz, sign=+1) if np.any(plan.doppler_hz) else None
        self._gain_noise = GainNoise(idx, plan.gain_db, plan.noise_power, rng)
        self._next = 0

    @property
    def sample_index(self) -> int:
        """Absolute index of the next sample."""
        return self._next

    def process(self, x: np.ndarray) -> np.ndarray:
        """The channel applied to the next ``len(x)`` samples of the stream (complex64 in, complex64 out)."""
        first, y = self._next, np.array(x, dtype=np.complex64)  # a private, writable copy: stages work in place
        if not y.size:
            return y
        if self._comp is not None and not self.uplink:
            self._comp.process(y, first, out=y)
        if self._delay is not None:
            y = self._delay.process(y, first)
        if self._doppler is not None:
            self._doppler.process(y, first, out=y)
        self._gain_noise.process(y, first, out=y)
        if self._comp is not None and self.uplink:
            self._comp.process(y, first, out=y)
        self._next = first + y.size
        return y

    def reset(self) -> None:
        """Restart the stream at absolute index 0 (the interpolator's history cleared)."""
        if self._delay is not None:
            self._delay.reset()
        self._next = 0

    def copy(self) -> "LinkChannel":
        """An independent channel that continues from here identically."""
        other = LinkChannel.__new__(LinkChannel)
        other.__dict__.update(self.__dict__)
        for name in ("_comp", "_delay", "_doppler"):
            stage = getattr(self, name)
            setattr(other, name, stage.copy() if stage is not None else None)
        return other
