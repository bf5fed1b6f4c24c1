"""The live lab dashboard in headless Chromium: ``skycall run flowgraphs/loopback_call.toml --dashboard``.

One scripted session (module fixture ``live``) drives the real flowgraph from the page: it waits for the
call, reads what the page drew, clicks "pre-compensation off" and watches the phone lose lock and the
call, switches it back on, dials again, shuts the flowgraph down and waits for the summary after the call.
The run is paced in real time; its duration is only an upper bound (the page's Shutdown ends it), so a
loaded machine makes the session slower, never different. The tests then check
each observation against what the flowgraph itself recorded (telemetry, side records), replay the run,
and run the same call with and without the dashboard to compare the summaries.

Debian ``chromium`` is driven through Playwright's Python API with ``executable_path`` (no browser
download); without it the tests skip with the reason. Screenshots go to the test's tmp dir and, when
``SKYCALL_ARTIFACTS`` names a directory, there too.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FLOW = ROOT / "flowgraphs" / "loopback_call.toml"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LIVE_DURATION_S = 60.0  # an upper bound: the session shuts the flowgraph down

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip("Debian chromium is not installed (apt-get install chromium; .ci/run installs it)",
                allow_module_level=True)


# ---------------------------------------------------------------------------------------------- helpers
def _save(page, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    artifacts = os.environ.get("SKYCALL_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(artifacts) / path.name)


def _start(args: list[str], out: Path) -> tuple[subprocess.Popen, str]:
    """Start ``skycall ARGS`` and return it with the dashboard URL it printed."""
    proc = subprocess.Popen([sys.executable, "-m", "skycall.cli", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("dashboard: "):
            return proc, line.split(" ", 1)[1].strip()
    proc.wait(10)
    raise AssertionError(f"`skycall {' '.join(args)}` printed no dashboard URL (exit {proc.returncode}); "
                         f"see {out}/dashboard.log")


def _stop(proc: subprocess.Popen, timeout_s: float = 30.0) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout_s)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()


def _js(page, expr: str):
    return page.evaluate(expr)


def _wait(page, expr: str, timeout_s: float, what: str) -> None:
    try:
        page.wait_for_function(expr, timeout=timeout_s * 1000, polling=100)
    except playwright.TimeoutError:
        seen = page.evaluate("JSON.stringify({hs: dash.state.hs, gs: dash.state.gs, t: dash.stats.lastT, "
                             "replies: dash.state.replies, log: dash.state.log.slice(0, 6)})")
        raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what} ({expr}); page: {seen}") from None


def _shows(element_id: str, text: str) -> str:
    """JS: the element shows ``text`` (what the audience reads, not only the page's state)."""
    return f"document.getElementById('{element_id}').textContent === '{text}'"


def _lit_pixels(page, canvas_id: str) -> int:
    """Pixels of a canvas that are not its dark background."""
    return _js(page, f"""(() => {{ const c = document.getElementById("{canvas_id}");
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 90) n++; return n; }})()""")


def _trace_pixels(page, selector: str) -> int:
    """Coloured pixels of the plot canvas at ``selector``: its traces (axes, grid and labels are grey)."""
    return _js(page, f"""(() => {{ const c = document.querySelector("{selector}");
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 0; i < d.length; i += 4) {{
            const hi = Math.max(d[i], d[i + 1], d[i + 2]), lo = Math.min(d[i], d[i + 1], d[i + 2]);
            if (d[i + 3] > 200 && hi - lo > 80) n++; }}
        return n; }})()""")


def _observe(page) -> dict:
    """What the page shows now (its state object, readouts and drawn pixels)."""
    obs = _js(page, """(() => ({
        hs: dash.state.hs, gs: dash.state.gs, hsLocked: !!(dash.state.hsStatus && dash.state.hsStatus.locked),
        precomp: dash.state.precomp, link: dash.state.link, fps: dash.stats.fps, frames: dash.stats.frames,
        cpu: dash.stats.cpu, t: dash.stats.lastT,
        rows: Object.fromEntries(Object.entries(dash.panes).map(([k, p]) => [k, p.rows])),
        centre: Object.fromEntries(Object.entries(dash.panes).map(([k, p]) => [k, p.readout && p.readout.centre_hz])),
        constPoints: Number(document.getElementById("const").dataset.points),
        freqPoints: Number(document.getElementById("chart-freq").dataset.points || 0),
        hsStateText: document.getElementById("hs-state").textContent,
        lockText: document.getElementById("hs-lock").textContent }))()""")
    obs["lit"] = {name: _lit_pixels(page, name) for name in ("wf-dl_mod", "wf-dl_precomp", "wf-rx", "const")}
    obs["doppler_trace_px"] = _trace_pixels(page, "#chart-freq canvas")
    return obs


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _dashboard_pid(parent: int) -> int:
    for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        if b"dashboard" in Path(f"/proc/{child}/cmdline").read_bytes():
            return int(child)
    raise AssertionError("no dashboard process under `skycall run`")


def _events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "telemetry.jsonl").read_text().splitlines()]


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1680, "height": 1050})
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def live(browser, tmp_path_factory):
    """The scripted live session (see the module docstring); returns its observations."""
    out = tmp_path_factory.mktemp("live") / "run"
    proc, url = _start(["run", str(FLOW), "--out", str(out), "--dashboard", "--dashboard-port", "0", "--realtime",
                        "--duration-s", str(LIVE_DURATION_S), "--logs"], out)
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    obs = {"run_dir": out, "url": url, "errors": errors}
    try:
        page.goto(url)
        dash_pid = _dashboard_pid(proc.pid)
        _wait(page, _shows("hs-state", "connected") + " && " + _shows("gs-state", "connected"), 90,
              "the call to connect")
        cpu0, wall0, frames0 = _cpu_s(dash_pid), time.monotonic(), _js(page, "dash.stats.frames")
        _wait(page, "Object.values(dash.panes).every(p => p.rows >= 20) && dash.stats.frames >= 40 && "
              "Number(document.getElementById('chart-freq').dataset.points) >= 20", 30,
              "20 waterfall rows in every pane and 20 points of the Doppler plot")
        obs["connected"] = _observe(page)
        _save(page, out.parent / "dashboard_live.png")

        page.click("#btn-precomp-off")
        _wait(page, "dash.state.precomp === false", 10, "link_status to report pre-compensation off")
        _wait(page, "dash.panes.rx.readout && dash.panes.rx.readout.centre_hz > 15000", 10,
              "the phone's input to move to the uncompensated Doppler")
        obs["precomp_off_spectra"] = _observe(page)
        _wait(page, "dash.state.hsStatus && !dash.state.hsStatus.locked && " + _shows("hs-lock", "no lock"), 10,
              "the phone to lose lock")
        obs["lost_lock"] = _observe(page)
        _wait(page, _shows("hs-state", "searching"), 10, "the phone to lose the call and search")
        obs["searching"] = _observe(page)
        _save(page, out.parent / "dashboard_precomp_off.png")

        page.click("#btn-precomp-on")
        _wait(page, "dash.state.hs === 'idle' && dash.state.hsStatus.locked", 15, "the phone to lock, register again")
        obs["relocked"] = _observe(page)
        page.click("#btn-dial")
        _wait(page, "dash.state.hs === 'connected' && dash.state.gs === 'connected'", 15, "the call to connect again")
        obs["redialled"] = _observe(page)
        _wait(page, f"dash.stats.lastT > {obs['redialled']['t'] + 2.0}", 20, "two more seconds of the call")
        window_s = time.monotonic() - wall0  # the call runs all along (the phone searching for a while)
        obs["server_cpu_fraction"] = (_cpu_s(dash_pid) - cpu0) / window_s
        obs["frame_rate_hz"] = (_js(page, "dash.stats.frames") - frames0) / window_s
        obs["window_s"] = window_s

        page.once("dialog", lambda dialog: dialog.accept())  # "Stop every process of the flowgraph?"
        page.click("#btn-shutdown")
        _wait(page, "dash.state.summary !== null", 90, "the summary after the call")
        obs["final"] = _observe(page)
        obs["summary_text"] = page.inner_text("#summary")
        obs["audio_src"] = page.eval_on_selector_all("#summary audio", "els => els.map(e => e.getAttribute('src'))")
        base = url.split("/?")[0]
        ear = next(src for src in obs["audio_src"] if src.startswith("/audio/dl_ear.wav"))
        obs["dl_ear_wav"] = urllib.request.urlopen(base + ear, timeout=30).read()
        try:
            urllib.request.urlopen(base + ear.split("?")[0], timeout=30)
            obs["audio_without_token"] = 200
        except urllib.error.HTTPError as err:
            obs["audio_without_token"] = err.code
        _save(page, out.parent / "dashboard_after_call.png")
    finally:
        page.close()
        obs["exit"] = _stop(proc)
    return obs


