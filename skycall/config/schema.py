"""Strict loading of TOML data into frozen dataclasses.

A schema is a dataclass whose fields carry validation metadata made with :func:`spec`
(range, allowed choices, units). :func:`load_dataclass` checks a parsed TOML table against
it and collects *every* problem as a :class:`~skycall.errors.ConfigError` that names the
file, the dotted key and the allowed values: unknown keys, missing keys, wrong types,
out-of-range numbers, NaN and infinities (TOML spells them ``nan``/``inf``; no field accepts
them), unknown choices, strings not matching a field's ``pattern``. Nested dataclasses, lists
and ``X | None`` work. :func:`check_value` applies one field's rules to a value from elsewhere
(a command-line override), so ``--duration-s`` obeys the same limits as ``duration_s``.
"""

import dataclasses
import math
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from skycall.errors import ConfigError, ConfigErrors

T = TypeVar("T")
_MISSING = dataclasses.MISSING


def spec(
    default: Any = _MISSING,
    *,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple | None = None,
    pattern: str | None = None,
    doc: str = "",
    default_factory: Any = _MISSING,
) -> Any:
    """A dataclass field with validation metadata (inclusive range ``[lo, hi]``, ``choices``, or a
    regular expression ``pattern`` the whole string must match)."""
    meta = {"lo": lo, "hi": hi, "choices": choices, "pattern": pattern, "doc": doc}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def read_toml(path: str | Path) -> dict:
    """Parse a TOML file; a syntax error becomes one ConfigError naming the file and line."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(path), "", f"not valid TOML: {err}") from None


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return {"float": "number", "int": "integer", "str": "string", "bool": "true/false"}.get(
            tp.__name__, f"table ({tp.__name__})"
        )
    return str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, file: str, key: str, errors: list[ConfigError]) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(value, args[0], file, key, errors)
    if origin in (list, tuple):
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        if not isinstance(value, list):
            errors.append(ConfigError(file, key, f"expected a list, got {value!r}"))
            return value
        out = [_convert(v, item_tp, file, f"{key}[{i}]", errors) for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            errors.append(ConfigError(file, key, f"expected a table, got {value!r}"))
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            errors.append(ConfigError(file, key, f"expected a table [{key}], got {value!r}"))
            return value
        return _build(tp, value, file, key, errors)
    if tp is Any:
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(ConfigError(file, key, f"expected a number, got {value!r}"))
            return value
        if not math.isfinite(value):  # NaN passes every range test (NaN < lo is False): refuse it here
            errors.append(ConfigError(file, key, f"{value!r} is not a finite number"))
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(ConfigError(file, key, f"expected an integer, got {value!r}"))
        return value
    if tp is bool:
        if not isinstance(value, bool):
            errors.append(ConfigError(file, key, f"expected true or false, got {value!r}"))
        return value
    if tp is str:
        if not isinstance(value, str):
            errors.append(ConfigError(file, key, f"expected a string, got {value!r}"))
        return value
    return value


def _check(value: Any, f: dataclasses.Field, file: str, key: str, errors: list[ConfigError]) -> None:
    lo, hi, choices = f.metadata.get("lo"), f.metadata.get("hi"), f.metadata.get("choices")
    pattern = f.metadata.get("pattern")
    if choices is not None and value not in choices:
        errors.append(ConfigError(file, key, f"{value!r} is not one of {', '.join(map(repr, choices))}"))
    if pattern is not None and isinstance(value, str) and re.fullmatch(pattern, value) is None:
        errors.append(ConfigError(file, key, f"{value!r} does not match {pattern}"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
            errors.append(ConfigError(file, key, f"{value!r} is out of range {rng}"))


def _build(cls: type[T], data: dict, file: str, prefix: str, errors: list[ConfigError]) -> T:
    n_errors_before = len(errors)
    hints = typing.get_type_hints(cls)
    # Fields made with spec() are TOML keys; plain fields (e.g. the source path) are internal.
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and "doc" in f.metadata}
    kwargs = {}
    for name in data:
        if name not in fields:
            allowed = ", ".join(sorted(fields))
            errors.append(ConfigError(file, _join(prefix, name), f"unknown key (allowed: {allowed})"))
    for name, f in fields.items():
        key = _join(prefix, name)
        if name not in data:
            if f.default is _MISSING and f.default_factory is _MISSING:
                errors.append(ConfigError(file, key, f"missing required key ({_type_name(hints[name])})"))
            continue
        n_before = len(errors)
        value = _convert(data[name], hints[name], file, key, errors)
        if len(errors) == n_before:  # a value of the wrong type (or NaN) gets one error, not two
            _check(value, f, file, key, errors)
        kwargs[name] = value
    if len(errors) > n_errors_before:
        return None  # type: ignore[return-value]
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as err:
        errors.append(ConfigError(file, prefix, str(err)))
        return None  # type: ignore[return-value]
    except ConfigError as err:
        errors.append(ConfigError(file, _join(prefix, err.key), err.message))
        return None  # type: ignore[return-value]
    return obj


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def check_value(cls: type, name: str, value: Any, file: str, key: str) -> Any:
    """``value`` converted and checked against field ``name`` of schema ``cls`` (its type, range,
    choices, pattern); raise :class:`ConfigError` naming ``file`` and ``key`` (e.g. ``"<cli>"``,
    ``"--duration-s"``)."""
    f = {f.name: f for f in dataclasses.fields(cls)}[name]
    errors: list[ConfigError] = []
    value = _convert(value, typing.get_type_hints(cls)[name], file, key, errors)
    if not errors:
        _check(value, f, file, key, errors)
    if errors:
        raise errors[0]
    return value


def load_dataclass(cls: type[T], data: dict, file: str = "<dict>") -> T:
    """Build ``cls`` from ``data`` or raise :class:`ConfigErrors` listing every problem.

    A dataclass may validate cross-field rules in ``__post_init__`` by raising
    ``ConfigError("", key, message)``; the file name is filled in here.
    """
    errors: list[ConfigError] = []
    obj = _build(cls, data, file, "", errors)
    if errors:
        raise ConfigErrors(errors)
    return obj
