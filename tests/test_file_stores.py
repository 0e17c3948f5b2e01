"""The ledger links every file it can to its store, refused ones too (issue 23, item 5), so the store's
page counts a scraper that keeps sending stale or partial files; and migration 0002 links the rows an
earlier release left unlinked, on SQLite and PostgreSQL alike."""
from __future__ import annotations

import gzip

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from catalog.models import Store
from ledger.models import RunFile
from update.file_stores import name_matches, named_in
from update.orchestrator import run_update

from .factories import STORES, product, write_file

REAL_NAMES = [
    ("aldi-carindale-g102-2025-09-09.jsonl", "carindale", "G102"),
    ("aldi-highfields-g110-2025-09-23.jsonl.gz", "highfields", "G110"),
    ("iga-local-grocer-north-sydney-2025-09-19.jsonl", "iga local grocer north sydney", "21981"),
    ("aldi-testville-2025-09-01.2.jsonl", "testville", "G1"),
]


@pytest.mark.parametrize("name, store_name, store_id", REAL_NAMES)
def test_a_file_name_names_its_store(name, store_name, store_id):
    company, stem = named_in(name)
    assert name_matches(stem, company, store_name, store_id)
    assert not name_matches(stem, company, "springwood", "G301")


def test_a_name_off_the_pattern_names_no_store():
    assert [named_in(n) for n in ("readme.jsonl", "aldi.jsonl", "aldi-b.jsonl", "x-2025-09-01.jsonl")] == \
        [None, None, None, None]


@pytest.mark.django_db(transaction=True)
def test_stale_partial_empty_and_unreadable_files_are_linked_to_their_store(workspace, staff_client):
    write_file(workspace.inbox, "aldi", "2025-09-02", [product(f"p{i}") for i in range(10)])
    run_update(workspace)
    store = Store.objects.get(store_id=STORES["aldi"]["store_id"])
    write_file(workspace.inbox, "aldi", "2025-09-01", [product(f"p{i}") for i in range(10)])  # stale
    write_file(workspace.inbox, "aldi", "2025-09-03", [product("p0")])  # partial
    (workspace.inbox / "aldi-testville-2025-09-04.jsonl").write_bytes(b"")  # empty: the name says the store
    (workspace.inbox / "aldi-testville-2025-09-05.jsonl.gz").write_bytes(gzip.compress(b"x" * 500)[:40])
    write_file(workspace.inbox, "aldi", "2025-09-06", [product("q", price_current="free")])  # no usable line
    # A store the catalog does not have: refused (future date), kept as text, never created.
    write_file(workspace.inbox, "aldi", "2099-01-01", [product("z")],
               store={"store_id": "G999", "store_name": "nowhere", "state": "qld"})

    report = run_update(workspace)

    assert sorted(f.status for f in report.files) == ["rejected"] * 6
    rows = {row.name: row for row in RunFile.objects.filter(run_id=report.run_id)}
    unknown = rows.pop("aldi-nowhere-2099-01-01.jsonl")
    assert unknown.store_id is None and (unknown.company, unknown.store_code) == ("aldi", "G999")
    assert not Store.objects.filter(store_id="G999").exists()
    assert {name: row.store_id for name, row in rows.items()} == {name: store.pk for name in rows}
    assert rows["aldi-testville-2025-09-04.jsonl"].store_code == "G1"

    page = staff_client.get(reverse("admin:catalog_store_change", args=[store.pk])).content.decode()
    for name, row in rows.items():
        assert name in page, name
    assert page.count("rejected") >= 5


@pytest.fixture
def staff_client(client, django_user_model, settings):
    settings.SECURE_SSL_REDIRECT = False
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "a long pw 123"))
    return client


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    # The models as the database now has them: every other app at its latest, the ledger at ``target``
    # (in update's migrations then; the ledger app, which took its models over, follows update 0002).
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] not in ("update", "ledger")]
    return executor.loader.project_state(others + target).apps


@pytest.mark.django_db(transaction=True)
def test_migration_0002_links_the_rows_an_earlier_release_left_unlinked():
    apps = migrate([("update", "0001_initial")])
    Company, Store_, UpdateRun, RunFile_ = (apps.get_model("catalog", "Company"), apps.get_model("catalog", "Store"),
                                            apps.get_model("update", "UpdateRun"), apps.get_model("update", "RunFile"))
    aldi = Company.objects.create(name="Aldi", folded_name="aldi")
    iga = Company.objects.create(name="IGA", folded_name="iga")
    carindale = Store_.objects.create(company=aldi, store_id="G102", store_name="carindale", state="qld")
    sydney = Store_.objects.create(company=iga, store_id="21981", store_name="iga local grocer north sydney",
                                   state="nsw")
    run = UpdateRun.objects.create(started_at=timezone.now(), version="0.9", status="finished")
    files = {
        # As the previous release wrote them: only a processed file had its store.
        "processed": dict(name="aldi-carindale-g102-2025-09-09.jsonl", status="processed", store=carindale,
                          company="aldi", store_code="G102"),
        "stale": dict(name="aldi-carindale-g102-2025-09-01.jsonl", status="rejected", company="aldi",
                      store_code="G102", reason="stale: ..."),
        "partial, company spelled otherwise": dict(name="x.jsonl", status="rejected", company="ALDI ",
                                                   store_code="G102", reason="partial scrape: ..."),
        "empty, named": dict(name="iga-local-grocer-north-sydney-2025-09-20.jsonl", status="rejected",
                             reason="empty file"),
        "empty, unnamed": dict(name="notes.jsonl", status="rejected", reason="empty file"),
        "unknown store": dict(name="aldi-nowhere-2025-09-01.jsonl", status="rejected", company="aldi",
                              store_code="G999", reason="stale"),
    }
    ids = {key: RunFile_.objects.create(run=run, **fields).pk for key, fields in files.items()}

    migrate([("update", "0002_link_run_files_to_stores")])
    linked = {key: RunFile.objects.get(pk=pk) for key, pk in ids.items()}
    assert {key: row.store_id for key, row in linked.items()} == {
        "processed": carindale.pk, "stale": carindale.pk, "partial, company spelled otherwise": carindale.pk,
        "empty, named": sydney.pk, "empty, unnamed": None, "unknown store": None}
    assert (linked["empty, named"].company, linked["empty, named"].store_code) == ("IGA", "21981")
    assert linked["stale"].reason == "stale: ..." and linked["stale"].status == "rejected"

    # Backward leaves the links (true in the previous release too); forward again is a no-op.
    migrate([("update", "0001_initial")])
    migrate([("update", "0002_link_run_files_to_stores")])
    assert RunFile.objects.get(pk=ids["stale"]).store_id == carindale.pk
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