# ---------------------------------------------------------------------------------------------- live
def test_the_page_draws_waterfalls_constellation_and_doppler(live):
    obs = live["connected"]
    assert not live["errors"], live["errors"]
    for pane in ("wf-dl_mod", "wf-dl_precomp", "wf-rx"):
        assert obs["lit"][pane] > 20 * 400, (pane, obs["lit"])  # 20+ rows of 512 bins, most of them lit
    assert obs["constPoints"] > 300 and obs["lit"]["const"] > 300, obs
    assert obs["freqPoints"] >= 20 and obs["doppler_trace_px"] > 300, obs
    assert obs["hsLocked"] and obs["lockText"] == "locked" and obs["hsStateText"] == "connected"
    # the three spectra sit where the physics puts them: the modulator at 0 Hz, the transmitted downlink at
    # minus the beam-centre Doppler, the phone's input at what is left (a few hundred Hz)
    link = obs["link"]
    assert abs(obs["centre"]["dl_mod"]) < 500.0
    assert abs(obs["centre"]["dl_precomp"] + link["centre_doppler_hz"]) < 800.0, (obs["centre"], link)
    assert abs(obs["centre"]["rx"] - link["residual_hz"]) < 800.0, (obs["centre"], link)
    assert 20e3 < link["doppler_hz"] < 30e3 and abs(link["residual_hz"]) < 1e3


