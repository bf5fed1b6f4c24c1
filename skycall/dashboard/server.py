"""The dashboard's web server: Starlette on uvicorn, bound to 127.0.0.1 only.

Routes (all but ``/static`` need the run's access token, ``?token=…``, compared in constant time):

=====================  ==========================================================================
``GET /``              the page
``GET /static/…``      its script and style and the vendored uPlot (served locally: labs are offline)
``WS /ws``             frames to the page, commands from it; refused unless the Host is a loopback
                       name and the Origin (when sent) is this server, so no other site can drive it
``GET /audio/N.wav``   after the call: ``dl_mouth``, ``dl_ear``, ``ul_mouth``, ``ul_ear``
=====================  ==========================================================================

Messages to the page (JSON): ``hello`` (mode, scales, every event so far, the summary if known),
``frame`` (:mod:`.live`), ``summary``, ``reply`` (to a command), ``replay`` (position and speed).
From the page: ``{"type": "command", "id", "cmd", ...args}`` (live: dial, hangup, precompensation
``on``, shutdown) and ``{"type": "replay", "speed": "1x" | "4x" | "max", "restart": bool}``.

Live mode: one loop polls the :class:`~.live.LiveSource` ``fps`` times a second, records each frame
(:mod:`.recording`) and queues it to every page; a page that cannot keep up gets every event but fewer
pictures (:class:`Outbox`). Replay: each page plays the run
on its own clock (:mod:`.replay`).
"""

import asyncio
import contextlib
import hmac
import json
import logging
import os
import time
from collections import deque
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from skycall.config.flowgraph import BASEBAND_RATE_SPS
from skycall.dashboard import decimate
from skycall.dashboard.live import SPECTRUM_TAPS, LiveSource
from skycall.dashboard.recording import Recorder
from skycall.dashboard.replay import SPEEDS, due_until, replay_frames
from skycall.dashboard.results import AUDIO, audio_wav, call_summary
from skycall.errors import SkycallError

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
FRAME_RATE_HZ = 15.0
MAX_PICTURE_FRAMES = 30  # ~2 s of frames queued for a page: older ones lose their pictures
MAX_BACKLOG = 20_000  # messages queued for a page that stopped reading: it is dropped
WATERFALL_ROWS = 210  # the page's waterfall height
FINISHED_PERIOD_S = 0.5  # frames after the run (nothing new comes; the page stays connected)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
FORBIDDEN = ("skycall dashboard: this page needs the access token: open the URL that `skycall run --dashboard` "
             "or `skycall dashboard` printed (it ends in ?token=...)")


def dumps(message: dict) -> str:
    return json.dumps(message, allow_nan=False, separators=(",", ":"))


class Outbox:
    """A page's outgoing messages, in order. A page that falls behind loses pictures, never events: past
    ``MAX_PICTURE_FRAMES`` queued frames the oldest is re-sent without its spectra and constellation;
    ``overflowed`` (the page is dropped, and reconnects) only past ``MAX_BACKLOG`` messages."""

    def __init__(self):
        self._items: deque[list] = deque()  # [text, frame dict while it still carries pictures]
        self._pictures = 0
        self._ready = asyncio.Event()
        self.overflowed = False

    def put(self, text: str, frame: dict | None = None) -> None:
        self._items.append([text, frame])
        self._pictures += frame is not None
        if self._pictures > MAX_PICTURE_FRAMES:
            oldest = next(item for item in self._items if item[1] is not None)
            oldest[0], oldest[1] = dumps({**oldest[1], "spectra": {}, "const": {}}), None
            self._pictures -= 1
        self.overflowed = self.overflowed or len(self._items) > MAX_BACKLOG
        self._ready.set()

    async def get(self) -> str:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        text, frame = self._items.popleft()
        self._pictures -= frame is not None
        return text


