#!/usr/bin/env python3
"""Generate ``docs/cli.md`` from the argparse parsers and the TOML schemas, so the reference cannot drift.

    python scripts/gen_docs.py            # rewrite docs/cli.md
    python scripts/gen_docs.py --check    # exit 1 (and say so) when docs/cli.md is stale

Every ``skycall`` sub-command (``skycall.cli.COMMANDS``) is documented from the parser its module
builds (positionals, options, defaults, choices, help); every key of a flowgraph, hardware profile and
scenario suite is documented from its schema dataclass (type, default, range or choices, doc).
"""

import argparse
import dataclasses
import importlib
import sys
import types
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "docs" / "cli.md"

#: (title, dotted path of the schema's top dataclass, how the files are found)
SCHEMAS = (
    ("Flowgraph (`flowgraphs/*.toml`)", "skycall.config.flowgraph:Flowgraph"),
    ("Hardware profile (`hw_profiles/*.toml`)", "skycall.config.hw_profile:HwProfile"),
    ("Scenario suite (`scenarios/*.toml`)", "skycall.quality.scenario:Suite"),
)


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _option_names(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    names = ", ".join(f"`{s}`" for s in action.option_strings)
    if action.nargs != 0:
        names += f" `{action.metavar or action.dest.upper()}`"
    return names


def _option_default(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS) or action.default == []:
        return ""
    return f"`{action.default}`"


def command_section(name: str, module_name: str, help_text: str) -> list[str]:
    """One ``## skycall NAME`` section from the sub-command's parser."""
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"skycall {name}", description=help_text,
                                     formatter_class=lambda prog: argparse.HelpFormatter(prog, width=100))
    module.add_arguments(parser)
    lines = [f"## `skycall {name}`", "", help_text[0].upper() + help_text[1:] + ".", ""]
    doc = (module.__doc__ or "").strip().splitlines()
    if doc:
        lines += [_cell(doc[0].replace(f"``skycall {name}``: ", "").replace("``", "`")), ""]
    lines += ["```", parser.format_usage().strip().replace("usage: ", ""), "```", ""]
    actions = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    if actions:
        lines += ["| argument | default | choices | what |", "|---|---|---|---|"]
        for a in actions:
            choices = ", ".join(f"`{c}`" for c in a.choices) if a.choices else ""
            lines.append(f"| {_option_names(a)} | {_option_default(a)} | {choices} | {_cell(a.help or '')} |")
        lines.append("")
    return lines


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None)) + " (optional)"
    if origin in (list, tuple):
        (item,) = typing.get_args(tp)[:1] or (typing.Any,)
        return f"list of {_type_name(item)}"
    if dataclasses.is_dataclass(tp):
        return f"table `{tp.__name__}`"
    return {float: "number", int: "integer", str: "string", bool: "true/false", dict: "table"}.get(tp, str(tp))


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
        if dataclasses.is_dataclass(value):
            return "(table)"
    else:
        return "**required**"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if value is None:
        return "(none)"
    return f"`{value!r}`" if isinstance(value, str) else f"`{value}`"


def _limits(f: dataclasses.Field) -> str:
    lo, hi, choices = f.metadata.get("lo"), f.metadata.get("hi"), f.metadata.get("choices")
    if choices:
        return ", ".join(f"`{c}`" for c in choices if c is not None)
    if lo is not None or hi is not None:
        return f"{lo if lo is not None else '−∞'} … {hi if hi is not None else '∞'}"
    return ""


def _toml_key(name: str) -> str:
    return name.rstrip("_")  # pass_ is [pass] in TOML


def schema_tables(cls, prefix: str, seen: dict, is_list: bool = False) -> list[str]:
    """A table of ``cls``'s keys, then one per nested dataclass (depth first; ``seen``: class -> first key)."""
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init and "doc" in f.metadata]
    title = (f"`[[{prefix}]]`" if is_list else f"`[{prefix}]`") if prefix else "top level"
    lines = [f"#### {title}", "", _cell((cls.__doc__ or "").strip().splitlines()[0]), "",
             "| key | type | default | range / choices | what |", "|---|---|---|---|---|"]
    nested = []
    for f in fields:
        tp = hints[f.name]
        lines.append(f"| `{_toml_key(f.name)}` | {_type_name(tp)} | {_default(f)} | {_limits(f)} | "
                     f"{_cell(f.metadata.get('doc', ''))} |")
        inner = [a for a in (typing.get_args(tp) or (tp,)) if dataclasses.is_dataclass(a)]
        if inner:
            key = (prefix + "." if prefix else "") + _toml_key(f.name)
            nested.append((inner[0], key, typing.get_origin(tp) in (list, tuple)))
    lines.append("")
    for inner, key, inner_is_list in nested:
        if inner in seen:
            lines += [f"#### `[{key}]`", "", f"Same keys as `[{seen[inner]}]`.", ""]
            continue
        seen[inner] = key
        lines += schema_tables(inner, key, seen, inner_is_list)
    return lines


def generate() -> str:
    from skycall.cli import COMMANDS

    lines = [
        "# Command and file reference",
        "",
        "<!-- Generated by scripts/gen_docs.py from the argparse parsers and the config schemas: do not edit.",
        "     Regenerate with `.venv/bin/python scripts/gen_docs.py`; a test fails when this file is stale. -->",
        "",
        "Every command below runs as `skycall COMMAND ...` (global options: `-v`/`-vv` for more log output).",
        "Every file is validated strictly before anything runs: an unknown key, a wrong type, a value out of",
        "range or not finite is an error naming the file and the key (`skycall validate FILE...`).",
        "",
        "## Commands",
        "",
    ]
    lines += [f"- [`skycall {name}`](#skycall-{name}) — {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines.append("")
    for name, (module_name, help_text) in COMMANDS.items():
        lines += command_section(name, module_name, help_text)
    lines += ["## Files", ""]
    for title, target in SCHEMAS:
        module_name, _, cls_name = target.partition(":")
        cls = getattr(importlib.import_module(module_name), cls_name)
        lines += [f"### {title}", ""]
        lines += schema_tables(cls, "", {cls: ""})
    # defaults that are paths inside the checkout are shown relative to it (the file must not depend on where
    # the repository was cloned)
    return "\n".join(lines).rstrip().replace(str(ROOT) + "/", "") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/cli.md is stale; write nothing")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT.relative_to(ROOT)} is stale: run .venv/bin/python scripts/gen_docs.py", file=sys.stderr)
            return 1
        print(f"{OUT.relative_to(ROOT)} is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
