"""No package imports one above it in the data flow (issue 19): data < backbones < reprogram < models < train <
evaluate < ntk < tune < bench < interfaces < cli; shared helpers (errors, io, config_base, seed_spread) sit below
all."""

import ast
from pathlib import Path

ORDER = ["data", "backbones", "reprogram", "models", "train", "evaluate", "ntk", "tune", "bench",
         "interfaces", "cli"]
PACKAGE = Path(__file__).resolve().parents[1] / "tsreprog"


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "tsreprog" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_no_package_imports_one_above_it():
    wrong = []
    for package in ORDER:
        for path in (PACKAGE / package).rglob("*.py"):
            for other in imported_packages(path) & set(ORDER):
                if ORDER.index(other) > ORDER.index(package):
                    wrong.append(f"{path.relative_to(PACKAGE)} imports tsreprog.{other}")
    assert not wrong, wrong
