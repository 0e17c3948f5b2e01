"""Categories, listed and shown as each company's tree (a category may sit under several parents)."""
from __future__ import annotations

from collections import defaultdict

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path, reverse


from catalog.admin.base import CatalogAdmin
from catalog.models import Category, Company

# A company's tree is drawn whole; past this many rows it is cut, with a note, to keep the page bounded.
TREE_MAX_ROWS = 5000


@admin.register(Category)
class CategoryAdmin(CatalogAdmin):
    list_display = ("name", "slug", "company", "parent_names")
    list_select_related = ("company",)
    list_filter = ("company",)
    search_fields = ("slug", "name")
    ordering = ("company__name", "slug")
    filter_horizontal = ()
    raw_id_fields = ("parents",)
    change_list_template = "admin/catalog/category/change_list.html"

    def get_queryset(self, request):
        # The company is in every category's label (the product page's autocomplete lists them).
        return super().get_queryset(request).select_related("company").prefetch_related("parents")

    @admin.display(description="parents")
    def parent_names(self, category):
        return ", ".join(parent.name for parent in category.parents.all()) or "(root)"

    def get_urls(self):
        tree = path("tree/", self.admin_site.admin_view(self.tree_view), name="catalog_category_tree")
        return [tree, *super().get_urls()]

    def tree_view(self, request):
        companies = list(Company.objects.order_by("name"))
        chosen = request.GET.get("company") or (str(companies[0].pk) if companies else None)
        rows, cut = category_tree_rows(int(chosen)) if chosen and chosen.isdigit() else ([], False)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Category tree",
                   "companies": companies, "chosen": chosen, "rows": rows, "cut": cut,
                   "max_rows": TREE_MAX_ROWS}
        return TemplateResponse(request, "admin/catalog/category/tree.html", context)


def category_tree_rows(company_id: int) -> tuple[list[dict], bool]:
    """The company's categories depth first from the roots, as rows of (depth, category, url).

    Two queries: the categories and their parent links. A category under two parents appears under
    each; a cycle (which the update never makes) is cut where it would repeat.
    """
    categories = {c.pk: c for c in Category.objects.filter(company_id=company_id).only("pk", "name", "slug")}
    links = Category.parents.through.objects.filter(from_category__company_id=company_id)
    children = defaultdict(list)
    has_parent = set()
    for child_id, parent_id in links.values_list("from_category_id", "to_category_id"):
        if parent_id in categories:
            children[parent_id].append(child_id)
            has_parent.add(child_id)
    for kids in children.values():
        kids.sort(key=lambda pk: categories[pk].name.lower())
    roots = sorted((pk for pk in categories if pk not in has_parent), key=lambda pk: categories[pk].name.lower())
    rows: list[dict] = []
    # Iterative, so a deep tree can't exhaust the stack.
    stack = [(pk, 0, frozenset()) for pk in reversed(roots)]
    while stack:
        pk, depth, ancestors = stack.pop()
        if len(rows) >= TREE_MAX_ROWS:
            return rows, True
        category = categories[pk]
        rows.append({"depth": depth, "indent": f"{depth * 1.5:g}", "category": category,
                     "url": reverse("admin:catalog_category_change", args=[pk]),
                     "children": len(children.get(pk, ()))})
        path_here = ancestors | {pk}
        stack.extend((kid, depth + 1, path_here) for kid in reversed(children.get(pk, ())) if kid not in path_here)
    return rows, False


