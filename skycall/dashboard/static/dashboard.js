// skycall lab dashboard: frames from the server's WebSocket -> waterfalls, spectra, constellation,
// time series (uPlot, vendored), call state, radio counters; commands back over the same socket.
// The server decimates: a frame carries one spectrum row per tap (a byte per bin), the newest
// constellation points (int8 pairs) and the telemetry events since the previous frame.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
const TAPS = ["dl_mod", "dl_precomp", "rx"];
const C = { cyan: "#2ad4ff", green: "#3dff8f", amber: "#ffb347", violet: "#b48cff", magenta: "#ff5fd2",
  grey: "#7d8fa1", grid: "#17212c", axis: "#6f8193" };
const FONT = "11px DejaVu Sans Mono, monospace";

let cfg = null;          // the server's hello
let ws = null;
let cmdId = 0;
const stats = { frames: 0, arrivals: [], fps: 0, cpu: null, lastT: 0 };
const state = { roles: {}, gs: null, hs: null, link: null, hsStatus: null, gsStatus: null, radios: {},
  precomp: null, log: [], summary: null, replies: [] };
const series = new Map();  // slot -> row of the time series
window.dash = { stats, state, series, panes: {}, charts: null };

// ---------------------------------------------------------------- colour map (turbo, polynomial fit)
const LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  const poly = (t, c) => c.reduceRight((acc, k) => acc * t + k, 0);
  const R = [0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943];
  const G = [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604];
  const B = [0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973];
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    lut[3 * i] = 255 * poly(t, R); lut[3 * i + 1] = 255 * poly(t, G); lut[3 * i + 2] = 255 * poly(t, B);
  }
  return lut;
})();

const b64bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const fmt = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? "n/a" : Number(v).toFixed(digits));

function axes(yLabel, extra = {}) {
  const ax = { stroke: C.axis, font: FONT, grid: { stroke: C.grid, width: 1 }, ticks: { stroke: C.grid, width: 1 } };
  return [{ ...ax }, { ...ax, label: yLabel, labelFont: FONT, size: 56, ...extra }];
}

// ---------------------------------------------------------------- waterfall + spectrum pane
class Pane {
  constructor(tap) {
    this.tap = tap;
    this.el = document.querySelector(`.pane[data-tap="${tap}"]`);
    this.canvas = this.el.querySelector("canvas.wf");
    this.ctx = this.canvas.getContext("2d");
    this.note = this.el.querySelector(".note");
    this.rows = 0; this.lo = null; this.hi = null; this.db = null; this.plot = null; this.dirty = false;
  }
  setup(bins, freqKHz) {
    this.canvas.width = bins; this.canvas.height = 210;
    this.ctx.fillStyle = "#04070a"; this.ctx.fillRect(0, 0, bins, 210);
    this.row = this.ctx.createImageData(bins, 1);
    this.freq = freqKHz; this.rows = 0; this.lo = this.hi = null; this.db = new Float64Array(bins).fill(NaN);
    this.canvas.dataset.rows = "0";
    const box = this.el.querySelector(".spec");
    if (this.plot) this.plot.destroy();
    this.plot = new uPlot({
      width: box.clientWidth, height: box.clientHeight, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: false, range: [freqKHz[0], freqKHz[freqKHz.length - 1]] }, y: { auto: false, range: [-100, 0] } },
      axes: [{ ...axes("")[0], size: 22 }, { ...axes("dB")[1], size: 44, label: "" }],
      series: [{}, { stroke: C.cyan, width: 1, fill: "rgba(42,212,255,0.10)", points: { show: false } }],
    }, [freqKHz, Array.from(this.db)], box);
  }
  push(s) {
    const codes = b64bytes(s.psd);
    const n = codes.length;
    for (let i = 0; i < n; i++) this.db[i] = cfg.db_min + codes[i] * cfg.db_step;
    // colour scale follows the noise floor (median) and the strongest bin, smoothed
    const sorted = Float64Array.from(this.db).sort();
    const floor = sorted[n >> 1], top = sorted[n - 1];
    const lo = floor - 6, hi = Math.max(top + 3, floor + 30);
    this.lo = this.lo === null ? lo : 0.9 * this.lo + 0.1 * lo;
    this.hi = this.hi === null ? hi : 0.9 * this.hi + 0.1 * hi;
    const w = this.canvas.width, h = this.canvas.height, px = this.row.data, span = this.hi - this.lo;
    this.ctx.drawImage(this.canvas, 0, 0, w, h - 1, 0, 1, w, h - 1);
    for (let i = 0; i < n; i++) {
      const k = 3 * Math.max(0, Math.min(255, Math.round(((this.db[i] - this.lo) / span) * 255)));
      px[4 * i] = LUT[k]; px[4 * i + 1] = LUT[k + 1]; px[4 * i + 2] = LUT[k + 2]; px[4 * i + 3] = 255;
    }
    this.ctx.putImageData(this.row, 0, 0);
    this.rows += 1;
    this.canvas.dataset.rows = String(this.rows);
    this.readout = s;
    this.dirty = true;
    this.note.textContent = "";
  }
  render() {
    if (!this.dirty || !this.plot) return;
    this.dirty = false;
    this.plot.setScale("y", { min: this.lo - 4, max: this.hi + 4 });
    this.plot.setData([this.freq, Array.from(this.db)], false);
    const s = this.readout, q = (sel) => this.el.querySelector(sel);
    q(".centre").textContent = s.centre_hz === null ? "—" : `${(s.centre_hz / 1e3).toFixed(2)} kHz`;
    q(".level").textContent = s.level_dbfs === null ? "—" : `${s.level_dbfs.toFixed(1)} dBFS`;
    q(".peak").textContent = s.peak_dbfs === null ? "—" : `${s.peak_dbfs.toFixed(1)} dBFS`;
  }
  resize() { if (this.plot) { const box = this.el.querySelector(".spec"); this.plot.setSize({ width: box.clientWidth, height: box.clientHeight }); } }
}

