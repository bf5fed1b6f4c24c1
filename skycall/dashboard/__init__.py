"""Live lab dashboard in the browser: ``skycall dashboard`` / ``skycall run FLOWGRAPH --dashboard``.

A Starlette/uvicorn server on 127.0.0.1 (:mod:`.server`) subscribes to a running flowgraph's telemetry
and raw IQ taps, found in ``DIR/endpoints.json`` (:mod:`.links`: every socket through one function),
decimates on the server (:mod:`.decimate`: spectra and constellation points, never raw IQ) into
~15 frames/s (:mod:`.live`) pushed over a WebSocket, records them (:mod:`.recording`) and replays a
finished run at 1×/4×/max (:mod:`.replay`); after the call it serves the summary and the mouth/ear
audio (:mod:`.results`). The page (``static/``) draws canvas waterfalls and a constellation, and time
series with the vendored uPlot; its commands (dial, hang up, pre-compensation on/off, shutdown) go to
the processes' control sockets. Access needs the per-server token printed with the URL.
"""
