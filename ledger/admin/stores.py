"""The store pages' "files received": the ledger's part of the catalog's store admin.

The catalog's admin never imports this app (tests/test_index_app_boundary.py), so the ledger adds its
part here, as prices/admin.py does for a product's history: the catalog's StoreAdmin, registered again
with the files received from each store in its list (a column and the "files received" filter) and on
its page.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from catalog.admin.stores import StoreAdmin
from catalog.models import Store

from ..models import RunFile

RECENT_DAYS = 7
FILES_ON_STORE_PAGE = 30


def _recent_files(store_ref):
    since = timezone.now() - dt.timedelta(days=RECENT_DAYS)
    return RunFile.objects.filter(store=store_ref, started_at__gte=since)


def _after(names: tuple, after, new) -> tuple:
    """``names`` with ``new`` right after ``after``: the ledger's column in its place among the catalog's."""
    at = names.index(after) + 1
    return (*names[:at], new, *names[at:])


class StoppedSendingFilter(admin.SimpleListFilter):
    """Stores from which no file arrived lately, according to the run ledger."""

    title = "files received"
    parameter_name = "silent_for"
    DAYS = (2, 7, 30)

    def days(self) -> list[int]:
        # The front page's threshold (settings.ADMIN_STOPPED_SENDING_DAYS) is one of the choices, so its
        # "all of them" link lands on a filter that lists the same stores.
        return sorted({*self.DAYS, int(getattr(settings, "ADMIN_STOPPED_SENDING_DAYS", 2))})

    def lookups(self, request, model_admin):
        return [(str(days), f"stopped sending: none in {days} days") for days in self.days()]

    def queryset(self, request, queryset):
        if self.value() not in {str(days) for days in self.days()}:
            return queryset
        since = timezone.now() - dt.timedelta(days=int(self.value()))
        recent = RunFile.objects.filter(store=OuterRef("pk"), started_at__gte=since)
        return queryset.exclude(Exists(recent))


class StoreWithFilesAdmin(StoreAdmin):
    list_display = _after(StoreAdmin.list_display, "last_scraped", "files_last_7_days")
    list_filter = _after(StoreAdmin.list_filter, "company", StoppedSendingFilter)
    fields = (*StoreAdmin.fields, "recent_files")
    readonly_fields = (*StoreAdmin.readonly_fields, "recent_files")

    def get_queryset(self, request):
        counted = (_recent_files(OuterRef("pk")).order_by().values("store")
                   .annotate(n=Count("pk")).values("n"))
        return super().get_queryset(request).annotate(
            _files_recent=Coalesce(Subquery(counted, output_field=IntegerField()), 0))

    @admin.display(description=f"files in {RECENT_DAYS} days", ordering="_files_recent")
    def files_last_7_days(self, store):
        url = reverse("admin:ledger_runfile_changelist") + f"?store__id__exact={store.pk}"
        return format_html('<a href="{}">{}</a>', url, store._files_recent)

    @admin.display(description=f"files received in the last {RECENT_DAYS} days")
    def recent_files(self, store):
        files = list(_recent_files(store).select_related("run").order_by("-started_at")[:FILES_ON_STORE_PAGE])
        if not files:
            return f"none in {RECENT_DAYS} days"
        rows = format_html_join(
            "", '<li><a href="{}">{}</a>: {} {}</li>',
            ((reverse("admin:ledger_runfile_change", args=[f.pk]), f.name, f.status, f.reason)
             for f in files))
        return format_html("<ul>{}</ul>", rows)


def install(site: admin.AdminSite) -> None:
    """Put the store pages with their files in place of the catalog's on ``site``."""
    site.unregister(Store)
    site.register(Store, StoreWithFilesAdmin)
