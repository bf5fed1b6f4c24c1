"""srsRAN 4G's eNodeB and UE through the beam emulator (``skycall bridge``; docs/srsran.md).

* :mod:`.plan`: the pass (or static impairments) as tables on absolute sample indices, per direction;
* :mod:`.noise`, :mod:`.channel`: the streaming channel of one direction (numba FOC, Farrow delay,
  gain and noise);
* :mod:`.forward`: the REQ/REP forwarding loop of srsRAN's ZeroMQ radio;
* :mod:`.service`, :mod:`.cli`: the bridge process (``skycall bridge``);
* :mod:`.srsran`, :mod:`.console`, :mod:`.runner`: finding srsRAN, parsing its console, running a flowgraph;
* :mod:`.summary`, :mod:`.campaign`, :mod:`.report`: the run's summary, the envelope campaign, the HTML report.
"""
