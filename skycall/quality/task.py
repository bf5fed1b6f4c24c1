"""A campaign call as a self-contained task: everything a worker on another machine needs.

The client turns each :class:`CallSpec` into a :class:`CallTask`: the scenario and flowgraph
(dataclasses, pickled with the task), the files they name carried as content (the TLE as text;
the speech decoded once by the client into 8 kHz arrays, shared by every call that says the same
thing), the call's key and the client's code fingerprint. No shared filesystem is assumed: the
worker writes the TLE and the call's outputs in its own temporary directory and returns the
outputs as bytes (the client writes them under ``OUT/calls/NAME/``).

The key is the SHA-256 of the call's full configuration: scenario name, sweep point and
thresholds, the whole flowgraph with its file references replaced by content digests (TLE,
speech samples), the call offset and the speech label. ``results.json`` rows are matched by it
on resume, so a changed scenario, WAV or TLE never reuses a stale row. The fingerprint hashes
the sources of ``skycall``, ``groundstation`` and ``handset_emu``: a worker running other code
fails its calls with a message instead of mixing different numbers into one campaign.
"""

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skycall.call.build import Speech, load_call_speech
from skycall.config.flowgraph import resolve_path
from skycall.quality.scenario import CallSpec

#: the TLE's file name in the worker's directory
TLE_NAME = "pass.tle"
_PACKAGES = ("skycall", "groundstation", "handset_emu")


@dataclass(frozen=True)
class CallTask:
    """One call, ready to run anywhere: the spec (file references rewritten), the TLE text, digests."""

    key: str
    call: CallSpec
    tle: str | None
    speech: str
    code: str


def speech_digest(speech: Speech) -> str:
    """SHA-256 of both talkers' samples (dtype, length and bits)."""
    h = hashlib.sha256()
    for pcm in (speech.dl, speech.ul):
        pcm = np.ascontiguousarray(pcm)
        h.update(f"{pcm.dtype.str}{pcm.shape}".encode())
        h.update(pcm.tobytes())
    return h.hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 over the Python sources of the packages a call runs (relative path + content)."""
    import importlib

    h = hashlib.sha256()
    for name in _PACKAGES:
        root = Path(importlib.import_module(name).__file__).parent
        for path in sorted(root.rglob("*.py")):
            h.update(f"{name}/{path.relative_to(root).as_posix()}\0".encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _key(call: CallSpec, tle: str | None, speech: str) -> str:
    flow = dataclasses.asdict(call.flow)
    for internal in ("path", "profiles"):
        flow.pop(internal)
    doc = {
        "scenario": call.scenario.name,
        "sweep_point": call.scenario.sweep_point,
        "thresholds": dataclasses.asdict(call.scenario.thresholds),
        "call_offset_s": call.call_offset_s,
        "speech_label": call.speech_path,
        "flow": flow,
        "tle_sha256": hashlib.sha256(tle.encode()).hexdigest() if tle is not None else None,
        "speech_sha256": speech,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=repr).encode()).hexdigest()


def make_tasks(calls: list[CallSpec], speech_cache: Path) -> tuple[list[CallTask], dict[str, Speech]]:
    """The calls as tasks, and the distinct speech they use (by digest).

    Speech comes from the calls' WAV files or espeak-ng (cached in ``speech_cache``), read here,
    once per distinct file set: workers need neither the files nor espeak-ng.
    """
    speeches: dict[str, Speech] = {}
    by_source: dict[tuple, str] = {}
    tasks = []
    code = code_fingerprint()
    for call in calls:
        c = call.flow.call
        source = tuple(str(resolve_path(call.flow, p)) if p else "" for p in (c.speech_dl, c.speech_ul))
        source += (None if all(source) else c.hold_s,)
        if source not in by_source:
            speech = load_call_speech(call.flow, speech_cache)
            by_source[source] = digest = speech_digest(speech)
            speeches.setdefault(digest, speech)
        digest = by_source[source]
        tle = resolve_path(call.flow, call.flow.pass_.tle).read_text() if call.flow.pass_.tle else None
        flow = dataclasses.replace(
            call.flow,
            pass_=dataclasses.replace(call.flow.pass_, tle=TLE_NAME if tle is not None else ""),
            call=dataclasses.replace(c, speech_dl="", speech_ul=""),
        )
        spec = dataclasses.replace(call, flow=flow)
        tasks.append(CallTask(_key(spec, tle, digest), spec, tle, digest, code))
    return tasks, speeches


def materialise(task: CallTask, work_dir: Path) -> CallSpec:
    """The task's call with its files written under ``work_dir`` (on the worker)."""
    if task.tle is None:
        return task.call
    tle = work_dir / TLE_NAME
    tle.write_text(task.tle)
    flow = task.call.flow
    return dataclasses.replace(task.call, flow=dataclasses.replace(
        flow, pass_=dataclasses.replace(flow.pass_, tle=str(tle))))
