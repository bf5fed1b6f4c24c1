"""Scenario sweeps: a ``[scenario.sweep]`` grid expands one scenario into many calls.

Each key of the table is an axis; the points are the cartesian product of the axes, in file order:

* ``KEY = [v1, v2, ...]`` with KEY a scenario key (``seed``, ``handset_offset_km``, ``start_utc``,
  ``tle``, ``vocoder``, ``esn0_offset_db``, ...): one point per value;
* ``LABEL = [{KEY = v, ...}, ...]`` with any other name (``site``, ``cell``): one point per table,
  each setting several scenario keys together (a site's latitude and longitude; an offset and a
  bearing in the beam).

Every value is checked like the key it sets (type, range, choices; a TLE file must exist, a time
must parse). A point is the scenario with those keys replaced; its calls (one per call offset and
speech file) are made as usual and named ``NAME[axis=value,...]@OFFSETs`` (a table axis shows its
index). The point's coordinates go into each result row as ``sweep_AXIS`` (and ``sweep_AXIS.KEY``
for a table's keys). Seeds: a point's calls use ``seed, seed+1, ...`` (one per call offset and
speech file), so swept ``seed`` values closer than that would share noise and are refused.
"""

import dataclasses
import itertools
from datetime import datetime
from pathlib import Path
from typing import Any

from skycall.config.schema import load_dataclass
from skycall.errors import ConfigError, ConfigErrors

#: scenario keys a sweep cannot set: identity, the per-call lists, the pass/fail limits, the grid itself
FIXED = ("name", "description", "flowgraph", "call_offsets_s", "speech", "quick", "thresholds", "sweep")


def check_value(key: str, value: Any, file: str, where: str, suite_dir: Path) -> None:
    """The checks a scenario value needs beyond its schema: a TLE file exists, a time parses."""
    if key == "tle" and value and not (suite_dir / value).exists():
        raise ConfigError(file, where, f"{suite_dir / value} does not exist")
    if key == "start_utc" and value is not None:
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(file, where, f"{value!r} is not an ISO 8601 time such as 2026-01-01T00:00:00Z") from None


def _sweepable(cls) -> list[str]:
    return sorted(f.name for f in dataclasses.fields(cls) if "doc" in f.metadata and f.name not in FIXED)


def _value(cls, key: str, value: Any, file: str, where: str, suite_dir: Path) -> Any:
    """``value`` converted and checked exactly as the scenario key ``key`` would be."""
    try:
        obj = load_dataclass(cls, {"name": "-", key: value}, file)
    except ConfigErrors as errs:
        raise ConfigErrors([ConfigError(file, where, e.message) for e in errs.errors]) from None
    value = getattr(obj, key)
    check_value(key, value, file, where, suite_dir)
    return value


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def point_label(point: tuple) -> str:
    """``[axis=value,...]`` of a sweep point (empty for a plain scenario)."""
    shown = [f"{k}={_fmt(v)}" for k, v in point if "." not in k]
    return f"[{','.join(shown)}]" if shown else ""


def _axis(scenario, axis: str, values: Any, where: str) -> list[tuple[tuple, dict]]:
    """The options of one axis: (coordinates, scenario overrides) per value."""
    cls, file, suite_dir = type(scenario), scenario.path, Path(scenario.path).parent
    allowed = _sweepable(cls)
    if axis in FIXED:
        raise ConfigError(file, where, f"cannot be swept (sweepable keys: {', '.join(allowed)})")
    if not isinstance(values, list) or not values:
        raise ConfigError(file, where, "expected a non-empty list of values (or of tables of scenario keys)")
    options = []
    for j, value in enumerate(values):
        at = f"{where}[{j}]"
        if axis in allowed:
            value = _value(cls, axis, value, file, at, suite_dir)
            options.append((((axis, value),), {axis: value}))
            continue
        if not isinstance(value, dict) or not value:
            raise ConfigError(file, at, f"{axis!r} is not a scenario key, so its values must be tables of "
                                        f"scenario keys ({', '.join(allowed)})")
        over = {}
        for k, v in value.items():
            if k not in allowed:
                raise ConfigError(file, f"{at}.{k}", f"not a sweepable scenario key ({', '.join(allowed)})")
            over[k] = _value(cls, k, v, file, f"{at}.{k}", suite_dir)
        options.append((((axis, j), *((f"{axis}.{k}", v) for k, v in over.items())), over))
    shown = [point_label(coords[:1]) + repr(sorted(over.items())) for coords, over in options]
    dupes = sorted({s for s in shown if shown.count(s) > 1})
    if dupes:
        raise ConfigError(file, where, f"duplicate values {dupes}: every point must differ")
    return options


def sweep_points(scenario, where: str | None = None) -> list:
    """The scenarios of every point of ``scenario``'s sweep (``[scenario]`` itself without one)."""
    if not scenario.sweep:
        return [scenario]
    where = where or f"scenario {scenario.name!r}"
    axes, owner = [], {}
    for axis, values in scenario.sweep.items():
        key = f"{where}.sweep.{axis}"
        options = _axis(scenario, axis, values, key)
        for k in {k for _, over in options for k in over}:
            if k in owner:
                raise ConfigError(scenario.path, key, f"sets {k!r}, which sweep axis {owner[k]!r} sets too")
            owner[k] = axis
        axes.append(options)
        seeds = sorted(over["seed"] for _, over in options if "seed" in over)
        per_point = len(scenario.call_offsets_s) * max(1, len(scenario.speech))
        close = [(a, b) for a, b in itertools.pairwise(seeds) if b - a < per_point]
        if close:
            raise ConfigError(scenario.path, key, f"seeds {close[0][0]} and {close[0][1]} are closer than the "
                                                  f"{per_point} consecutive seeds each point's calls use")
    points = []
    for combo in itertools.product(*axes):
        point = tuple(c for coords, _ in combo for c in coords)
        over = {k: v for _, o in combo for k, v in o.items()}
        points.append(dataclasses.replace(scenario, **over, sweep={}, sweep_point=point))
    return points
