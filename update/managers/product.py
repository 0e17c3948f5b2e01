"""Products for one chunk of lines: resolve, check against the database, create, enrich, link SKUs.

Tier 1 (the index) proposes a product for each key; tier 2 fetches only those products, in one id
batch per chunk, and checks that each still carries the key it was found by. The database wins every
disagreement: a hit whose product is gone or no longer carries the key is dropped from the index, and
a miss is confirmed against the database's unique columns before anything is created, so a stale index
can cost a repair but never a duplicate product.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from catalog.models import SKU, Product

from ..bulk import insert_rows, update_rows
from ..context import FileContext
from ..lines import ScrapedLine
from ..matching import (
    ProductFacts,
    ProductState,
    brand_variation_candidate,
    carries,
    enrich,
    line_keys,
    new_product_state,
    plan_chunk,
)
from .brand import BrandManager, lines_taking_a_brand

ENRICHED_FIELDS = ["barcode", "normalized_name_brand_size_variations", "sizes", "url", "image_url", "brand",
                   "brand_name_company_pairs", "updated_at"]
NEW_PRODUCT_FIELDS = ["name", "brand", "barcode", "normalized_name_brand_size", "normalized_name_brand_size_variations",
                      "size", "sizes", "url", "image_url", "brand_name_company_pairs", "created_at", "updated_at"]
_STATE_FIELDS = ["id", "normalized_name_brand_size", "barcode", "normalized_name_brand_size_variations", "sizes",
                 "url", "image_url", "brand_id", "brand_name_company_pairs", "brand__normalized_name"]


@dataclass
class Fetched:
    """The chunk's candidate products as the database has them now."""
    states: dict[int, ProductState] = field(default_factory=dict)
    brand_names: dict[int, str | None] = field(default_factory=dict)

    def facts(self, product_id: int) -> ProductFacts | None:
        state = self.states.get(product_id)
        return None if state is None else ProductFacts(state.id, state.barcode, state.nnbs, state.variations)


