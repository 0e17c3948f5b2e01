"""The company's categories and the products filed under them, one chunk at a time.

A category's slug is its whole path ("grocery--fruit--apples"), so "Chocolate" under "Christmas" and
under "Snacks" are two categories with one parent each. Every query is scoped to the chunk's own
categories and products: nothing loads the link tables whole. Lines are gathered (each as its product
and category path) and linked LINK_BATCH at a time. What the file has already asked about its company's
categories (their ids, their parent links) is remembered for the rest of the file, which is as many
entries as the store's own category tree: one query per file for them, not one per chunk.
"""
from __future__ import annotations

import hashlib

from django.utils.text import slugify

from catalog.models import Category, ProductCategory

from ..bulk import Gathered, insert_rows, max_query_params
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
# Lines gathered before their products are linked. Measured at 10k products x 5 stores, day 2: 2,000
# saved a statement per chunk but raised the update's peak anonymous memory by 6.6 MB (the link query's
# working set); 500, a chunk's worth, costs nothing over linking per chunk.
LINK_BATCH = 500


def level_slug(name: str) -> str:
    return slugify(name, allow_unicode=True) or "x" + hashlib.blake2b(name.encode(), digest_size=4).hexdigest()


def path_slugs(path: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(slug, name) for each prefix of the path, root first."""
    slugs, parts = [], []
    for name in path[:MAX_DEPTH]:
        parts.append(level_slug(name))
        slug = LEVEL_SEPARATOR.join(parts)
        if len(slug) > SLUG_MAX_LENGTH:
            slug = slug[:SLUG_MAX_LENGTH - 17] + "-" + hashlib.blake2b(slug.encode(), digest_size=8).hexdigest()
        slugs.append((slug, name[:255]))
    return tuple(slugs)


class CategoryManager:
    def __init__(self, ctx: FileContext):
        self.ctx = ctx
        self.company_id = ctx.store.company_id
        self._ids: dict[str, int] = {}                      # slug -> id, known to exist
        self._parent_links: set[tuple[int, int]] = set()    # (child, parent), known to exist
        # A store files thousands of lines under each path: slugify once per path, not once per line
        # (about 7% of a day-2 update's CPU at 100k, under the profiler).
        self._slugs: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}
        # A batch's product ids and leaf category ids go in one query: at most one of each per line.
        self.pending = Gathered(min(LINK_BATCH, max_query_params() // 2), self._write)

    def apply(self, pairs: list[tuple[ScrapedLine, int]]) -> None:
        self.pending.add([(line.category_path, pid) for line, pid in pairs if line.category_path])

    def finish(self) -> None:
        """Link what is still gathered: after the file's last chunk."""
        self.pending.flush()

    def _write(self, paths: list[tuple[tuple[str, ...], int]]) -> None:
        names: dict[str, str] = {}
        parent_of: dict[str, str] = {}
        product_leaf: set[tuple[int, str]] = set()
        for category_path, pid in paths:
            slugs = self._slugs.get(category_path)
            if slugs is None:
                slugs = self._slugs[category_path] = path_slugs(category_path)
            if not slugs:
                continue
            for (slug, name), (child, _) in zip(slugs, slugs[1:] + ((None, None),)):
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
        slugs, found = list(slugs), {}
        for start in range(0, len(slugs), INSERT_BATCH):
            batch = slugs[start:start + INSERT_BATCH]
            found.update(Category.objects.filter(company_id=self.company_id, slug__in=batch)
                         .values_list("slug", "id"))
        return found

    def _ensure_categories(self, names: dict[str, str]) -> dict[str, int]:
        unknown = [slug for slug in names if slug not in self._ids]
        if unknown:
            self._ids.update(self._existing(unknown))
            missing = [Category(company_id=self.company_id, slug=slug, name=names[slug])
                       for slug in unknown if slug not in self._ids]
            if missing:
                Category.objects.bulk_create(missing, batch_size=INSERT_BATCH)
                self.ctx.result.categories_created += len(missing)
                self._ids.update(self._existing(c.slug for c in missing))
        return self._ids

    def _link_parents(self, wanted: set[tuple[int, int]]) -> None:
        wanted = wanted - self._parent_links
        if not wanted:
            return
        existing = set(ParentLink.objects.filter(from_category_id__in={c for c, _ in wanted})
                       .values_list("from_category_id", "to_category_id"))
        ParentLink.objects.bulk_create(
            [ParentLink(from_category_id=c, to_category_id=p) for c, p in sorted(wanted - existing)],
            batch_size=INSERT_BATCH)
        self._parent_links |= wanted

    def _link_products(self, wanted: set[tuple[int, int]]) -> None:
        if not wanted:
            return
        existing = set(ProductCategory.objects.filter(product_id__in={p for p, _ in wanted},
                                                      category_id__in={c for _, c in wanted})
                       .values_list("product_id", "category_id"))
        new = sorted(wanted - existing)
        insert_rows(ProductCategory, ["product", "category"], new)
        self.ctx.result.category_links_created += len(new)
