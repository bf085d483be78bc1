"""Dependencies point inward: each package imports only the packages beneath it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ledger", "projections", "audit", "documents", "api", "entrypoints")
ALLOWED = {
    "ledger": {"ledger"},
    "projections": {"ledger", "projections"},
    "audit": {"ledger", "projections", "audit"},
    "documents": {"ledger", "projections", "documents"},
    "api": {"ledger", "projections", "audit", "documents", "api"},
    "entrypoints": {"ledger", "projections", "audit", "documents", "api", "entrypoints"},
}
EVENT_STORE_READERS = {"ledger", "projections", "audit"}


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_the_packages_beneath_it(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[package])
        for path in modules(package)
    }
    assert {path: names for path, names in wrong.items() if names} == {}


@pytest.mark.parametrize("package", sorted(set(PACKAGES) - EVENT_STORE_READERS))
def test_only_the_domain_the_read_side_and_the_auditor_read_the_event_store(
    package: str,
) -> None:
    readers = [
        str(path.relative_to(ROOT))
        for path in modules(package)
        if "ledger_events" in path.read_text(encoding="utf-8")
    ]
    assert readers == []


def test_the_layer_check_sees_a_violation(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from api.app import create_app\nimport projections.runner\n")
    assert imported_packages(module) == {"api", "projections"}
