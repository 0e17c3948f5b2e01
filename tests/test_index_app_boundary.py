"""diskcache_tier is an app that catalog and update import, and that imports neither (no import cycle)."""
from __future__ import annotations

import ast
from pathlib import Path

from .conftest import PROJECT_ROOT


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_diskcache_tier_imports_neither_catalog_nor_update():
    offenders = {}
    for path in sorted((PROJECT_ROOT / "diskcache_tier").rglob("*.py")):
        bad = {name for name in imported_modules(path) if name.split(".")[0] in ("catalog", "update")}
        if bad:
            offenders[str(path.relative_to(PROJECT_ROOT))] = sorted(bad)
    assert offenders == {}



def test_prices_imports_catalog_but_never_update_and_catalog_never_prices():
    # (catalog's admin reads the update's ledger: that boundary is not this one)
    offenders = {}
    for app, forbidden in (("prices", ("update",)), ("catalog", ("prices",))):
        for path in sorted((PROJECT_ROOT / app).rglob("*.py")):
            bad = {name for name in imported_modules(path) if name.split(".")[0] in forbidden}
            if bad:
                offenders[str(path.relative_to(PROJECT_ROOT))] = sorted(bad)
    assert offenders == {}