// ---------------------------------------------------------------- constellation (persistence scope)
const CONST_R = 100;  // pixels per unit amplitude
const constel = {
  canvas: $("const"), points: 0, last: 0,
  clear() { const g = this.canvas.getContext("2d"); g.fillStyle = "#04070a"; g.fillRect(0, 0, 360, 360); this.grid(g); this.points = 0; this.canvas.dataset.points = "0"; },
  grid(g) {
    g.strokeStyle = "#1e2b38"; g.lineWidth = 1;
    g.beginPath(); g.moveTo(180, 0); g.lineTo(180, 360); g.moveTo(0, 180); g.lineTo(360, 180); g.stroke();
    g.beginPath(); g.arc(180, 180, CONST_R, 0, 2 * Math.PI); g.stroke();
  },
  push(c) {
    const g = this.canvas.getContext("2d");
    g.fillStyle = "rgba(4,7,10,0.30)"; g.fillRect(0, 0, 360, 360);
    this.grid(g);
    const iq = new Int8Array(b64bytes(c.iq).buffer), s = CONST_R / cfg.const_scale;  // unit power: on the circle
    g.fillStyle = C.green;
    for (let i = 0; i + 1 < iq.length; i += 2) g.fillRect(180 + iq[i] * s - 1, 180 - iq[i + 1] * s - 1, 2.2, 2.2);
    this.points += iq.length / 2; this.last = performance.now();
    this.canvas.dataset.points = String(this.points);
  },
};

// ---------------------------------------------------------------- time series (uPlot)
const charts = {};
window.dash.charts = charts;
function makeCharts() {
  const pts = (color) => ({ stroke: color, fill: color, paths: () => null, points: { show: true, size: 3, width: 0, fill: color } });
  const line = (color, dash) => ({ stroke: color, width: 1.5, dash, points: { show: false } });
  const defs = {
    freq: { y: "kHz", series: [
      { label: "Doppler at the phone", ...line(C.amber) },
      { label: "beam-centre Doppler", ...line(C.violet, [6, 4]) },
      { label: "left at the phone", ...line(C.cyan) },
      { label: "phone's estimate", ...pts(C.green) }] },
    phone: { y: "Hz", series: [
      { label: "left at the phone", ...line(C.cyan) },
      { label: "phone's CFO estimate", ...pts(C.green) },
      { label: "satellite's UL estimate", ...pts(C.grey) }] },
    link: { y: "dB", series: [
      { label: "Es/N0", ...line(C.amber) },
      { label: "SINR", ...line(C.magenta) },
      { label: "phone's SNR", ...pts(C.green) },
      { label: "elevation °", ...line(C.grey, [3, 3]), scale: "deg" }] },
  };
  for (const [name, d] of Object.entries(defs)) {
    const box = $(`chart-${name}`);
    if (charts[name]) charts[name].destroy();
    const ax = axes(d.y);
    if (name === "link") ax.push({ ...ax[1], scale: "deg", side: 1, label: "°", grid: { show: false } });
    charts[name] = new uPlot({
      width: box.clientWidth, height: box.clientHeight - 4, cursor: { show: false }, legend: { live: false },
      scales: { x: { time: false } }, axes: ax,
      series: [{ label: "t (s)" }, ...d.series],
    }, [[], ...d.series.map(() => [])], box);
  }
}

