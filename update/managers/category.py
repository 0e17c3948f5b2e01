"""The company's categories and the products filed under them, one chunk at a time.

A category's slug is its whole path ("grocery--fruit--apples"), so "Chocolate" under "Christmas" and
under "Snacks" are two categories with one parent each. Every query is scoped to the chunk's own
categories and products: nothing loads the link tables whole.
"""
from __future__ import annotations

import hashlib

from django.utils.text import slugify

from catalog.models import Category, ProductCategory

from ..bulk import insert_rows
from ..context import FileContext
from ..lines import ScrapedLine

SLUG_MAX_LENGTH = 255
LEVEL_SEPARATOR = "--"
MAX_DEPTH = 10
ParentLink = Category.parents.through
# A chunk's new categories and parent links in one INSERT each (a chunk has at most 500 lines): on
# PostgreSQL a 500-row INSERT took about two thirds of the database time of 50-row ones. Django splits
# them under SQLite's 999 parameters.
INSERT_BATCH = 500


def level_slug(name: str) -> str:
    return slugify(name, allow_unicode=True) or "x" + hashlib.blake2b(name.encode(), digest_size=4).hexdigest()


def path_slugs(path: tuple[str, ...]) -> list[tuple[str, str]]:
    """(slug, name) for each prefix of the path, root first."""
    slugs, parts = [], []
    for name in path[:MAX_DEPTH]:
        parts.append(level_slug(name))
        slug = LEVEL_SEPARATOR.join(parts)
        if len(slug) > SLUG_MAX_LENGTH:
            slug = slug[:SLUG_MAX_LENGTH - 17] + "-" + hashlib.blake2b(slug.encode(), digest_size=8).hexdigest()
        slugs.append((slug, name[:255]))
    return slugs


class CategoryManager:
    def __init__(self, ctx: FileContext):
        self.ctx = ctx
        self.company_id = ctx.store.company_id

    def apply(self, pairs: list[tuple[ScrapedLine, int]]) -> None:
        names: dict[str, str] = {}
        parent_of: dict[str, str] = {}
        product_leaf: set[tuple[int, str]] = set()
        for line, pid in pairs:
            slugs = path_slugs(line.category_path)
            if not slugs:
                continue
            for (slug, name), (child, _) in zip(slugs, slugs[1:] + [(None, None)]):
                names.setdefault(slug, name)
                if child is not None:
                    parent_of[child] = slug
            product_leaf.add((pid, slugs[-1][0]))
        if not names:
            return
        ids = self._ensure_categories(names)
        self._link_parents({(ids[child], ids[parent]) for child, parent in parent_of.items()})
        self._link_products({(pid, ids[slug]) for pid, slug in product_leaf})

    def _existing(self, slugs) -> dict[str, int]:
        return dict(Category.objects.filter(company_id=self.company_id, slug__in=list(slugs))
                    .values_list("slug", "id"))

    def _ensure_categories(self, names: dict[str, str]) -> dict[str, int]:
        ids = self._existing(names)
        missing = [Category(company_id=self.company_id, slug=slug, name=name)
                   for slug, name in names.items() if slug not in ids]
        if missing:
            Category.objects.bulk_create(missing, batch_size=INSERT_BATCH)
            self.ctx.result.categories_created += len(missing)
            ids.update(self._existing(c.slug for c in missing))
        return ids

    @staticmethod
    def _link_parents(wanted: set[tuple[int, int]]) -> None:
        if not wanted:
            return
        existing = set(ParentLink.objects.filter(from_category_id__in={c for c, _ in wanted})
                       .values_list("from_category_id", "to_category_id"))
        ParentLink.objects.bulk_create(
            [ParentLink(from_category_id=c, to_category_id=p) for c, p in sorted(wanted - existing)],
            batch_size=INSERT_BATCH)

    def _link_products(self, wanted: set[tuple[int, int]]) -> None:
        if not wanted:
            return
        existing = set(ProductCategory.objects.filter(product_id__in={p for p, _ in wanted},
                                                      category_id__in={c for _, c in wanted})
                       .values_list("product_id", "category_id"))
        new = sorted(wanted - existing)
        insert_rows(ProductCategory, ["product", "category"], new)
        self.ctx.result.category_links_created += len(new)
