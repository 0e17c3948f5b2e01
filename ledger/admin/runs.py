"""The run ledger, view-only: runs, their files, and each file's rejected lines read from its rejects file.

Everything here is a record of what the update did; editing it would make the record lie.
"""
from __future__ import annotations

from pathlib import Path

import orjson
from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog.admin.base import BoundedInlineFormSet, CatalogAdmin, ReadOnlyMixin
from catalog.admin.formatting import words

from ..models import RunFile, UpdateRun

# The rejects file of a file with a million bad lines is large; the page shows its head.
REJECTED_LINES_SHOWN = 200
FILES_ON_RUN_PAGE = 500


class RunFileInline(ReadOnlyMixin, admin.TabularInline):
    model = RunFile
    fields = ("file_link", "status", "reason", "store_label", "scraped_date", "lines_rejected")
    readonly_fields = fields
    formset = type("RunFilesFormSet", (BoundedInlineFormSet,), {"limit": FILES_ON_RUN_PAGE})
    extra = 0
    verbose_name_plural = f"files (first {FILES_ON_RUN_PAGE})"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("store__company")

    @admin.display(description="file")
    def file_link(self, run_file):
        return format_html('<a href="{}">{}</a>', reverse("admin:ledger_runfile_change", args=[run_file.pk]),
                           run_file.name)

    @admin.display(description="store")
    def store_label(self, run_file):
        if run_file.store is None:
            return f"{run_file.company} {run_file.store_code}".strip() or "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:catalog_store_change", args=[run_file.store_id]),
                           run_file.store)

    @admin.display(description="lines rejected")
    def lines_rejected(self, run_file):
        rejected = (run_file.counts or {}).get("lines_rejected")
        return "-" if rejected is None else f"{rejected:,}"


@admin.register(UpdateRun)
class UpdateRunAdmin(ReadOnlyMixin, CatalogAdmin):
    list_display = ("id", "started_at", "finished_at", "status", "exit_status", "file_count", "files_in_words",
                    "dry_run", "reason", "hostname")
    list_filter = ("status", "dry_run")
    sortable_by = ("id", "started_at")
    date_hierarchy = None
    inlines = (RunFileInline,)
    readonly_fields = ("totals_table",)
    fieldsets = (
        (None, {"fields": ("status", "exit_status", "reason", "started_at", "finished_at", "dry_run")}),
        ("Totals", {"fields": ("totals_table",)}),
        ("Where and how", {"classes": ("collapse",), "fields": ("hostname", "pid", "version", "index_backend", "peak_anon_bytes",
                                      "peak_rss_bytes", "report_path")}),
    )

    def get_queryset(self, request):
        # A correlated count, evaluated for the listed page only (a GROUP BY would count every run's files).
        counted = RunFile.objects.filter(run=OuterRef("pk")).order_by().values("run").annotate(n=Count("pk"))
        return super().get_queryset(request).annotate(
            _files=Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), 0))

    @admin.display(description="files")
    def file_count(self, run):
        url = reverse("admin:ledger_runfile_changelist") + f"?run__id__exact={run.pk}"
        return format_html('<a href="{}">{}</a>', url, run._files)

    @admin.display(description="files by status")
    def files_in_words(self, run):
        return words((run.totals or {}).get("files"))

    @admin.display(description="totals")
    def totals_table(self, run):
        return _key_values(run.totals)


@admin.register(RunFile)
class RunFileAdmin(ReadOnlyMixin, CatalogAdmin):
    list_display = ("name", "run_link", "status", "reason", "store", "scraped_date", "started_at")
    list_select_related = ("run", "store__company")
    list_filter = ("status",)
    search_fields = ("name",)
    search_help_text = "File name (exact, or its beginning)."
    sortable_by = ("name",)
    ordering = ("-run_id", "-id")
    readonly_fields = ("run_link", "store_link", "counts_table", "rejected_lines")
    fieldsets = (
        (None, {"fields": ("name", "run_link", "store_link", "status", "reason", "scraped_date")}),
        ("Rejected lines", {"fields": ("rejected_lines",)}),
        ("Counts", {"fields": ("counts_table",)}),
        ("The file", {"classes": ("collapse",), "fields": ("company", "store_code", "size", "sha256", "moved_to", "rejects_file",
                                 "started_at", "finished_at", "retried_at")}),
    )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        # The index on (status, name) can't serve a name alone; startswith keeps it a short scan of a
        # table that grows by files, not lines.
        return (queryset.filter(name__startswith=term) if term else queryset), False

    @admin.display(description="run")
    def run_link(self, run_file):
        return format_html('<a href="{}">{}</a>',
                           reverse("admin:ledger_updaterun_change", args=[run_file.run_id]), run_file.run)

    @admin.display(description="store")
    def store_link(self, run_file):
        if not run_file.store_id:
            return f"{run_file.company} {run_file.store_code}".strip() or "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:catalog_store_change", args=[run_file.store_id]),
                           run_file.store)

    @admin.display(description="counts")
    def counts_table(self, run_file):
        return _key_values(run_file.counts)

    @admin.display(description="rejected lines")
    def rejected_lines(self, run_file):
        if not run_file.rejects_file:
            return "none"
        lines, more, problem = read_rejects(Path(run_file.rejects_file), REJECTED_LINES_SHOWN)
        if problem:
            return problem
        rows = "".join(
            format_html("<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                        entry.get("line_no", "?"), entry.get("action", ""), entry.get("reason", ""),
                        str(entry.get("line", ""))[:300])
            for entry in lines)
        note = (format_html("<p>First {} lines of {} shown.</p>", REJECTED_LINES_SHOWN, run_file.rejects_file)
                if more else format_html("<p>From {}.</p>", run_file.rejects_file))
        return format_html('{}<table class="rejected-lines"><thead><tr><th>line</th><th>action</th>'
                           "<th>reason</th><th>line as received (cut)</th></tr></thead><tbody>{}</tbody></table>",
                           note, _safe(rows))


def _safe(html: str):
    from django.utils.safestring import mark_safe

    return mark_safe(html)  # built from format_html pieces above, each escaped


def read_rejects(path: Path, limit: int) -> tuple[list[dict], bool, str | None]:
    """The first ``limit`` entries of a rejects file, whether there are more, and a problem in one line."""
    entries: list[dict] = []
    try:
        with path.open("rb") as handle:
            for raw in handle:
                if len(entries) == limit:
                    return entries, True, None
                try:
                    entries.append(orjson.loads(raw))
                except orjson.JSONDecodeError:
                    entries.append({"reason": "(not JSON)", "line": raw[:300].decode("utf-8", "replace")})
    except FileNotFoundError:
        return [], False, f"{path} is gone (moved or pruned); the run's report still counts these lines."
    except OSError as exc:
        return [], False, f"{path} can't be read: {exc.strerror}"
    return entries, False, None


def _key_values(mapping):
    """A run's or a file's figures as words, one group a line: "8 lines, 1 line rejected" then
    "files: 1 processed, 2 rejected"; zeros left out (the report file keeps every figure)."""
    if not mapping:
        return "-"
    flat = {key: value for key, value in mapping.items() if not isinstance(value, dict)}
    groups = [words(flat)] if flat else []
    groups += [f"{str(key).replace('_', ' ')}: {words(value)}" for key, value in mapping.items()
               if isinstance(value, dict)]
    return format_html_join("", "<div>{}</div>", ((group,) for group in groups))
