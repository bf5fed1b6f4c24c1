"""The project's documentation: generated reference up to date, every link resolves inside the repository."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
#: what a user's clone has; the team's notes outside the repository are not part of it
PROJECT_TEXT = ["README.md", "Makefile", "pyproject.toml", "docs", "skycall", "groundstation", "handset_emu",
                "scripts", "flowgraphs", "hw_profiles", "scenarios", "bench"]


def _gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _anchors(path: Path) -> set[str]:
    """GitHub-style heading anchors of a markdown file."""
    out = set()
    for line in path.read_text().splitlines():
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            text = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
            out.add(text.replace(" ", "-"))
    return out


def test_cli_reference_is_not_stale():
    generated = _gen_docs().generate()
    assert str(ROOT) not in generated, "the reference must not depend on where the repository was cloned"
    current = (ROOT / "docs" / "cli.md").read_text()
    assert current == generated, "docs/cli.md is stale: run .venv/bin/python scripts/gen_docs.py"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_resolves_inside_the_repository(doc):
    problems = []
    for m in LINK.finditer(doc.read_text()):
        target = m.group(1) or m.group(2)
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        dest = (doc.parent / path_part).resolve() if path_part else doc
        if path_part.startswith("/"):
            problems.append(f"{target}: absolute path")
        elif not dest.is_relative_to(ROOT):
            problems.append(f"{target}: leaves the repository")
        elif not dest.exists():
            problems.append(f"{target}: does not exist")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            problems.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not problems, f"{doc.name}: " + "; ".join(problems)


def test_nothing_refers_outside_the_repository():
    offenders = []
    for name in PROJECT_TEXT:
        base = ROOT / name
        files = [base] if base.is_file() else [p for p in base.rglob("*") if p.is_file()]
        for path in files:
            if path.suffix in (".pyc", ".png", ".wav", ".npz", ".so") or "__pycache__" in path.parts:
                continue
            text = path.read_text(errors="ignore")
            if "../shared" in text or "/work/shared" in text:
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"refer to the team's notes outside the repository: {offenders}"
