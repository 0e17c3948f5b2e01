"""Brands, looked up per chunk by the normalized names its lines carry: no brand cache to grow."""
from __future__ import annotations

from catalog.models import ProductBrand

from ..lines import ScrapedLine

# Brand names and variations go to the database in chunks of at most this many rows: a chunk's new
# brands in one INSERT, which on PostgreSQL took about two thirds of the database time of 50-row INSERTs
# (measured on 5000 prices). bulk_update's CASE grows with the square of the batch there, but a chunk
# changes the variations of a few brands at most. Django splits both under SQLite's 999 parameters.
QUERY_BATCH = 500


class BrandManager:
    def __init__(self):
        self.created = 0

    def ids_for(self, lines: list[ScrapedLine]) -> dict[str, int]:
        """Brand id for each normalized brand of the lines, creating the brands not seen before."""
        raw_by_normalized: dict[str, str] = {}
        for line in lines:
            if line.normalized_brand:
                raw_by_normalized.setdefault(line.normalized_brand, line.brand or line.normalized_brand)
        ids = self._existing(raw_by_normalized)
        missing = [ProductBrand(normalized_name=nn, name=raw, normalized_name_variations=[])
                   for nn, raw in raw_by_normalized.items() if nn not in ids]
        if missing:
            ProductBrand.objects.bulk_create(missing, batch_size=QUERY_BATCH)
            self.created += len(missing)
            ids.update(self._existing({brand.normalized_name: "" for brand in missing}))
        return ids

    @staticmethod
    def _existing(names) -> dict[str, int]:
        return dict(ProductBrand.objects.filter(normalized_name__in=list(names)).values_list("normalized_name", "id"))

    @staticmethod
    def add_variations(candidates: dict[int, set[str]]) -> None:
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
