"""The ledger's migrations (both databases): update 0001 creates both tables, backward drops them, forward
again works; and the ledger app (issue 21) takes the models over in place, keeping the previous release's
rows, the ids that follow them and the staff's permissions, forward and back."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

LEDGER_TABLES = {"update_updaterun", "update_runfile"}
# The previous release: the ledger in update's migrations, no ledger app.
PREVIOUS_RELEASE = [("update", "0002_link_run_files_to_stores"), ("ledger", None)]
RUN_FIELDS = ("pk", "started_at", "finished_at", "status", "exit_status", "version", "hostname", "pid",
              "peak_anon_bytes", "totals")
FILE_FIELDS = ("pk", "run_id", "name", "size", "sha256", "store_id", "company", "store_code", "scraped_date",
               "status", "reason", "counts")


def tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def latest() -> list:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_ledger_migration_forward_backward_forward():
    try:
        assert LEDGER_TABLES <= tables()
        migrate([("update", None)])
        assert not LEDGER_TABLES & tables()
        migrate([("update", "0001_initial")])
        assert LEDGER_TABLES <= tables()
    finally:
        migrate(latest())


def previous_ledger(apps) -> dict:
    """A run of the previous release with a processed file linked to its store and a rejected one; a
    group allowed to view the runs, by update's content type. Returns what was written, as read back."""
    Company, Store = apps.get_model("catalog", "Company"), apps.get_model("catalog", "Store")
    UpdateRun, RunFile = apps.get_model("update", "UpdateRun"), apps.get_model("update", "RunFile")
    aldi = Company.objects.create(name="Aldi", folded_name="aldi")
    store = Store.objects.create(company=aldi, store_id="G102", store_name="carindale", state="qld")
    started = dt.datetime(2025, 9, 9, 6, 0, tzinfo=dt.timezone.utc)
    run = UpdateRun.objects.create(started_at=started, finished_at=started + dt.timedelta(minutes=3),
                                   status="finished", exit_status=1, version="0.2.0", hostname="vps", pid=42,
                                   index_backend="lmdb", peak_anon_bytes=50 << 20,
                                   totals={"lines": 9, "files": {"processed": 1, "rejected": 1}})
    RunFile.objects.create(run=run, name="aldi-carindale-g102-2025-09-09.jsonl", size=1234, sha256="ab" * 32,
                           store=store, company="aldi", store_code="G102", scraped_date=dt.date(2025, 9, 9),
                           status="processed", counts={"lines": 9, "prices_created": 9}, started_at=started)
    RunFile.objects.create(run=run, name="aldi-carindale-g102-2025-09-01.jsonl", store=store, company="aldi",
                           store_code="G102", status="rejected", reason="stale: not newer",
                           started_at=started)
    return {"runs": list(UpdateRun.objects.order_by("pk").values_list(*RUN_FIELDS)),
            "files": list(RunFile.objects.order_by("pk").values_list(*FILE_FIELDS)),
            "store": store.pk}


def test_the_previous_releases_ledger_is_the_ledger_apps_in_place_and_back(django_user_model):
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    try:
        old = migrate(PREVIOUS_RELEASE)
        ContentType.objects.clear_cache()
        # The previous release's content type (migrate made it when the test database was created; the
        # ledger's 0002, unapplied, gave it back to update).
        old_type = ContentType.objects.get(app_label="update", model="updaterun")
        staff = Group.objects.create(name="staff")
        staff.permissions.add(Permission.objects.get(content_type=old_type, codename="view_updaterun"))
        viewer = django_user_model.objects.create_user("viewer", is_staff=True)
        viewer.groups.add(staff)
        before = previous_ledger(old)

        migrate(latest())
        assert LEDGER_TABLES <= tables()
        from ledger.models import RunFile, UpdateRun

        assert list(UpdateRun.objects.order_by("pk").values_list(*RUN_FIELDS)) == before["runs"]
        assert list(RunFile.objects.order_by("pk").values_list(*FILE_FIELDS)) == before["files"]
        assert RunFile.objects.filter(store_id=before["store"], run__exit_status=1).count() == 2
        # The ids go on after the previous release's (the tables keep their sequences).
        newer = UpdateRun.objects.create(started_at=dt.datetime(2025, 9, 10, tzinfo=dt.timezone.utc),
                                         version="0.3.0")
        assert newer.pk > max(pk for pk, *_ in before["runs"])
        # Same content type, now the ledger's: the group's permission follows it.
        ContentType.objects.clear_cache()
        assert ContentType.objects.get_for_model(UpdateRun).pk == old_type.pk
        assert not ContentType.objects.filter(app_label="update").exists()
        assert django_user_model.objects.get(pk=viewer.pk).has_perm("ledger.view_updaterun")

        # Backward, the previous release reads every row, the new one too, by update's content type again.
        old = migrate(PREVIOUS_RELEASE)
        OldRun, OldFile = old.get_model("update", "UpdateRun"), old.get_model("update", "RunFile")
        old_ids = {pk for pk, *_ in before["runs"]}
        assert set(OldRun.objects.values_list("pk", flat=True)) == old_ids | {newer.pk}
        assert OldFile.objects.count() == len(before["files"])
        ContentType.objects.clear_cache()
        assert ContentType.objects.get(app_label="update", model="updaterun").pk == old_type.pk
    finally:
        migrate(latest())
        ContentType.objects.clear_cache()
