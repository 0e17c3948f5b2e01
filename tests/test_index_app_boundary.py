"""Every import between the apps points down (issue 21): update imports prices and ledger, which import
catalog, which imports diskcache_tier; nothing imports an app above it."""
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


def upward_imports(app: str, above: tuple[str, ...]) -> dict[str, list[str]]:
    """The modules of ``app`` (migrations too) that import an app in ``above``, with what they import."""
    offenders = {}
    for path in sorted((PROJECT_ROOT / app).rglob("*.py")):
        bad = {name for name in imported_modules(path) if name.split(".")[0] in above}
        if bad:
            offenders[str(path.relative_to(PROJECT_ROOT))] = sorted(bad)
    return offenders


def test_diskcache_tier_imports_no_app_above_it():
    assert upward_imports("diskcache_tier", ("catalog", "prices", "ledger", "update")) == {}


def test_catalog_imports_neither_prices_nor_the_ledger_nor_update():
    # The store page's files received and the front page are the ledger's admin (ledger/admin/).
    assert upward_imports("catalog", ("prices", "ledger", "update")) == {}


def test_prices_and_the_ledger_import_catalog_but_never_update_nor_each_other():
    assert upward_imports("prices", ("ledger", "update")) == {}
    assert upward_imports("ledger", ("prices", "update")) == {}
    # (the test would pass on an app that is not there)
    assert (PROJECT_ROOT / "ledger" / "models.py").is_file()
    assert (PROJECT_ROOT / "prices" / "models.py").is_file()
