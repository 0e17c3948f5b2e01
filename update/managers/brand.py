"""Brands, looked up by the normalized names a file's lines carry: no cache of the brand table to grow.

What a file has asked is remembered for the rest of that file (as many names as the file has brands), so a
brand costs one query per file, not one per chunk.
"""
from __future__ import annotations

from catalog.models import ProductBrand

from ..lines import ScrapedLine

# Brand names and variations go to the database in chunks of at most this many rows: a chunk's new
# brands in one INSERT, which on PostgreSQL took about two thirds of the database time of 50-row INSERTs
# (measured on 5000 prices). bulk_update's CASE grows with the square of the batch there, but a chunk
# changes the variations of a few brands at most. Django splits both under SQLite's 999 parameters.
QUERY_BATCH = 500


class BrandManager:
    """One file's brand work. A brand row is created only for a line whose product takes that brand."""

    def __init__(self):
        self.created = 0
        # Known variation -> brand id, read once per file when first needed. Only brands with variations
        # are read (barcode matches make them, a small share of brands), never the whole brand table.
        self._variation_owner: dict[str, int] | None = None
        # Brand id -> its normalized name, for the brands this file looked up: the index's slim record
        # names the brand a product links to, which is not the line's spelling when that is a variation.
        self._name_of: dict[int, str] = {}
        # Normalized name -> brand id, for every name this file has resolved (or created).
        self._id_of: dict[str, int] = {}

    def ids_for(self, lines: list[ScrapedLine]) -> dict[str, int]:
        """Brand id for each normalized brand of the lines, creating the brands not known at all.

        Give it only the lines whose product takes their brand (see ``lines_taking_a_brand``): a brand
        is never created for a product that keeps its own. A name that is a known variation of a brand
        means that brand.
        """
        raw_by_normalized: dict[str, str] = {}
        for line in lines:
            if line.normalized_brand and line.normalized_brand not in self._id_of:
                raw_by_normalized.setdefault(line.normalized_brand, line.brand or line.normalized_brand)
        if raw_by_normalized:
            self._id_of.update(self._resolve(raw_by_normalized))
        return {nn: self._id_of[nn] for line in lines if (nn := line.normalized_brand) in self._id_of}

    def _resolve(self, raw_by_normalized: dict[str, str]) -> dict[str, int]:
        """Brand ids of names not asked about before in this file, creating the brands not known at all."""
        ids = self._existing(raw_by_normalized)
        self._name_of.update((bid, nn) for nn, bid in ids.items())
        unknown = [nn for nn in raw_by_normalized if nn not in ids]
        if unknown:
            variations = self._variations()
            owners = {nn: variations[nn] for nn in unknown if nn in variations}
            ids.update(owners)
            wanted = [bid for bid in set(owners.values()) if bid not in self._name_of]
            if wanted:
                self._name_of.update(ProductBrand.objects.filter(id__in=wanted).values_list("id", "normalized_name"))
        missing = [ProductBrand(normalized_name=nn, name=raw, normalized_name_variations=[])
                   for nn, raw in raw_by_normalized.items() if nn not in ids]
        if missing:
            ProductBrand.objects.bulk_create(missing, batch_size=QUERY_BATCH)
            self.created += len(missing)
            created = self._existing({brand.normalized_name: "" for brand in missing})
            ids.update(created)
            self._name_of.update((bid, nn) for nn, bid in created.items())
        return ids

    def normalized_name_of(self, brand_id: int | None) -> str:
        """The normalized name of a brand ``ids_for`` returned ("" for none)."""
        return self._name_of.get(brand_id, "") if brand_id else ""

    def _variations(self) -> dict[str, int]:
        if self._variation_owner is None:
            owner: dict[str, int] = {}
            rows = (ProductBrand.objects.exclude(normalized_name_variations=[]).order_by("id")
                    .values_list("id", "normalized_name_variations"))
            for brand_id, variations in rows.iterator(chunk_size=QUERY_BATCH):
                for variation in variations or []:
                    owner.setdefault(variation, brand_id)
            self._variation_owner = owner
        return self._variation_owner

    @staticmethod
    def _existing(names) -> dict[str, int]:
        return dict(ProductBrand.objects.filter(normalized_name__in=list(names)).values_list("normalized_name", "id"))

    def add_variations(self, candidates: dict[int, set[str]]) -> None:
        """Record candidate spellings of brands (seen on barcode matches); never merges two brands."""
        if not candidates:
            return
        brands = list(ProductBrand.objects.filter(id__in=list(candidates)).only("id", "normalized_name",
                                                                                   "normalized_name_variations"))
        changed = []
        for brand in brands:
            new = sorted(v for v in candidates[brand.id]
                         if v != brand.normalized_name and v not in brand.normalized_name_variations)
            if new:
                brand.normalized_name_variations = [*brand.normalized_name_variations, *new]
                changed.append(brand)
        if changed:
            ProductBrand.objects.bulk_update(changed, ["normalized_name_variations"], batch_size=QUERY_BATCH)
            if self._variation_owner is not None:
                for brand in changed:
                    for variation in brand.normalized_name_variations:
                        self._variation_owner.setdefault(variation, brand.id)


def lines_taking_a_brand(new_groups: list[list[ScrapedLine]], matched, brandless: set[int]) -> list[ScrapedLine]:
    """The lines whose normalized brand a product will take: the first branded line of each new product,
    and of each matched product that has no brand yet. Every other line's brand is not wanted."""
    taking = [next((line for line in group if line.normalized_brand), None) for group in new_groups]
    first_of: dict[int, ScrapedLine] = {}
    for line, product_id, _ in matched:
        if product_id in brandless and line.normalized_brand:
            first_of.setdefault(product_id, line)
    return [line for line in taking if line is not None] + list(first_of.values())
