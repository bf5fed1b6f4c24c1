"""One emulated ADALM-PLUTO: the driver's attributes (:mod:`.attrs`) plus its sample streams.

Two kinds of streams, chosen at construction:

* **lock-step** (the default, for exact tests; :mod:`.lockstep`): paced by sample index, never by
  the wall clock; the context advertises ``skycall,paced_by = sample_index`` so
  :class:`~skycall.radio.pluto.PlutoRadio` waits instead of dropping;
* **free-running** (``twin=VirtualPlutoConfig(...)``; :mod:`.freerun`): a real board's behaviour in
  real time — its own crystal for LOs and sample clock, DMA rings that overflow and underflow,
  zero-IF impairments, faults on request.

:class:`~skycall.radio.virtual_pluto.iiod.IiodServer` serves either through the same methods.
"""

from skycall.config.virtual_pluto import VirtualPlutoConfig
from skycall.radio.virtual_pluto.attrs import REF_CLOCK_HZ, IioError, PlutoAttributes
from skycall.radio.virtual_pluto.freerun import FreeRunningStreams
from skycall.radio.virtual_pluto.lockstep import LockstepStreams

__all__ = ["IioError", "VirtualPluto"]


class VirtualPluto:
    """One emulated Pluto.

    Parameters
    ----------
    serial : str
        Reported as the context attribute ``hw_serial`` (a twin reports ``twin.serial``).
    lo_offset_ppm, delay_samples, path_loss_db, air
        Lock-step only: crystal error, fixed transmit-to-receive latency (samples), bench attenuation
        (dB), and an optional ``process(x, first_index)`` applied to the received baseband.
    twin : VirtualPlutoConfig, optional
        Make it free-running with this crystal, front end, cable and fault schedule.
    t_on : float, optional
        Free-running: ``time.monotonic()`` of its power-up (default: now).
    """

    def __init__(self, serial: str = "virtual-0", lo_offset_ppm: float = 0.0, delay_samples: int = 64,
                 path_loss_db: float = 30.0, air=None, twin: VirtualPlutoConfig | None = None,
                 t_on: float | None = None):
        if twin is None:
            self.attrs = PlutoAttributes(serial, REF_CLOCK_HZ * (1.0 + lo_offset_ppm * 1e-6), lockstep=True)
            self.streams = LockstepStreams(self.attrs, delay_samples, path_loss_db, air)
        else:
            self.attrs = PlutoAttributes(twin.serial, REF_CLOCK_HZ, lockstep=False)
            self.streams = FreeRunningStreams(self.attrs, twin, t_on)

    @property
    def free_running(self) -> bool:
        return isinstance(self.streams, FreeRunningStreams)

    @property
    def serial(self) -> str:
        return self.attrs.serial

    @serial.setter
    def serial(self, value: str) -> None:
        self.attrs.serial = value

    # ------------------------------------------------------------------ served by iiod
    @property
    def xml(self) -> str:
        return self.attrs.xml

    def device(self, dev_id_or_name: str):
        return self.attrs.device(dev_id_or_name)

    def read_attr(self, *args, **kwargs) -> str:
        return self.attrs.read_attr(*args, **kwargs)

    def write_attr(self, *args, **kwargs) -> None:
        self.attrs.write_attr(*args, **kwargs)

    def set_kernel_buffers(self, dev_name: str, count: int) -> None:
        self.streams.set_kernel_buffers(dev_name, count)

    def open_tx(self, cyclic: bool, samples: int = 0) -> None:
        self.streams.open_tx(cyclic, samples)

    def close_tx(self) -> None:
        self.streams.close_tx()

    def open_rx(self, samples: int = 0) -> None:
        self.streams.open_rx(samples)

    def close_rx(self) -> None:
        self.streams.close_rx()

    def read_rx(self, n: int, wait_s: float = 0.0):
        return self.streams.read_rx(n, wait_s)

    def write_tx(self, iq, cyclic: bool, timeout_s: float, max_queued: int) -> None:
        self.streams.write_tx(iq, cyclic, timeout_s, max_queued)

    def shutdown(self) -> None:
        self.streams.shutdown()

    # ------------------------------------------------------------------ state for tests
    @property
    def sample_rate_sps(self) -> int:
        return self.attrs.sample_rate_sps

    def true_lo_hz(self, chan: str) -> float:
        return self.attrs.true_lo_hz(chan)

    @property
    def tx_underflow_samples(self) -> int:
        """Lock-step: samples a receiver pulled before they were written; free-running: zeros on the air."""
        if self.free_running:
            return self.streams.status()["tx_underflow_samples"]
        return self.streams.tx_underflow_samples
