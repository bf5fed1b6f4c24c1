"""Virtual ADALM-PLUTO: the Pluto's IIO context and behaviour behind libiio's iiod network protocol."""

from skycall.radio.virtual_pluto.device import VirtualPluto
from skycall.radio.virtual_pluto.iiod import IIOD_PORT, IiodServer

__all__ = ["IIOD_PORT", "IiodServer", "VirtualPluto"]