function renderCharts() {
  const keys = Array.from(series.keys()).sort((a, b) => a - b);
  const col = (f) => keys.map((k) => { const v = f(series.get(k)); return v === undefined ? null : v; });
  const t = keys.map((k) => series.get(k).t);
  const kHz = (v) => (v === null || v === undefined ? null : v / 1e3);
  charts.freq.setData([t, col((r) => kHz(r.doppler)), col((r) => kHz(r.centre)), col((r) => kHz(r.residual)),
    col((r) => kHz(r.hs_cfo))]);
  charts.phone.setData([t, col((r) => r.residual), col((r) => r.hs_cfo), col((r) => r.gs_cfo)]);
  charts.link.setData([t, col((r) => r.esn0), col((r) => r.sinr), col((r) => r.hs_snr), col((r) => r.elev)]);
  $("chart-freq").dataset.points = String(keys.filter((k) => series.get(k).doppler !== undefined).length);
}

// ---------------------------------------------------------------- events
const slotSamples = () => Math.round(cfg.fs_hz * 0.04);
function row(e) {
  const k = Math.round(e.index / slotSamples());
  let r = series.get(k);
  if (!r) { r = { t: k * 0.04 }; series.set(k, r); }
  return r;
}
function roleOf(e) { return e.role || e.side || state.roles[e.proc] || e.proc; }

function ingest(e) {
  if (e.role) state.roles[e.proc] = e.role;
  const t = (e.index || 0) / cfg.fs_hz;
  stats.lastT = Math.max(stats.lastT, t);
  switch (e.t) {
    case "link_status": {
      const r = row(e);
      Object.assign(r, { doppler: e.doppler_hz, centre: e.centre_doppler_hz, residual: e.residual_hz,
        esn0: e.esn0_db, sinr: e.sinr_db ?? null, elev: e.elevation_deg });
      if (state.precomp !== null && state.precomp !== e.precompensation) {
        addLog(t, "satellite", `pre-compensation ${e.precompensation ? "on" : "off"}`, e.precompensation ? "good" : "bad");
      }
      state.link = e; state.precomp = e.precompensation;
      break;
    }
    case "rx_status": {
      const r = row(e), role = roleOf(e);
      if (role === "handset") {
        r.hs_cfo = e.locked ? e.cfo_hz : null; r.hs_snr = e.locked ? e.snr_db : null;
        if (state.hsStatus && state.hsStatus.locked !== e.locked) addLog(t, "phone", e.locked ? "receiver locked" : "receiver lost lock", e.locked ? "good" : "bad");
        state.hsStatus = e; state.hs = e.state;
      } else {
        r.gs_cfo = e.locked ? e.cfo_hz : null; state.gsStatus = e; state.gs = e.state;
      }
      break;
    }
    case "call_state": {
      const role = roleOf(e);
      if (role === "handset") state.hs = e.state; else state.gs = e.state;
      const why = e.cause && e.cause !== "NORMAL" ? ` (${e.cause})` : "";
      addLog(t, role === "handset" ? "phone" : "satellite", `${e.state}${why}`, e.state === "connected" ? "good" : (e.state === "searching" ? "bad" : ""));
      break;
    }
    case "radio_status": state.radios[e.proc] = e; break;
    case "radio_link_failure": addLog(t, roleOf(e) === "handset" ? "phone" : "satellite", "radio link failure", "bad"); break;
    case "rx_missing": addLog(t, e.proc, `sender silent (${e.samples} samples)`, "bad"); break;
    case "rx_gap": addLog(t, e.proc, "stream gap: re-acquiring", "bad"); break;
    case "dial_refused": addLog(t, roleOf(e) === "handset" ? "phone" : "satellite", `dial refused (${e.state})`, "bad"); break;
    default: break;
  }
}

