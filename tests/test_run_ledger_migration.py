"""The ledger's migration: forward creates both tables, backward drops them, forward again works."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)


def tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


def test_ledger_migration_forward_backward_forward():
    assert {"update_updaterun", "update_runfile"} <= tables()
    migrate([("update", None)])
    assert not {"update_updaterun", "update_runfile"} & tables()
    migrate([("update", "0001_initial")])
    assert {"update_updaterun", "update_runfile"} <= tables()
