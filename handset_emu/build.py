"""Assemble the phone core from a flowgraph's handset process."""

from handset_emu.phone import Phone
from skycall.call.build import UE_ID, Speech, waveform
from skycall.config.flowgraph import Flowgraph, ProcessConfig
from skycall.vocoder.base import get_vocoder


def handset_process(flow: Flowgraph) -> ProcessConfig:
    """The flowgraph's (single) handset process."""
    for p in flow.process:
        if p.role == "handset":
            return p
    raise KeyError("the flowgraph has no process with role = \"handset\"")


def build_phone(flow: Flowgraph, speech: Speech, proc: ProcessConfig | None = None) -> Phone:
    """The handset's core for ``flow`` (receiver profile, modem, call control, voice)."""
    proc = proc or handset_process(flow)
    dl_only = flow.call.duplex == "dl_only" or not proc.transmit
    return Phone(waveform(), proc.receiver_profile, get_vocoder(flow.call.vocoder), speech.ul, UE_ID,
                 dl_only=dl_only, dl_freq_hz=proc.rx_freq, ul_freq_hz=proc.tx_freq, tcxo_ppm=proc.tcxo_ppm)
