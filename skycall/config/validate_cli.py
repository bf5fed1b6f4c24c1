"""``skycall validate FILE...``: check hardware profiles and flowgraphs without touching a device."""

from pathlib import Path

from skycall.config.hw_profile import load_hw_profile
from skycall.config.schema import read_toml
from skycall.errors import ConfigError, ConfigErrors


def add_arguments(parser) -> None:
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="hw_profiles/*.toml, flowgraphs/*.toml, scenarios"
    )


def kind_of(path: Path, data: dict) -> str:
    """``hw_profile``, ``flowgraph`` or ``scenario``, from the file's contents."""
    if "driver" in data:
        return "hw_profile"
    if "scenario" in data or "thresholds" in data:
        return "scenario"
    return "flowgraph"


def validate_file(path: Path) -> list[str]:
    """Return one error line per problem (empty when the file is valid)."""
    try:
        data = read_toml(path)
        kind = kind_of(path, data)
        if kind == "hw_profile":
            load_hw_profile(path)
        elif kind == "scenario":
            from skycall.quality.scenario import load_scenario

            load_scenario(path)
        else:
            from skycall.config.flowgraph import load_flowgraph

            load_flowgraph(path)
    except ConfigErrors as errs:
        return [str(e) for e in errs.errors]
    except ConfigError as err:
        return [str(err)]
    return []


def run(args) -> int:
    bad = 0
    for name in args.files:
        lines = validate_file(Path(name))
        if lines:
            bad += 1
            for line in lines:
                print(f"ERROR {line}")
        else:
            print(f"OK {name}")
    return 1 if bad else 0
