"""Every `tsreprog` command shown in the README and docs parses with today's CLI (flags and choices exist)."""

import re
import shlex
from pathlib import Path

import pytest

from tsreprog.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]


def shown_commands() -> list[tuple[str, str]]:
    commands = []
    for doc in DOCS:
        for block in re.findall(r"```bash\n(.*?)```", doc.read_text(), flags=re.S):
            for line in block.splitlines():
                for part in line.split("&&"):
                    part = part.split("#")[0].strip()
                    if part.startswith("tsreprog "):
                        commands.append((doc.name, part))
    return commands


def test_the_readme_shows_its_two_commands():
    shown = [command for doc, command in shown_commands() if doc == "README.md"]
    assert any(c.startswith("tsreprog train --config configs/quick.yaml") for c in shown)
    assert "```bash\npython -m pytest -q\n```" in (ROOT / "README.md").read_text()


def inline_commands() -> list[tuple[str, str]]:
    """`tsreprog ...` spans in prose and tables, as runnable variants: optional groups ``[--flag a|b]`` are left out
    once and tried with each alternative; a bare trailing ``--flag`` names a flag in prose and is dropped."""
    commands = []
    for doc in DOCS:
        for span in re.findall(r"`(tsreprog [^`]*)`", doc.read_text()):
            span = re.sub(r"\(.*?\)", "", span.replace("\\|", "|"))
            groups = re.findall(r"\[([^\]]*)\]", span)
            base = re.sub(r"\s*\[[^\]]*\]", "", span).strip()
            base = re.sub(r"\s--[\w-]+$", "", base)
            variants = [base]
            for group in groups:
                flag, _, choices = group.partition(" ")
                if flag.startswith("--") and choices:
                    variants += [f"{base} {flag} {choice.strip()}" for choice in choices.split("|")]
            commands += [(doc.name, v) for v in variants if v.split()[1:2] != ["backbones"] or "NAME" not in v]
    return sorted(set(commands))


@pytest.mark.parametrize("doc,command", shown_commands() + inline_commands())
def test_every_documented_command_parses(doc, command):
    args = shlex.split(command)[1:]
    try:
        build_parser().parse_args(args)
    except SystemExit as exit_:
        pytest.fail(f"{doc}: '{command}' does not parse (exit {exit_.code})")
    config = next((a for a in args if a.endswith(".yaml") and a.startswith("configs/")), None)
    assert config is None or (ROOT / config).is_file(), f"{doc}: {config} does not exist"


def named_tests() -> list[tuple[str, str]]:
    """`tests/...py` and `tests/...py::test_name` references in the docs: a claimed test must exist."""
    return sorted({(doc.name, ref) for doc in DOCS
                   for ref in re.findall(r"tests/[\w/]+\.py(?:::\w+)?", doc.read_text())})


@pytest.mark.parametrize("doc,reference", named_tests())
def test_every_test_the_docs_name_exists(doc, reference):
    path, _, name = reference.partition("::")
    assert (ROOT / path).is_file(), f"{doc}: {path} does not exist"
    assert not name or re.search(rf"^def {name}\(", (ROOT / path).read_text(), flags=re.M), \
        f"{doc}: {path} has no test named {name}"