def test_precompensation_off_loses_the_phone_and_on_brings_it_back(live):
    off = live["precomp_off_spectra"]
    # the satellite stopped shifting: its transmitted spectrum is back at 0 Hz, the phone sees the full Doppler
    assert abs(off["centre"]["dl_precomp"]) < 800.0, off["centre"]
    assert abs(off["centre"]["rx"] - off["link"]["doppler_hz"]) < 1500.0, (off["centre"], off["link"])
    assert off["link"]["residual_hz"] == off["link"]["doppler_hz"]
    assert not live["lost_lock"]["hsLocked"] and live["lost_lock"]["lockText"] == "no lock"
    assert live["searching"]["hsStateText"] == "searching"
    assert live["relocked"]["hsLocked"] and live["redialled"]["hs"] == "connected"
    # the flowgraph's own telemetry tells the same story, in this order
    events = _events(live["run_dir"])
    link = [e for e in events if e["t"] == "link_status"]
    t_off = next(e["index"] for e in link if not e["precompensation"])
    t_on = next(e["index"] for e in link if e["index"] > t_off and e["precompensation"])
    hs = [e for e in events if e["proc"] == "handset"]
    unlocked = next(e["index"] for e in hs if e["t"] == "rx_status" and e["index"] >= t_off and not e["locked"])
    search = next(e["index"] for e in hs if e["t"] == "call_state" and e["state"] == "searching")
    again = [e["index"] for e in hs if e["t"] == "call_state" and e["state"] == "connected"]
    assert t_off < unlocked < search < t_on < again[-1] and len(again) == 2


def test_after_the_call_the_page_shows_the_summary_and_plays_its_audio(live):
    summary = json.loads((live["run_dir"] / "summary.json").read_text())
    text = live["summary_text"]
    assert f"{summary['dl']['pesq_nb']:.2f}" in text and f"{summary['ul']['stoi']:.2f}" in text
    assert sorted(Path(s.split("?")[0]).name for s in live["audio_src"]) == sorted(
        f"{d}_{w}.wav" for d in ("dl", "ul") for w in ("mouth", "ear"))
    import io

    import soundfile

    from skycall.call.record import SideRecord

    pcm, rate = soundfile.read(io.BytesIO(live["dl_ear_wav"]))  # what the phone's user heard, as recorded
    ear = SideRecord.load(live["run_dir"], "handset").ear
    assert rate == 8000 and len(pcm) == len(ear) and np.max(np.abs(pcm - ear)) <= 1 / 32768
    assert live["audio_without_token"] == 403
    assert live["exit"] == 0