class LiveHub:
    """Polls the live source, records and fans frames out to every connected page."""

    def __init__(self, run_dir: Path, fps: float, parent_pid: int | None = None, on_orphaned=None):
        self.run_dir = run_dir
        self.source = LiveSource(run_dir)
        self.recorder = Recorder(run_dir, BASEBAND_RATE_SPS)
        self.period_s = 1.0 / fps
        self.pages: set[Outbox] = set()
        self.rows = {tap: deque(maxlen=WATERFALL_ROWS) for tap in SPECTRUM_TAPS}  # for pages that join late
        self.summary: dict | None = None
        self.frames = 0
        self.cpu_fraction = 0.0  # of one core, this whole server process, over the last second
        self._parent_pid, self._on_orphaned = parent_pid, on_orphaned
        self._summary_task: asyncio.Task | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_t = loop.time()
        cpu0, wall0 = time.process_time(), time.monotonic()
        while True:
            try:
                self._step()
            except Exception:  # a bug must not freeze every page: log it, go on with the next frame
                log.exception("dashboard: frame %d failed", self.frames)
            now = time.monotonic()
            if now - wall0 >= 1.0:
                self.cpu_fraction = (time.process_time() - cpu0) / (now - wall0)
                cpu0, wall0 = time.process_time(), now
                self.recorder.flush()
                if self._parent_pid is not None and os.getppid() != self._parent_pid:
                    log.info("dashboard: `skycall run` is gone; stopping")
                    self._on_orphaned()
            finished = self._summary_task is not None
            next_t = max(next_t + (FINISHED_PERIOD_S if finished else self.period_s), loop.time())
            await asyncio.sleep(next_t - loop.time())

    def _step(self) -> None:
        """One frame: poll, record (until the run has finished), send to every page."""
        frame = self.source.poll()
        frame["server"] = {"cpu": round(self.cpu_fraction, 4), "frames": self.frames}
        for tap, row in frame["spectra"].items():
            self.rows[tap].append(row)
        text = dumps(frame)
        if self.source.endpoints and self._summary_task is None:
            self.recorder.endpoints(self.source.endpoints)
            self.recorder.frame(text)
        self.frames += 1
        self.broadcast(text, frame)
        if self.source.run_state == "finished" and self._summary_task is None:
            self.recorder.flush()
            self._summary_task = asyncio.create_task(self._summarise())

    async def _summarise(self) -> None:
        await asyncio.sleep(1.0)  # both records are written; let the file system settle
        self.summary = await summary_message(self.run_dir)
        self.broadcast(dumps(self.summary))

    def broadcast(self, text: str, frame: dict | None = None) -> None:
        for page in self.pages:
            page.put(text, frame)

    def hello(self) -> dict:
        return {**hello_base("live", self.run_dir, FRAME_RATE_HZ), "backlog": self.source.events,
                "rows": {tap: list(rows) for tap, rows in self.rows.items()}, "summary": self.summary}

    def close(self) -> None:
        self.recorder.close()
        self.source.close()


def hello_base(mode: str, run_dir: Path, fps: float) -> dict:
    return {"type": "hello", "mode": mode, "run_dir": str(run_dir), "fs_hz": BASEBAND_RATE_SPS,
            "bins": decimate.FFT_BINS, "db_min": decimate.DB_MIN, "db_step": decimate.DB_STEP,
            "const_scale": decimate.CONST_SCALE, "fps": fps}


async def summary_message(run_dir: Path) -> dict:
    """The call's summary (built in a thread: PESQ takes seconds) and its audio, or why there is none."""
    try:
        summary = await asyncio.to_thread(call_summary, run_dir)
    except Exception as err:  # whatever went wrong, the page says so and the server stays up
        log.warning("dashboard: no summary of %s: %s", run_dir, err, exc_info=not isinstance(err, SkycallError))
        return {"type": "summary", "summary": None, "error": f"{type(err).__name__}: {err}"}
    return {"type": "summary", "summary": summary, "audio": sorted(AUDIO)}


