"""``skycall dashboard [--run-dir DIR] [--port N]``: the live lab dashboard in the browser.

Serves the page on 127.0.0.1 and prints its URL, which carries a fresh access token (the page, its
WebSocket and the audio refuse requests without it). ``--mode auto`` (default) watches a flowgraph
running in DIR (or about to: it waits for ``endpoints.json``) and replays DIR when its run has
finished (side records newer than ``endpoints.json``). ``skycall run FLOWGRAPH --dashboard`` starts
it as a child process (:class:`DashboardProcess`) that ends with the run's ``skycall``.
"""

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from skycall.dashboard.results import records_time
from skycall.errors import SkycallError

log = logging.getLogger(__name__)

DEFAULT_PORT = 8018
PARENT_ENV = "SKYCALL_DASHBOARD_PARENT"  # set by `skycall run`: stop when that process is gone
URL_PREFIX = "dashboard: "


def add_arguments(parser) -> None:
    parser.add_argument("--run-dir", default="out/demo", help="output directory of the flowgraph (skycall run --out)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"TCP port on 127.0.0.1 (default {DEFAULT_PORT}; 0: any free port)")
    parser.add_argument("--mode", choices=("auto", "live", "replay"), default="auto",
                        help="live: follow a running flowgraph; replay: a finished run at 1x/4x/max; auto: "
                             "replay if DIR's run has finished, else live")
    parser.add_argument("--fps", type=float, default=15.0, help="frames per second pushed to the page (live)")


def choose_mode(run_dir: Path) -> str:
    """``replay`` when the run in ``run_dir`` has finished (records newer than its endpoints), else ``live``."""
    done = records_time(run_dir)
    endpoints = run_dir / "endpoints.json"
    if done is not None and (not endpoints.exists() or done >= endpoints.stat().st_mtime):
        return "replay"
    return "live"


def listen(port: int) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (never another interface)."""
    if not 0 <= port <= 65535:
        raise SkycallError(f"--port {port} is not a TCP port (0-65535)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as err:
        sock.close()
        raise SkycallError(f"cannot listen on 127.0.0.1:{port} ({err.strerror}): pick another --port "
                           "(0 takes any free one)") from None
    sock.listen(64)
    return sock


def run(args) -> int:
    try:
        import uvicorn

        from skycall.dashboard.server import create_app
    except ImportError as err:
        raise SkycallError(f"the dashboard needs {err.name}: reinstall skycall (bash scripts/bootstrap.sh)") from None
    run_dir = Path(args.run_dir).resolve()
    if args.fps <= 0 or args.fps > 60:
        raise SkycallError(f"--fps {args.fps} must be in (0, 60]")
    if args.mode == "replay" and records_time(run_dir) is None:
        raise SkycallError(f"{run_dir} has no finished run to replay (no groundstation.json / handset.json)")
    run_dir.mkdir(parents=True, exist_ok=True)
    mode = choose_mode(run_dir) if args.mode == "auto" else args.mode
    sock = listen(args.port)
    token = secrets.token_urlsafe(18)
    parent = os.environ.get(PARENT_ENV)
    server: uvicorn.Server | None = None

    def orphaned() -> None:
        server.should_exit = True

    app = create_app(run_dir, token, mode, args.fps, int(parent) if parent else None, orphaned)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="websockets-sansio", lifespan="on"))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/?token={token}"
    print(f"{URL_PREFIX}{url}", flush=True)
    log.info("dashboard (%s) of %s at %s", mode, run_dir, url)
    server.run(sockets=[sock])
    return 0


class DashboardProcess:
    """``skycall dashboard --mode live`` as a child of ``skycall run --dashboard`` (prints the page's URL)."""

    def __init__(self, run_dir: str | Path, port: int, log_to_file: bool = False):
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        err = open(run_dir / "dashboard.log", "ab") if log_to_file else None  # noqa: SIM115
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "skycall.cli", "dashboard", "--run-dir", str(run_dir), "--port", str(port),
             "--mode", "live"],
            stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True,
            env={**os.environ, PARENT_ENV: str(os.getpid())},
        )
        if err is not None:
            err.close()
        line = self.popen.stdout.readline()
        if not line.startswith(URL_PREFIX):
            self.stop()
            raise SkycallError("the dashboard did not start (its error is above, or in OUT/dashboard.log; "
                               "`skycall run` sets its port with --dashboard-port)")
        self.url = line[len(URL_PREFIX):].strip()
        print(f"{URL_PREFIX}{self.url}", flush=True)
        # anything else it prints goes on to our stdout: a full pipe must never stall the server
        threading.Thread(target=self._forward, name="dashboard-stdout", daemon=True).start()

    def _forward(self) -> None:
        for line in self.popen.stdout:
            print(line, end="", flush=True)

    def linger(self, interrupted: bool) -> None:
        """After the run: keep serving the page (summary, audio) until Ctrl-C, unless the run was interrupted."""
        try:
            if not interrupted:
                print(f"the dashboard stays up at {self.url} : Ctrl-C quits", flush=True)
                self.popen.wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self, grace_s: float = 5.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


__all__ = ["DashboardProcess", "DEFAULT_PORT", "choose_mode", "listen"]
