"""The domain imports nothing but the standard library and itself."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from pathlib import Path

DOMAIN = Path(__file__).resolve().parent.parent / "src" / "egide" / "domain"


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(files: list[Path], forbidden: Callable[[str], bool]) -> dict[str, list[str]]:
    """Each file's forbidden imports (only the files that have some)."""
    found = {f.name: sorted(n for n in imported_roots(f) if forbidden(n)) for f in files}
    return {name: bad for name, bad in found.items() if bad}


def test_domain_imports_only_the_standard_library_and_itself() -> None:
    files = sorted(DOMAIN.glob("*.py"))
    assert len(files) > 5

    def outside(name: str) -> bool:
        return name.split(".")[0] not in sys.stdlib_module_names and not name.startswith(
            "egide.domain"
        )

    assert offenders(files, outside) == {}


SERVICES = DOMAIN.parent / "services"


def test_services_reach_storage_only_through_the_ports() -> None:
    """No SQLAlchemy query, session or SQL unit of work in a service: only the protocols of
    `egide.services.ports` and the row classes they carry (so the in-memory fakes can stand in)."""
    files = sorted(SERVICES.glob("*.py"))
    assert len(files) > 5

    def storage(name: str) -> bool:
        return name.split(".")[0] == "sqlalchemy" or (
            name.startswith("egide.db") and not name.startswith("egide.db.tables")
        )

    assert offenders(files, storage) == {}
    for f in files:
        assert ".session" not in f.read_text(encoding="utf-8"), f.name