class ReplayPlayer:
    """One page's replay: frames due on its own clock (:func:`~.replay.due_until`), then the summary."""

    def __init__(self, ws: WebSocket, run_dir: Path, source: str, frames: list[dict], summary: asyncio.Task):
        self.ws, self.run_dir, self.source, self.frames, self.summary = ws, run_dir, source, frames, summary
        self.t = np.array([f["t_s"] for f in frames], np.float64)
        self.speed_name = "1x"
        self.next = 0
        self._restart, self._anchored = True, False
        self._replies: list[dict] = []
        self._wake = asyncio.Event()

    def reply(self, message: dict) -> None:
        """Send ``message`` from the player's task (one sender per socket)."""
        self._replies.append(message)
        self._wake.set()

    def control(self, msg: dict) -> None:
        """A page's ``replay`` message: applied by :meth:`play` at its next step."""
        if msg.get("speed") in SPEEDS:
            self.speed_name = msg["speed"]
        self._restart = self._restart or bool(msg.get("restart"))
        self._anchored = False
        self._wake.set()

    async def _send(self, message: dict) -> None:
        await self.ws.send_text(dumps(message))

    async def play(self) -> None:
        done = False
        while True:
            while self._replies:
                await self._send(self._replies.pop(0))
            if self._restart:
                self._restart, self.next, done, self._anchored = False, 0, False, False
                await self._send({**hello_base("replay", self.run_dir, FRAME_RATE_HZ), "source": self.source,
                                  "duration_s": float(self.t[-1]) if self.t.size else 0.0, "backlog": [],
                                  "speeds": list(SPEEDS), "summary": None})
            if not self._anchored:  # stream time restarts from the current frame at the current speed
                self.anchor_t = self.t[self.next - 1] if self.next else (self.t[0] if self.t.size else 0.0)
                self.anchor_wall, self._anchored = time.monotonic(), True
                await self._send({"type": "replay", "speed": self.speed_name, "duration_s": float(self.t[-1])
                                  if self.t.size else 0.0})
            speed = SPEEDS[self.speed_name]
            due = due_until(self.t, self.anchor_t, time.monotonic() - self.anchor_wall, speed)
            for i in range(self.next, min(due, self.next + 1) if speed is None else due):
                await self._send(self.frames[i])
                self.next = i + 1
            if self.next >= len(self.frames):
                if not done:
                    done = True
                    await self._send({"type": "replay", "speed": self.speed_name, "done": True})
                    await self._send(await asyncio.shield(self.summary))
                wait_s = None  # until the page asks for more
            elif speed is None:
                await asyncio.sleep(0)
                continue
            else:
                wait_s = (self.t[self.next] - self.anchor_t) / speed - (time.monotonic() - self.anchor_wall)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), None if wait_s is None else max(wait_s, 0.0))
            except TimeoutError:
                pass


