"""What every catalog admin shares: counts that never read a whole table, and view-only variants."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db import models
from django.forms.models import BaseInlineFormSet

from catalog.admin.formatting import count_phrase
from catalog.admin.paging import EstimatingPaginator


class OnePassChangeList(ChangeList):
    """Uses the rows the paginator already read when the result fits one page (Django reads them again),
    and words its count as it is known (``count_phrase``: exact, "about" or "more than")."""

    def get_results(self, request):
        super().get_results(request)
        rows = getattr(self.paginator, "_first_page_rows", None)
        if rows is not None and not self.multi_page:
            self.result_list = rows
        self.count_kind = getattr(self.paginator, "count_kind", "exact")
        self.count_phrase = count_phrase(self.result_count, self.count_kind, str(self.opts.verbose_name),
                                         str(self.opts.verbose_name_plural))


class CatalogAdmin(admin.ModelAdmin):
    paginator = EstimatingPaginator
    # The unfiltered total is a second COUNT over the table: never asked for.
    show_full_result_count = False
    # Facet counts are a COUNT per filter choice over the whole result: never offered.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50

    def get_changelist(self, request, **kwargs):
        return OnePassChangeList
    # JSON lists (variations, sizes) are a line or two; Django's default textarea is ten rows.
    formfield_overrides = {models.JSONField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 90})}}


class ReadOnlyMixin:
    """View-only: the update owns these rows, and an edit here would bypass its rules."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BoundedInlineFormSet(BaseInlineFormSet):
    """An inline showing at most ``limit`` rows: a product may be priced in thousands of stores."""

    limit = 50

    def get_queryset(self):
        if not hasattr(self, "_bounded_queryset"):
            self._bounded_queryset = super().get_queryset()[: self.limit]
        return self._bounded_queryset


def bounded_formset(limit: int) -> type[BoundedInlineFormSet]:
    return type(f"BoundedInlineFormSet{limit}", (BoundedInlineFormSet,), {"limit": limit})
