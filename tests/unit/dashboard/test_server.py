"""The dashboard server over real HTTP and WebSocket on 127.0.0.1: access token, origin, static assets
(the vendored uPlot and its licence, installed as package data) and a replay played at max speed."""

import json
import threading
import urllib.error
import urllib.request

import pytest
import uvicorn
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from skycall.dashboard.cli import listen
from skycall.dashboard.replay import frames_from_records
from skycall.dashboard.server import create_app

TOKEN = "s3cret-token"


@pytest.fixture
def server(finished_run):
    run_dir = finished_run[0]
    sock = listen(0)
    srv = uvicorn.Server(uvicorn.Config(create_app(run_dir, TOKEN, "replay"), log_level="warning",
                                        ws="websockets-sansio", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    port = sock.getsockname()[1]
    yield f"127.0.0.1:{port}", run_dir
    srv.should_exit = True
    thread.join(10)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_the_page_and_audio_need_the_token_the_assets_do_not(server):
    server, _ = server
    assert _get(f"http://{server}/")[0] == 403
    assert _get(f"http://{server}/?token=wrong")[0] == 403
    status, page = _get(f"http://{server}/?token={TOKEN}")
    assert status == 200 and b"/static/vendor/uPlot.iife.min.js" in page and b"btn-precomp-off" in page
    status, js = _get(f"http://{server}/static/vendor/uPlot.iife.min.js")
    assert status == 200 and b"uPlot (v1.6.32)" in js[:200]
    assert b"MIT License" in _get(f"http://{server}/static/vendor/uPlot.LICENSE")[1]
    assert _get(f"http://{server}/audio/dl_ear.wav")[0] == 403
    assert _get(f"http://{server}/audio/nothing.wav?token={TOKEN}")[0] == 404
    status, wav = _get(f"http://{server}/audio/dl_ear.wav?token={TOKEN}")
    assert status == 200 and wav[:4] == b"RIFF"


@pytest.mark.parametrize("headers", [{}, {"Origin": "http://evil.example"}])
def test_the_websocket_refuses_a_missing_token_or_another_sites_page(server, headers):
    server, _ = server
    url = f"ws://{server}/ws" + ("" if not headers else f"?token={TOKEN}")
    with pytest.raises(InvalidStatus) as err:
        connect(url, additional_headers=headers, open_timeout=5).close()
    assert err.value.response.status_code == 403


def test_a_replay_at_max_speed_sends_every_frame_then_the_summary(server):
    server, run_dir = server
    with connect(f"ws://{server}/ws?token={TOKEN}", origin=f"http://{server}", open_timeout=5) as ws:
        hello = json.loads(ws.recv(5))
        assert hello["type"] == "hello" and hello["mode"] == "replay" and hello["source"] == "records"
        ws.send(json.dumps({"type": "command", "id": 1, "cmd": "dial"}))
        ws.send(json.dumps({"type": "replay", "speed": "max"}))
        frames, reply = [], None
        while True:
            msg = json.loads(ws.recv(10))
            if msg["type"] == "frame":
                frames.append(msg)
            elif msg["type"] == "reply":
                reply = msg
            elif msg["type"] == "summary":
                break
        assert reply == {"type": "reply", "id": 1, "cmd": "dial", "ok": False,
                         "error": "a replay has no flowgraph to control"}
        assert frames == frames_from_records(run_dir)  # every frame, in order, as built


def test_a_page_that_falls_behind_loses_pictures_never_events():
    import asyncio

    from skycall.dashboard.server import MAX_PICTURE_FRAMES, Outbox, dumps

    box = Outbox()
    n = MAX_PICTURE_FRAMES + 12
    for i in range(n):
        frame = {"type": "frame", "t_s": i, "events": [{"t": "rx_status", "index": i}], "spectra": {"rx": {"psd": "x"}},
                 "const": {"handset": {"iq": "y", "n": 1}}}
        box.put(dumps(frame), frame)
    box.put(dumps({"type": "reply", "id": 1}))

    async def drain():
        return [json.loads(await box.get()) for _ in range(n + 1)]

    got = asyncio.run(drain())
    assert [m.get("t_s") for m in got[:-1]] == list(range(n)) and got[-1]["type"] == "reply"  # in order
    assert [m["events"][0]["index"] for m in got[:-1]] == list(range(n))  # every event
    assert [bool(m["spectra"]) for m in got[:-1]] == [False] * 12 + [True] * MAX_PICTURE_FRAMES
    assert not box.overflowed