def create_app(run_dir: str | Path, token: str, mode: str, fps: float = FRAME_RATE_HZ,
               parent_pid: int | None = None, on_orphaned=None) -> Starlette:
    """The dashboard app for ``run_dir`` in ``mode`` ``"live"`` or ``"replay"``."""
    run_dir = Path(run_dir).resolve()
    state: dict = {}

    def authorised(conn) -> bool:
        return hmac.compare_digest(conn.query_params.get("token", "").encode(), token.encode())

    async def page(request):
        if not authorised(request):
            return HTMLResponse(FORBIDDEN, status_code=403)
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def audio(request):
        name = request.path_params["name"]
        if not authorised(request):
            return Response(FORBIDDEN, status_code=403)
        if name not in AUDIO:
            return Response(f"no audio {name!r}; there are {sorted(AUDIO)}", status_code=404)
        try:
            wav = await asyncio.to_thread(audio_wav, run_dir, name)
        except (FileNotFoundError, KeyError):
            return Response("the call has no records yet", status_code=404)
        return Response(wav, media_type="audio/wav")

    async def websocket(ws: WebSocket):
        host = ws.headers.get("host", "")
        origin = ws.headers.get("origin")
        if (not authorised(ws) or host.rsplit(":", 1)[0] not in LOOPBACK_HOSTS
                or (origin is not None and origin != f"http://{host}")):
            await ws.close(code=1008)  # before accept: the handshake is refused (HTTP 403)
            return
        await ws.accept()
        try:
            if mode == "live":
                await live_page(ws, state["hub"])
            else:
                await replay_page(ws)
        except WebSocketDisconnect:
            pass

    async def replay_page(ws: WebSocket):
        if "replay" not in state:
            state["replay"] = await asyncio.to_thread(replay_frames, run_dir)
            state["summary"] = asyncio.create_task(summary_message(run_dir))  # once, for every page
        player = ReplayPlayer(ws, run_dir, *state["replay"], state["summary"])
        task = background(player.play())
        try:
            while True:
                msg = await receive(ws)
                if msg.get("type") == "replay":
                    player.control(msg)
                elif msg.get("type") == "command":
                    player.reply({"type": "reply", "id": msg.get("id"), "cmd": msg.get("cmd"), "ok": False,
                                  "error": "a replay has no flowgraph to control"})
        finally:
            task.cancel()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if mode == "live":
            hub = state["hub"] = LiveHub(run_dir, fps, parent_pid, on_orphaned)
            task = asyncio.create_task(hub.run())
            try:
                yield
            finally:
                task.cancel()
                hub.close()
        else:
            yield

    return Starlette(routes=[
        Route("/", page),
        Route("/audio/{name}.wav", audio),
        WebSocketRoute("/ws", websocket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ], lifespan=lifespan)


def background(coro) -> asyncio.Task:
    """A task whose failure (a page gone mid-send) is logged at debug level, not left unretrieved."""
    task = asyncio.create_task(coro)
    task.add_done_callback(lambda t: t.cancelled() or t.exception() is None
                           or log.debug("dashboard: page task ended: %r", t.exception()))
    return task


async def receive(ws: WebSocket) -> dict:
    """The page's next message as a dict (anything else is ignored as ``{}``)."""
    text = await ws.receive_text()
    try:
        msg = json.loads(text)
    except ValueError:
        return {}
    return msg if isinstance(msg, dict) else {}


async def live_page(ws: WebSocket, hub: LiveHub) -> None:
    box = Outbox()
    box.put(dumps(hub.hello()))
    hub.pages.add(box)

    async def pump():
        while not box.overflowed:
            await ws.send_text(await box.get())
        await ws.close(code=1013)  # too far behind: the page reconnects and starts afresh

    task = background(pump())
    try:
        while True:
            msg = await receive(ws)
            if msg.get("type") == "command":
                box.put(dumps(await run_command(hub, msg)))
    finally:
        hub.pages.discard(box)
        task.cancel()


async def run_command(hub: LiveHub, msg: dict) -> dict:
    """A page command → the flowgraph's control sockets → a reply for the page."""
    name = str(msg.get("cmd"))
    args = {"on": msg.get("on")} if name == "precompensation" else {}
    reply = {"type": "reply", "id": msg.get("id"), "cmd": name}
    try:
        result = await asyncio.wrap_future(hub.source.command(name, **args))
    except Exception as err:  # no answer, an error reply, a broken socket: the page says so, the server goes on
        log.warning("dashboard: %s %s failed: %s", name, args, err, exc_info=not isinstance(err, SkycallError))
        return {**reply, "ok": False, "error": str(err)}
    log.info("dashboard: %s %s -> %s", name, args, result)
    return {**reply, "ok": True, "result": result}


__all__ = ["create_app", "LiveHub", "ReplayPlayer", "FRAME_RATE_HZ"]