function addLog(t, who, text, cls) {
  state.log.unshift({ t, who, text, cls });
  state.log.length = Math.min(state.log.length, 40);
  logDirty = true;
}

// ---------------------------------------------------------------- frame / message handling
const panes = {};
let logDirty = false, numbersDirty = false;

function onHello(h) {
  cfg = h; window.dash.cfg = h;
  series.clear();
  Object.assign(state, { roles: {}, gs: null, hs: null, link: null, hsStatus: null, gsStatus: null, radios: {},
    precomp: null, log: [], summary: null });
  stats.frames = 0; stats.arrivals = []; stats.lastT = 0;
  const freq = Array.from({ length: h.bins }, (_, i) => ((i - h.bins / 2) * h.fs_hz) / h.bins / 1e3);
  for (const tap of TAPS) { panes[tap] = panes[tap] || new Pane(tap); panes[tap].setup(h.bins, freq); }
  window.dash.panes = panes;
  makeCharts();
  constel.clear();
  const live = h.mode === "live";
  $("live-controls").hidden = !live; $("replay-controls").hidden = live;
  const badge = $("mode");
  badge.textContent = live ? "live" : "replay"; badge.className = `badge ${live ? "live" : "replay"}`;
  const noIq = h.mode === "replay" && h.source === "records"
    ? "this run was not watched by a dashboard: its records keep no IQ, so there are no spectra to replay" : "";
  for (const tap of TAPS) panes[tap].note.textContent = noIq || "waiting for IQ…";
  $("summary").hidden = true;
  for (const e of h.backlog || []) ingest(e);
  for (const [tap, rows] of Object.entries(h.rows || {})) for (const s of rows) panes[tap].push(s);
  if (h.summary) showSummary(h.summary);
  numbersDirty = logDirty = true;
}

function onFrame(f) {
  stats.frames += 1;
  const now = performance.now();
  stats.arrivals.push(now);
  while (stats.arrivals.length && now - stats.arrivals[0] > 2000) stats.arrivals.shift();
  for (const e of f.events) ingest(e);
  for (const [tap, s] of Object.entries(f.spectra || {})) if (panes[tap]) panes[tap].push(s);
  if (f.const && f.const.handset) constel.push(f.const.handset);
  if (f.server && cfg.mode === "live") stats.cpu = f.server.cpu;  // a recording's figures are not this server's
  if (f.run_state === "finished" && cfg.mode === "live") { $("mode").textContent = "finished"; $("mode").className = "badge done"; }
  numbersDirty = true;
}

function onMessage(ev) {
  const m = JSON.parse(ev.data);
  if (m.type === "hello") onHello(m);
  else if (!cfg) return;
  else if (m.type === "frame") onFrame(m);
  else if (m.type === "summary") showSummary(m);
  else if (m.type === "reply") { state.replies.push(m); toast(m.ok ? `${m.cmd}: ok` : `${m.cmd}: ${m.error}`, !m.ok); }
  else if (m.type === "replay") onReplay(m);
}

function onReplay(m) {
  for (const b of document.querySelectorAll("#replay-controls [data-speed]")) b.classList.toggle("active", b.dataset.speed === m.speed);
  if (m.done) {  // draw everything now: the page's state is final
    renderCharts(); renderNumbers(); renderLog();
    for (const tap of TAPS) panes[tap].render();
    $("mode").textContent = "replay done"; $("replay-bar").style.width = "100%";
  }
  if (m.duration_s !== undefined) cfg.duration_s = m.duration_s;
}

// ---------------------------------------------------------------- rendering (animation frames)
function setNum(id, v, digits, scale = 1) {
  const el = $(id);
  const na = v === null || v === undefined;
  el.textContent = na ? "n/a" : (v * scale).toFixed(digits);
  el.classList.toggle("na", na);
}

