"""The admin's front page: what the owner checks in the morning, above Django's list of models.

The last runs and their status, the rejected files waiting in the rejected folder (the ones
``bin/update-products rejected`` lists and ``retry`` takes back), and the stores from which no file came
for ``ADMIN_STOPPED_SENDING_DAYS`` days. A few bounded queries, whatever the catalog's size.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.db.models import Exists, F, Max, OuterRef, Subquery
from django.utils import timezone

from catalog.admin.formatting import words
from catalog.models import Store, fold_company_name

from ..models import RunFile, UpdateRun
from ..statuses import EXIT_OK, EXIT_REJECTED
from ..view import waiting_rejected

RUNS_SHOWN = 5
REJECTED_SHOWN = 10
STORES_SHOWN = 20


def stopped_sending_days() -> int:
    return int(getattr(settings, "ADMIN_STOPPED_SENDING_DAYS", 2))


def run_status(run) -> tuple[str, str]:
    """(the words, "ok", "warning" or "problem") for a run's status and exit status (ledger/statuses.py)."""
    if run.status == UpdateRun.FINISHED and run.exit_status in (EXIT_OK, None):
        return "finished", "ok"
    if run.status == UpdateRun.FINISHED and run.exit_status == EXIT_REJECTED:
        return f"finished, some files or lines refused (exit {run.exit_status})", "warning"
    if run.status == UpdateRun.RUNNING:
        return "running", "ok"
    exit_status = f" (exit {run.exit_status})" if run.exit_status is not None else ""
    return f"{run.status}{exit_status}", "problem"


def last_runs() -> list[dict]:
    rows = []
    for run in UpdateRun.objects.order_by("-started_at", "-id")[:RUNS_SHOWN]:
        status, level = run_status(run)
        rows.append({"run": run, "files": words((run.totals or {}).get("files")), "status": status,
                     "level": level})
    return rows


def _stores_of(rows) -> dict:
    """Each row's store: its link, or else (for files refused before the ledger linked them) the store
    its company and store id name, in one query."""
    linked = Store.objects.select_related("company").in_bulk([r.store_id for r in rows if r.store_id])
    codes = {r.store_code for r in rows if not r.store_id and r.store_code}
    named = {(fold_company_name(s.company.name), s.store_id): s
             for s in Store.objects.select_related("company").filter(store_id__in=codes)} if codes else {}
    return {r.pk: linked.get(r.store_id) or named.get((fold_company_name(r.company), r.store_code)) for r in rows}


def rejected_waiting() -> tuple[int, list]:
    """(how many, the newest REJECTED_SHOWN) rejected files not retried and still in the rejected folder."""
    waiting = list(waiting_rejected())
    newest = sorted(waiting, key=lambda row: row.pk, reverse=True)[:REJECTED_SHOWN]
    stores = _stores_of(newest)
    for row in newest:
        row.file_name = Path(row.moved_to).name
        row.store_found = stores[row.pk]
        row.store_shown = row.store_found or f"{row.company} {row.store_code}".strip() or "-"
    return len(waiting), newest


def stores_stopped_sending(days: int) -> tuple[int, list]:
    """(how many, the first STORES_SHOWN by silence) stores with no file of any status in ``days`` days."""
    since = timezone.now() - dt.timedelta(days=days)
    recent = RunFile.objects.filter(store=OuterRef("pk"), started_at__gte=since)
    last_file = (RunFile.objects.filter(store=OuterRef("pk")).order_by().values("store")
                 .annotate(last=Max("started_at")).values("last"))
    silent = Store.objects.exclude(Exists(recent))
    count = silent.count()
    stores = list(silent.select_related("company").annotate(last_file=Subquery(last_file))
                  .order_by(F("last_file").asc(nulls_first=True), "company__name", "store_id")[:STORES_SHOWN])
    return count, stores


def front_page_context() -> dict:
    days = stopped_sending_days()
    rejected_count, rejected = rejected_waiting()
    silent_count, silent = stores_stopped_sending(days)
    return {"last_runs": last_runs(), "rejected_count": rejected_count, "rejected": rejected,
            "silent_count": silent_count, "silent": silent, "silent_days": days}


def install(site: admin.AdminSite) -> None:
    """Give ``site``'s index page the front page's figures (templates/admin/index.html shows them)."""
    django_index = site.index

    def index(request, extra_context=None):
        return django_index(request, extra_context={**front_page_context(), **(extra_context or {})})

    site.index = index
