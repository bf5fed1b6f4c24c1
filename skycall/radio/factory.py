"""``open_radio(flow, process_name, node)``: the radio backend a flowgraph process asks for.

The backend follows the driver of the process's hardware profile:

* ``loopback`` → :class:`skycall.radio.loopback.LoopbackRadio` on ``node``, or, when the process's
  ``radio_args`` is ``sigmf:PATH``, :class:`skycall.radio.sigmf_backend.SigMFReplayRadio` replaying
  that recording as a receiver;
* ``pluto`` → ``skycall.radio.pluto.PlutoRadio(profile, args)``;
* ``soapy`` → ``skycall.radio.soapy.SoapyRadio(profile, args)``.

Hardware backends are imported only when asked for, so a missing driver library affects only
the flowgraphs that need it. ``args`` is the process's ``radio_args`` or the profile's default.
"""

import importlib

from skycall.config.flowgraph import Flowgraph
from skycall.errors import MissingDependency, SkycallError
from skycall.radio.base import Radio

_HARDWARE = {"pluto": ("skycall.radio.pluto", "PlutoRadio"), "soapy": ("skycall.radio.soapy", "SoapyRadio")}


def open_radio(flow: Flowgraph, process_name: str, node=None) -> Radio:
    """Construct (not yet open) the radio of ``process_name``."""
    proc = flow.proc(process_name)
    profile = flow.profiles[process_name]
    args = proc.radio_args or profile.default_args
    if profile.driver == "loopback":
        if args.startswith("sigmf:"):
            from skycall.radio.sigmf_backend import SigMFReplayRadio

            return SigMFReplayRadio(args.removeprefix("sigmf:"))
        if node is None:
            raise SkycallError(
                f"process {process_name!r}: a loopback radio needs its Node (run it with skycall run)"
            )
        from skycall.radio.loopback import LoopbackRadio

        return LoopbackRadio(node)
    module_name, class_name = _HARDWARE[profile.driver]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise MissingDependency(
            f"process {process_name!r} uses a {profile.driver} radio but {module_name} cannot be imported "
            f"({err}); install the driver library (see README: radios)"
        ) from err
    return getattr(module, class_name)(profile, args)


__all__ = ["open_radio"]