function renderNumbers() {
  $("t-stream").textContent = `${stats.lastT.toFixed(2)} s`;
  const fps = stats.arrivals.length > 1 ? (stats.arrivals.length - 1) / ((stats.arrivals.at(-1) - stats.arrivals[0]) / 1000) : 0;
  stats.fps = fps;
  $("fps").textContent = `${fps.toFixed(1)} fps`;
  $("cpu").textContent = stats.cpu === null ? "server —" : `server ${(100 * stats.cpu).toFixed(1)} % CPU`;
  for (const [id, s] of [["gs-state", state.gs], ["hs-state", state.hs]]) {
    $(id).textContent = s || "—"; $(id).className = `state ${s || ""}`;
  }
  const locked = !!(state.hsStatus && state.hsStatus.locked);
  $("hs-lock").textContent = locked ? "locked" : "no lock"; $("hs-lock").className = `lock${locked ? " on" : ""}`;
  const l = state.link || {};
  setNum("n-elev", l.elevation_deg, 1); setNum("n-doppler", l.doppler_hz, 2, 1e-3); setNum("n-centre", l.centre_doppler_hz, 2, 1e-3);
  setNum("n-residual", l.residual_hz, 0); setNum("n-esn0", l.esn0_db, 1); setNum("n-sinr", l.sinr_db, 1); setNum("n-ci", l.c_over_i_db, 1);
  const hs = state.hsStatus, gs = state.gsStatus;
  setNum("n-cfo", hs && hs.locked ? hs.cfo_hz : null, 0); setNum("n-snr", hs && hs.locked ? hs.snr_db : null, 1);
  setNum("n-gs-cfo", gs && gs.locked ? gs.cfo_hz : null, 0);
  const lab = $("precomp-label");
  lab.textContent = state.precomp === null ? "" : `pre-compensation ${state.precomp ? "ON" : "OFF"}`;
  lab.className = state.precomp === null ? "" : (state.precomp ? "on" : "off");
  $("btn-precomp-on").classList.toggle("active", state.precomp === true);
  $("btn-precomp-off").classList.toggle("active", state.precomp === false);
  $("const-note").classList.toggle("hidden", locked || performance.now() - constel.last < 1500);
  renderRadios();
  if (cfg.mode === "replay" && cfg.duration_s) $("replay-bar").style.width = `${Math.min(100, (100 * stats.lastT) / cfg.duration_s)}%`;
}

const RADIO_FIELDS = [["overflows", 0], ["underflows", 0], ["lost_samples", 0], ["discontinuities", 0],
  ["rx_rms_dbfs", 1], ["rx_peak_dbfs", 1], ["clipped", 0]];
function renderRadios() {
  const procs = Array.from(new Set([...Object.keys(state.roles), ...Object.keys(state.radios)])).sort();
  const body = $("radios").tBodies[0];
  body.innerHTML = procs.map((p) => {
    const r = state.radios[p] || {};
    const cells = RADIO_FIELDS.map(([k, d]) => {
      const v = r[k];
      if (v === undefined || v === null) return '<td class="na">n/a</td>';
      const bad = d === 0 && typeof v === "number" && v > 0;
      return `<td class="${bad ? "bad" : ""}">${typeof v === "boolean" ? (v ? "yes" : "no") : Number(v).toFixed(d)}</td>`;
    });
    return `<tr><td>${p}</td>${cells.join("")}</tr>`;
  }).join("");
}

function renderLog() {
  $("log").innerHTML = state.log.map((l) => `<li><span class="t">${l.t.toFixed(2)}</span><span class="who">${l.who}</span>` +
    `<span class="${l.cls}">${l.text}</span></li>`).join("");
}

let lastCharts = 0;
function frameLoop(now) {
  if (cfg) {
    for (const tap of TAPS) if (panes[tap]) panes[tap].render();
    if (numbersDirty) { numbersDirty = false; renderNumbers(); }
    if (logDirty) { logDirty = false; renderLog(); }
    if (now - lastCharts > 200 && charts.freq) { lastCharts = now; renderCharts(); }
  }
  requestAnimationFrame(frameLoop);
}

