"""Every `tsreprog` command shown in the README and docs parses with today's CLI (flags and choices exist)."""

import ast
import inspect
import re
import shlex
import typing
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


def python_examples() -> list[tuple[str, int, str]]:
    return [(doc.name, i, block) for doc in DOCS
            for i, block in enumerate(re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S))]


def returned_class(method) -> type | None:
    """The class a method says it returns (``fit`` returns its Forecaster, ``train`` a predictor), if it says."""
    try:
        kind = typing.get_type_hints(method).get("return")
    except NameError:
        return None
    return kind if isinstance(kind, type) else None


@pytest.mark.parametrize("doc,index,example", python_examples())
def test_every_python_example_calls_what_exists(doc, index, example):
    """Every call of a documented example names a class, function, method and keywords that exist: constructors
    with literal arguments are built (nothing trains), everything else is bound to its signature without running."""
    namespace: dict = {}
    tree = ast.parse(example)
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            exec(compile(ast.Module([node], []), doc, "exec"), namespace)
    kinds: dict[str, type] = {}

    def kind_of(expr):
        """The class a name or call evaluates to, as far as the example's own calls tell."""
        if isinstance(expr, ast.Name):
            value = namespace.get(expr.id, kinds.get(expr.id))
            return value if isinstance(value, type) else kinds.get(expr.id)
        if isinstance(expr, ast.Call):
            target = callee(expr)
            if isinstance(target, type):
                return target
            return returned_class(target) if target is not None else None
        return None

    def callee(call: ast.Call):
        func = call.func
        if isinstance(func, ast.Name):
            return namespace.get(func.id)
        if isinstance(func, ast.Attribute):
            owner = kind_of(func.value)
            if owner is None:
                return None
            assert hasattr(owner, func.attr), f"{doc}: {owner.__name__} has no {func.attr} (example {index})"
            return getattr(owner, func.attr)
        return None

    checked = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            kind = kind_of(node.value)
            if kind is not None:
                kinds[node.targets[0].id] = kind
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or (target := callee(node)) is None or target is print:
            continue
        literal = all(isinstance(a, ast.Constant) or isinstance(a, (ast.List, ast.Tuple)) for a in
                      [*node.args, *(k.value for k in node.keywords)])
        if isinstance(target, type) and literal:
            target(*[ast.literal_eval(a) for a in node.args],
                   **{k.arg: ast.literal_eval(k.value) for k in node.keywords})  # a wrong value fails here
        else:
            signature = inspect.signature(target)
            bound_self = isinstance(node.func, ast.Attribute) and not isinstance(
                inspect.getattr_static(kind_of(node.func.value), node.func.attr), (classmethod, staticmethod))
            placeholders = [None] * (len(node.args) + bound_self)
            try:
                signature.bind(*placeholders, **{k.arg: None for k in node.keywords})
            except TypeError as error:
                pytest.fail(f"{doc}: {ast.unparse(node)} does not match {target.__qualname__}{signature}: {error}")
        checked += 1
    assert checked, f"{doc}: example {index} calls nothing this test could check"
