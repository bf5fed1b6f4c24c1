"""Flowgraphs of the bridge tests: a small pass that exercises every channel stage."""

import dataclasses

from skycall.config.flowgraph import BeamConfig, Flowgraph, PassConfig, SrsranConfig


def leo_flow(**srsran) -> Flowgraph:
    """A 600 km overhead pass, 150 s before culmination (raw DL Doppler > 25 kHz), the UE 20 km east of its
    beam centre (residual Doppler and a drifting differential delay), 6 PRB."""
    return Flowgraph(name="test", seed=3, duration_s=8.0, pass_=PassConfig(call_offset_s=-150.0),
                     beam=BeamConfig(handset_offset_km=20.0, handset_bearing_deg=90.0),
                     srsran=SrsranConfig(**srsran), path="<test>")


def with_beam(flow: Flowgraph, **beam) -> Flowgraph:
    return dataclasses.replace(flow, beam=dataclasses.replace(flow.beam, **beam))