// ---------------------------------------------------------------- summary
function showSummary(m) {
  const box = $("summary-body");
  $("summary").hidden = false;
  if (!m.summary) { box.innerHTML = `<div class="why">no summary: ${m.error}</div>`; return; }
  const s = m.summary, dirs = ["dl", "ul"].filter((d) => s[d]);
  const rowsDef = [["PESQ-NB", (d) => fmt(d.pesq_nb, 2), "big"], ["codec alone", (d) => fmt(d.codec_ceiling_pesq_nb, 2)],
    ["STOI", (d) => fmt(d.stoi, 2)], ["FER", (d) => fmt(d.fer, 3)], ["frames ok / bad", (d) => `${d.frames_ok} / ${d.frames_bad}`],
    ["residual CFO (RMS)", (d) => `${fmt(d.residual_cfo_hz_rms, 0)} Hz`], ["mouth-to-ear", (d) => `${fmt(d.mouth_to_ear_ms, 0)} ms`]];
  const head = `<tr><th></th>${dirs.map((d) => `<th>${d === "dl" ? "downlink (satellite → phone)" : "uplink (phone → satellite)"}</th>`).join("")}</tr>`;
  const body = rowsDef.map(([name, f, cls]) => `<tr><td>${name}</td>${dirs.map((d) => `<td class="${cls || ""}">${f(s[d])}</td>`).join("")}</tr>`).join("");
  const call = `<tr><td>call</td><td colspan="${dirs.length}">${s.call_connected ? "connected" : "NOT connected"}, set-up ${fmt(s.setup_time_s, 2)} s, phone locked after ${fmt(s.acquisition_time_s, 2)} s</td></tr>`;
  const why = s.failure_reason ? `<div class="why">why: ${s.failure_reason}</div>` : "";
  const names = { dl_mouth: "satellite talker (mouth)", dl_ear: "heard at the phone (ear)", ul_mouth: "phone talker (mouth)", ul_ear: "heard at the satellite (ear)" };
  const audio = (m.audio || []).filter((a) => a in names).sort((a, b) => Object.keys(names).indexOf(a) - Object.keys(names).indexOf(b))
    .map((a) => `<span>${names[a]}</span><audio controls preload="none" src="/audio/${a}.wav?token=${encodeURIComponent(token)}"></audio>`).join("");
  box.innerHTML = `<div><table class="sumtable" id="summary-table">${head}${call}${body}</table>${why}</div><div class="audio">${audio}</div>`;
  state.summary = s;
}

// ---------------------------------------------------------------- commands, connection
function toast(text, bad) {
  const t = $("toast");
  t.textContent = text; t.className = `show${bad ? " bad" : ""}`;
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { t.className = ""; }, 2500);
}
function send(msg) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(msg)); }
function command(cmd, extra = {}) {
  if (!ws || ws.readyState !== 1) { toast(`${cmd}: not connected to the dashboard server`, true); return; }
  send({ type: "command", id: ++cmdId, cmd, ...extra });
}

$("btn-dial").onclick = () => command("dial");
$("btn-hangup").onclick = () => command("hangup");
$("btn-precomp-on").onclick = () => command("precompensation", { on: true });
$("btn-precomp-off").onclick = () => command("precompensation", { on: false });
$("btn-shutdown").onclick = () => { if (confirm("Stop every process of the flowgraph?")) command("shutdown"); };
for (const b of document.querySelectorAll("#replay-controls [data-speed]")) b.onclick = () => send({ type: "replay", speed: b.dataset.speed });
$("btn-restart").onclick = () => send({ type: "replay", restart: true });
window.addEventListener("resize", () => {  // keep the plots and their data, only their size changes
  for (const p of Object.values(panes)) p.resize();
  for (const [name, u] of Object.entries(charts)) {
    const box = $(`chart-${name}`);
    u.setSize({ width: box.clientWidth, height: box.clientHeight - 4 });
  }
});

function connect() {
  ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws?token=${encodeURIComponent(token)}`);
  ws.onmessage = onMessage;
  ws.onclose = () => {
    const badge = $("mode");
    if (!badge.textContent.startsWith("replay done") && badge.textContent !== "finished") { badge.textContent = "disconnected"; badge.className = "badge"; }
    setTimeout(connect, 1000);
  };
}
connect();
requestAnimationFrame(frameLoop);