def test_update_rate_and_server_cpu_while_the_call_runs(live):
    """Measured over the call (reported, not a speed assertion): frames the page took per second, and the
    dashboard server's CPU time (its /proc counters) per second of wall time."""
    print(f"\ndashboard: {live['frame_rate_hz']:.1f} frames/s in the browser; server CPU "
          f"{100 * live['server_cpu_fraction']:.1f} % of one core, over {live['window_s']:.1f} s of the call")
    assert live["frame_rate_hz"] > 1.0 and live["server_cpu_fraction"] < 1.0  # it updates, and is not a busy loop


# ---------------------------------------------------------------------------------------------- replay
def _replay(browser, run_dir: Path, shot: Path) -> dict:
    proc, url = _start(["dashboard", "--run-dir", str(run_dir), "--port", "0"], run_dir)
    page = browser.new_page()
    try:
        page.goto(url)
        _wait(page, "dash.cfg && dash.cfg.mode === 'replay'", 20, "the replay to start")
        page.click("#replay-controls [data-speed='max']")
        _wait(page, _shows("mode", "replay done") + " && dash.state.summary !== null",
              60, "the replay to finish")
        obs = _observe(page)
        _save(page, shot)
    finally:
        page.close()
        _stop(proc)
    return obs


def test_replay_of_the_run_renders_the_same_plots(live, browser):
    run_dir = live["run_dir"]
    recorded = [json.loads(line) for line in (run_dir / "dashboard.jsonl").read_text().splitlines()]
    frames = [r for r in recorded if r["type"] == "frame"]
    obs = _replay(browser, run_dir, run_dir.parent / "dashboard_replay.png")
    for tap in ("dl_mod", "dl_precomp", "rx"):  # every recorded row, drawn again
        assert obs["rows"][tap] == sum(tap in f["spectra"] for f in frames), (tap, obs["rows"])
        assert obs["lit"][f"wf-{tap}"] > 20 * 400
    assert obs["freqPoints"] == len({e["index"] for f in frames for e in f["events"] if e["t"] == "link_status"})
    assert obs["constPoints"] > 300 and obs["doppler_trace_px"] > 300
    final = live["final"]
    assert (obs["hs"], obs["gs"], obs["precomp"]) == (final["hs"], final["gs"], final["precomp"])


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """A short call without any dashboard, and its summary."""
    run_dir = tmp_path_factory.mktemp("plain") / "run"
    for args in (["run", str(FLOW), "--out", str(run_dir), "--duration-s", "4"], ["report", str(run_dir)]):
        subprocess.run([sys.executable, "-m", "skycall.cli", *args], cwd=ROOT, check=True, capture_output=True,
                       timeout=240)
    return run_dir


def test_replay_of_a_run_without_dashboard_rebuilds_the_time_series(browser, plain):
    obs = _replay(browser, plain, plain.parent / "dashboard_replay_records.png")
    n_status = len([e for e in _events(plain) if e["t"] == "link_status"])
    assert obs["freqPoints"] == n_status and obs["doppler_trace_px"] > 300 and obs["hs"] == "connected"
    assert all(rows == 0 for rows in obs["rows"].values())  # no IQ was recorded: the panes say so


# ---------------------------------------------------------------------------------------------- bits
def test_the_call_is_the_same_with_and_without_the_dashboard(browser, plain, tmp_path):
    """Same seed: the dashboard (server subscribed to every tap, a page drawing them) changes no bit."""
    watched = tmp_path / "watched"
    proc, url = _start(["run", str(FLOW), "--duration-s", "4", "--out", str(watched), "--dashboard",
                        "--dashboard-port", "0"], watched)
    page = browser.new_page()
    try:
        page.goto(url)
        _wait(page, "dash.state.summary !== null", 120, "the watched call's summary")
        assert _js(page, "dash.panes.rx.rows") > 0  # the page really drew the taps during the call
    finally:
        page.close()
        assert _stop(proc) == 0
    assert json.loads((plain / "summary.json").read_text()) == json.loads((watched / "summary.json").read_text())
    for side in ("groundstation", "handset"):
        with np.load(plain / f"{side}.npz") as a, np.load(watched / f"{side}.npz") as b:
            assert a.files == b.files
            for key in (k for k in a.files if k != "x_slot_time_s"):  # (wall-clock stamps: differ run to run)
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{side}.{key}")