class ProductManager:
    def __init__(self, ctx: FileContext, brands: BrandManager):
        self.ctx = ctx
        self.brands = brands
        self.company_id = ctx.store.company_id
        self.company = ctx.store.company.name

    # ------------------------------------------------------------------------------------- chunk

    def process(self, lines: list[ScrapedLine]) -> list[tuple[ScrapedLine, int]]:
        """Bring the chunk's products up to date; return each line with its product, in line order."""
        keys = self._keys_by_kind(lines)
        hits = {kind: self.ctx.index.get_many(kind, wanted) for kind, wanted in keys.items()}
        fetched = self._fetch(set().union(*(h.values() for h in hits.values())))
        self._drop_stale_hits(hits, fetched)
        self._confirm_misses(keys, hits, fetched)

        plan = plan_chunk(lines, self.company_id, hits)
        brandless = {pid for pid, state in fetched.states.items() if state.brand_id is None}
        brand_ids = self.brands.ids_for(lines_taking_a_brand(plan.new_groups, plan.matched, brandless))
        claimed = {kind: set(hits[kind]) for kind in ("barcode", "nnbs", "sku")}
        created = self._create(plan.new_groups, brand_ids, claimed)
        self._enrich(plan.matched, fetched, brand_ids, claimed, hits)

        pairs = [(line, pid) for line, pid, _ in plan.matched]
        pairs += [(line, created[id(group)]) for group in plan.new_groups for line in group]
        pairs.sort(key=lambda pair: pair[0].line_no)
        return pairs

    def _keys_by_kind(self, lines):
        keys = {"barcode": set(), "sku": set(), "nnbs": set()}
        for line in lines:
            for kind, key in line_keys(line, self.company_id).items():
                keys[kind].add(key)
        return keys

    # ----------------------------------------------------------------------------- tier 2 fetch

    def _fetch(self, product_ids, into: Fetched | None = None) -> Fetched:
        fetched = into or Fetched()
        wanted = [pid for pid in product_ids if pid not in fetched.states]
        if not wanted:
            return fetched
        rows = Product.objects.filter(id__in=wanted).values_list(*_STATE_FIELDS)
        for pid, nnbs, barcode, variations, sizes, url, image_url, brand_id, pairs, brand_nn in rows:
            fetched.states[pid] = ProductState(
                id=pid, nnbs=nnbs, barcode=barcode, variations=list(variations or []), sizes=list(sizes or []),
                url=url, image_url=image_url, brand_id=brand_id, brand_name_company_pairs=list(pairs or []))
            fetched.brand_names[pid] = brand_nn
        return fetched

    def _drop_stale_hits(self, hits, fetched: Fetched) -> None:
        """Forget index hits the database contradicts, in the index too."""
        sku_hits = hits["sku"]
        if sku_hits:
            true_owner = dict(SKU.objects.filter(company_id=self.company_id, sku__in=[s for _, s in sku_hits])
                              .values_list("sku", "product_id"))
            for key, pid in list(sku_hits.items()):
                if true_owner.get(key[1]) != pid:
                    self._repair("sku", key, None)
                    del sku_hits[key]
        for kind in ("barcode", "nnbs"):
            for key, pid in list(hits[kind].items()):
                if not carries(fetched.facts(pid), kind, key):
                    self._repair(kind, key, None)
                    del hits[kind][key]

    def _confirm_misses(self, keys, hits, fetched: Fetched) -> None:
        """Ask the database's unique columns about every key the index did not know."""
        found: dict[str, dict] = {"barcode": {}, "sku": {}, "nnbs": {}}
        missing = {kind: [k for k in keys[kind] if k not in hits[kind]] for kind in keys}
        if missing["barcode"]:
            found["barcode"] = dict(Product.objects.filter(barcode__in=missing["barcode"])
                                    .values_list("barcode", "id"))
        if missing["nnbs"]:
            found["nnbs"] = dict(Product.objects.filter(normalized_name_brand_size__in=missing["nnbs"])
                                 .values_list("normalized_name_brand_size", "id"))
        if missing["sku"]:
            rows = SKU.objects.filter(company_id=self.company_id, sku__in=[s for _, s in missing["sku"]])
            found["sku"] = {(self.company_id, sku): pid for sku, pid in rows.values_list("sku", "product_id")}
        for kind, mapping in found.items():
            for key, pid in mapping.items():
                hits[kind][key] = pid
                self._repair(kind, key, pid)
        self._fetch({pid for mapping in found.values() for pid in mapping.values()}, into=fetched)
        for pid in {pid for mapping in found.values() for pid in mapping.values()}:
            state = fetched.states.get(pid)
            if state is not None:
                self.ctx.writer.put_product(pid, state.nnbs, fetched.brand_names.get(pid))

    def _repair(self, kind, key, product_id) -> None:
        if product_id is None:
            self.ctx.writer.delete(kind, key)
        else:
            self.ctx.writer.put(kind, key, product_id)
        self.ctx.result.index_repairs += 1

    # ----------------------------------------------------------------------------------- create

    def _create(self, groups: list[list[ScrapedLine]], brand_ids, claimed) -> dict[int, int]:
        """Create one product per group; return the new product id by ``id(group)``."""
        if not groups:
            return {}

        def is_free(kind, key):
            return key not in claimed[kind]

        states, rows = [], []
        for group in groups:
            state = new_product_state(group, self.company, brand_ids, is_free)
            claimed["nnbs"].update([state.nnbs, *state.variations])
            if state.barcode:
                claimed["barcode"].add(state.barcode)
            first = group[0]
            states.append(state)
            rows.append((first.name, state.brand_id, state.barcode, state.nnbs, state.variations, first.size,
                         state.sizes, state.url, state.image_url, state.brand_name_company_pairs,
                         self.ctx.now, self.ctx.now))
        insert_rows(Product, NEW_PRODUCT_FIELDS, rows)
        # Ids come back by a query on the unique NNBS rather than from bulk_create, which not every
        # database returns.
        ids = dict(Product.objects.filter(normalized_name_brand_size__in=[s.nnbs for s in states])
                   .values_list("normalized_name_brand_size", "id"))
        created = {}
        new_skus = []
        for group, state in zip(groups, states):
            state.id = ids[state.nnbs]
            created[id(group)] = state.id
            self._index_product(state, brand_nn=self.brands.normalized_name_of(state.brand_id))
            new_skus += self._claim_skus(group, state.id, claimed)
        self._link_skus(new_skus)
        self.ctx.result.products_created += len(states)
        return created

    def _index_product(self, state: ProductState, brand_nn: str | None) -> None:
        writer = self.ctx.writer
        writer.put_product(state.id, state.nnbs, brand_nn)
        writer.put("nnbs", state.nnbs, state.id)
        for variation in state.variations:
            writer.put("nnbs", variation, state.id)
        if state.barcode:
            writer.put("barcode", state.barcode, state.id)

    def _claim_skus(self, lines, product_id, claimed) -> list[tuple[int, str, int]]:
        new = []
        for line in lines:
            key = (self.company_id, line.sku)
            if line.sku and key not in claimed["sku"]:
                claimed["sku"].add(key)
                new.append((self.company_id, line.sku, product_id))
        return new

    def _link_skus(self, skus: list[tuple[int, str, int]]) -> None:
        if not skus:
            return
        insert_rows(SKU, ["company", "sku", "product"], skus)
        for company_id, sku, product_id in skus:
            self.ctx.writer.put("sku", (company_id, sku), product_id)
        self.ctx.result.skus_linked += len(skus)

    # ----------------------------------------------------------------------------------- enrich

    def _enrich(self, matched, fetched: Fetched, brand_ids, claimed, hits) -> None:
        changed: dict[int, ProductState] = {}
        brand_of_changed: dict[int, str] = {}
        brand_variations: dict[int, set[str]] = {}
        new_skus = []
        for line, pid, kind in matched:
            state = fetched.states[pid]
            fields = enrich(
                state, line, self.company,
                barcode_free=bool(line.barcode) and line.barcode not in claimed["barcode"],
                nnbs_free=line.nnbs not in claimed["nnbs"],
                brand_id=brand_ids.get(line.normalized_brand),
            )
            if "barcode" in fields:
                claimed["barcode"].add(state.barcode)
                self.ctx.writer.put("barcode", state.barcode, pid)
            if "normalized_name_brand_size_variations" in fields:
                claimed["nnbs"].add(line.nnbs)
                self.ctx.writer.put("nnbs", line.nnbs, pid)
            if "brand" in fields:
                brand_of_changed[pid] = self.brands.normalized_name_of(state.brand_id)
            if fields:
                changed[pid] = state
            if brand_variation_candidate(kind, line.normalized_brand, fetched.brand_names.get(pid)):
                brand_variations.setdefault(state.brand_id, set()).add(line.normalized_brand)
            new_skus += self._claim_skus([line], pid, claimed)
        self._save_enriched(changed)
        for pid, brand_nn in brand_of_changed.items():
            self.ctx.writer.put_product(pid, changed[pid].nnbs, brand_nn)
        self._link_skus(new_skus)
        self.brands.add_variations(brand_variations)

    def _save_enriched(self, changed: dict[int, ProductState]) -> None:
        if not changed:
            return
        products = [
            Product(id=s.id, barcode=s.barcode, normalized_name_brand_size_variations=s.variations, sizes=s.sizes,
                    url=s.url, image_url=s.image_url, brand_id=s.brand_id,
                    brand_name_company_pairs=s.brand_name_company_pairs, updated_at=self.ctx.now)
            for s in changed.values()
        ]
        update_rows(Product, products, ENRICHED_FIELDS)
        self.ctx.result.products_updated += len(products)

