"""Products for one chunk of lines: resolve, create, enrich, link SKUs.

Tier 1 (the index) resolves every key, and its slim record says whether a line would change the
product it names. Tier 2 fetches, in one id batch per chunk, only the products a line will change. The
index is trusted because it is known to be current: the update's writer lock keeps other updates out,
and before each chunk ``FileFreshness`` checks the change log for any other writer and catches up
first. The database still wins: what it refuses anyway (a unique conflict, a product gone) fails the
file's first attempt, and the orchestrator runs the file again with ``verify=True``, the repair path
that checks every hit and miss against the database and repairs the index, never a duplicate.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from catalog.models import SKU, Product
from diskcache_tier.catchup import variation_carriers
from diskcache_tier.freshness import FileFreshness
from diskcache_tier.keying import ProductRow, companies_of, nnbs_key, product_entries, usable_variations

from ..bulk import insert_rows, update_rows
from ..context import FileContext
from ..lines import ScrapedLine
from ..matching import (
    ProductState,
    brand_variation_candidate,
    enrich,
    line_keys,
    new_product_state,
    plan_chunk,
)
from .brand import BrandManager, lines_taking_a_brand

ENRICHED_FIELDS = ["barcode", "normalized_name_brand_size_variations", "sizes", "url", "image_url", "brand",
                   "brand_name_company_pairs", "updated_at"]
NEW_PRODUCT_FIELDS = ["name", "brand", "barcode", "normalized_name_brand_size", "normalized_name_brand_size_variations",
                      "size", "sizes", "url", "image_url", "brand_name_company_pairs", "created_at", "updated_at",
                      "canonical_nnbs"]
_STATE_FIELDS = ["id", "normalized_name_brand_size", "barcode", "normalized_name_brand_size_variations", "sizes",
                 "url", "image_url", "brand_id", "brand_name_company_pairs", "brand__normalized_name"]

# On PostgreSQL another connection may commit during a file. Lines are matched (``process``) on an index
# caught up with it just before; the judging of chunks as seen or changed catches up on every tenth chunk,
# so that a file of unchanged lines pays a statement per ten chunks, not one per chunk.
FRESHNESS_EVERY_CHUNKS = 10


@dataclass
class Fetched:
    """Products fetched whole (tier 2), as the database has them now."""
    states: dict[int, ProductState] = field(default_factory=dict)
    brand_names: dict[int, str | None] = field(default_factory=dict)


def index_row(state: ProductState, brand_name: str | None) -> ProductRow:
    """What the index keeps of a product the update holds whole."""
    return ProductRow(id=state.id, nnbs=state.nnbs, variations=state.variations, barcode=state.barcode,
                      brand_id=state.brand_id, brand_name=brand_name, has_url=bool(state.url),
                      has_image_url=bool(state.image_url), sizes=state.sizes,
                      brand_companies=companies_of(state.brand_name_company_pairs))


def nnbs_free_for(claimed, line: ScrapedLine, product_id: int | None) -> bool:
    """May the line's NNBS spelling become a variation of this product? Its key (canonical) must belong
    to no other product; a new spelling of the product's own key is recorded as scraped."""
    return claimed["nnbs"].get(nnbs_key(line.nnbs), product_id) == product_id


def would_change(slim: dict | None, line: ScrapedLine, company: str, claimed, brand_ids, product_id: int) -> bool:
    """Could ``enrich`` change the product with this slim record? Never False when it could."""
    if slim is None or "bc" not in slim:  # no record, or one that says less (the benchmark's designs)
        return True
    return bool(
        (line.barcode and not slim["bc"] and line.barcode not in claimed["barcode"])
        or (line.url and not slim["u"])
        or (line.image_url and not slim["i"])
        or any(size not in slim["s"] for size in line.sizes)
        or (line.nnbs != slim["n"] and line.nnbs not in slim["v"] and nnbs_free_for(claimed, line, product_id))
        or (line.brand and company not in slim["c"])
        or (slim["bi"] is None and brand_ids.get(line.normalized_brand) is not None)
    )


class ProductManager:
    def __init__(self, ctx: FileContext, brands: BrandManager, *, verify: bool = False):
        self.ctx = ctx
        self.brands = brands
        self.company_id = ctx.store.company_id
        self.company = ctx.store.company.name
        # The repair path: check every index hit and miss against the database, as if the index were stale.
        self.verify = verify
        self.freshness = FileFreshness(ctx.index, ctx.writer)
        self._checked = False  # the coming chunk's freshness is checked (``check_freshness``)
        self._chunks_judged = 0

    # ------------------------------------------------------------------------------------- chunk

    def check_freshness(self) -> None:
        """Before a chunk is judged seen or changed: on the file's first chunk and every tenth, the index
        catches up with any other writer first.

        An edit another connection commits between two checks meets the chunks judged before the next one
        as if it had come after the file: a line it would make do something may be taken as seen this once,
        and the catch-up then forgets what the index remembered of the product, so the next scrape writes
        it. Lines that do go to the managers are matched on an index caught up just before (``process``).
        """
        self._checked = self._chunks_judged % FRESHNESS_EVERY_CHUNKS == 0
        self._chunks_judged += 1
        if self._checked:
            self.freshness.before_chunk()

    def process(self, lines: list[ScrapedLine]) -> list[tuple[ScrapedLine, int]]:
        """Bring the chunk's products up to date; return each line with its product, in the chunk's order."""
        if not self._checked:
            self.freshness.before_chunk()
        self._checked = False
        if not lines:
            return []  # every line of the chunk was seen: nothing to ask or write
        writes_before = self._logged_writes()
        keys = self._keys_by_kind(lines)
        hits = {kind: self.ctx.index.get_many(kind, wanted) for kind, wanted in keys.items()}
        fetched = Fetched()
        if self.verify:
            self._fetch(set().union(*(h.values() for h in hits.values())), fetched)
            self._drop_stale_hits(hits, fetched)
            self._confirm_misses(keys, hits, fetched)

        plan = plan_chunk(lines, self.company_id, hits)
        new_groups = _merge_same_nnbs(plan.new_groups)
        slims = self._slims_of_matched(plan.matched, fetched)
        brandless = {pid for pid, state in fetched.states.items() if state.brand_id is None}
        brandless |= {pid for pid, slim in slims.items() if slim["bi"] is None}
        brand_ids = self.brands.ids_for(lines_taking_a_brand(new_groups, plan.matched, brandless))
        claimed = {"barcode": set(hits["barcode"]), "sku": set(hits["sku"]),
                   "nnbs": {nnbs_key(k): pid for k, pid in hits["nnbs"].items()}}  # canonical key -> owner
        created, new_skus = self._create(new_groups, brand_ids, claimed)
        new_skus += self._enrich(plan.matched, fetched, slims, brand_ids, claimed)
        self._link_skus(new_skus)  # the chunk's new SKUs, of new and matched products alike, in one INSERT

        pairs = [(line, pid) for line, pid, _ in plan.matched]
        pairs += [(line, created[id(group)]) for group in new_groups for line in group]
        # The chunk's order is the stream's: which line prices a product must not depend on chunk size.
        position = {id(line): n for n, line in enumerate(lines)}
        pairs.sort(key=lambda pair: position[id(pair[0])])
        self.freshness.after_chunk(wrote=self._logged_writes() != writes_before)
        return pairs

    def finish(self) -> None:
        """After the file's last chunk, before its transaction commits."""
        self.freshness.before_commit()

    def _logged_writes(self) -> int:
        """Writes of this file that the change log's triggers saw (products and SKUs)."""
        result = self.ctx.result
        return result.products_created + result.products_updated + result.skus_linked

    def _keys_by_kind(self, lines):
        keys = {"barcode": set(), "sku": set(), "nnbs": set()}
        for line in lines:
            for kind, key in line_keys(line, self.company_id).items():
                keys[kind].add(key)
        return keys

    # ----------------------------------------------------------------------------- tier 2 fetch

    def _fetch(self, product_ids, fetched: Fetched) -> Fetched:
        wanted = [pid for pid in product_ids if pid not in fetched.states]
        if not wanted:
            return fetched
        # FOR UPDATE (PostgreSQL; SQLite's file transaction already excludes every other writer): a site
        # edit committed before this read is in it, and one after waits for the file's commit, so the
        # enriched fields written back from this read never overwrite a committed edit.
        rows = Product.objects.select_for_update(of=("self",)).filter(id__in=wanted).values_list(*_STATE_FIELDS)
        for pid, nnbs, barcode, variations, sizes, url, image_url, brand_id, pairs, brand_nn in rows:
            fetched.states[pid] = ProductState(
                id=pid, nnbs=nnbs, barcode=barcode, variations=list(usable_variations(variations, pid)),
                sizes=list(sizes or []),
                url=url, image_url=image_url, brand_id=brand_id, brand_name_company_pairs=list(pairs or []))
            fetched.brand_names[pid] = brand_nn
        self.ctx.result.products_fetched += len(wanted)
        return fetched

    # --------------------------------------------------------------------- repair path (verify)

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
                if not self._carries(fetched, pid, kind, key):
                    self._repair(kind, key, None)
                    del hits[kind][key]

    @staticmethod
    def _carries(fetched: Fetched, pid: int, kind: str, key) -> bool:
        state = fetched.states.get(pid)
        if state is None:
            return False
        entries = product_entries(index_row(state, None))
        if kind == "barcode":
            return entries.barcode == key
        return nnbs_key(key) in (entries.nnbs, *entries.variations)

    def _confirm_misses(self, keys, hits, fetched: Fetched) -> None:
        """Ask the database's unique columns about every key the index did not know."""
        found: dict[str, dict] = {"barcode": {}, "sku": {}, "nnbs": {}}
        missing = {kind: [k for k in keys[kind] if k not in hits[kind]] for kind in keys}
        if missing["barcode"]:
            found["barcode"] = dict(Product.objects.filter(barcode__in=missing["barcode"])
                                    .values_list("barcode", "id"))
        if missing["nnbs"]:
            # By the canonical column: a line spelling the NNBS with other spaces means the same product.
            spellings: dict[str, list[str]] = {}
            for spelling in missing["nnbs"]:
                spellings.setdefault(nnbs_key(spelling), []).append(spelling)
            rows = Product.objects.filter(canonical_nnbs__in=list(spellings)).values_list("canonical_nnbs", "id")
            found["nnbs"] = {spelling: pid for key, pid in rows for spelling in spellings[key]}
            # A product may carry the name as a variation only: it owns the key when no NNBS does.
            unowned = {key: names for key, names in spellings.items() if names[0] not in found["nnbs"]}
            if unowned:
                carriers = variation_carriers({s for key, names in unowned.items() for s in (key, *names)},
                                              exclude=set())
                for key, pid in carriers.items():
                    for spelling in unowned.get(key, ()):
                        found["nnbs"][spelling] = pid
        if missing["sku"]:
            rows = SKU.objects.filter(company_id=self.company_id, sku__in=[s for _, s in missing["sku"]])
            found["sku"] = {(self.company_id, sku): pid for sku, pid in rows.values_list("sku", "product_id")}
        for kind, mapping in found.items():
            for key, pid in mapping.items():
                hits[kind][key] = pid
                self._repair(kind, key, pid)
        found_ids = {pid for mapping in found.values() for pid in mapping.values()}
        self._fetch(found_ids, fetched)
        for pid in found_ids:
            state = fetched.states.get(pid)
            if state is not None:
                self.ctx.writer.write_product(index_row(state, fetched.brand_names.get(pid)))

    def _repair(self, kind, key, product_id) -> None:
        if product_id is None:
            self.ctx.writer.delete(kind, key)
        else:
            self.ctx.writer.put(kind, key, product_id)
        self.ctx.result.index_repairs += 1

    # ----------------------------------------------------------------------------------- create

    def _create(self, groups: list[list[ScrapedLine]], brand_ids, claimed):
        """Create one product per group; return the new product id by ``id(group)``, and the SKUs the
        groups claim, to be linked with the chunk's others."""
        if not groups:
            return {}, []

        def is_free(kind, key):
            return (nnbs_key(key) if kind == "nnbs" else key) not in claimed[kind]

        states, rows = [], []
        for group in groups:
            state = new_product_state(group, self.company, brand_ids, is_free)
            # The owner is not known before the insert; None still says "taken" to the next group.
            claimed["nnbs"].update((nnbs_key(n), None) for n in [state.nnbs, *state.variations])
            if state.barcode:
                claimed["barcode"].add(state.barcode)
            first = group[0]
            states.append(state)
            rows.append((first.name, state.brand_id, state.barcode, state.nnbs, state.variations, first.size,
                         state.sizes, state.url, state.image_url, state.brand_name_company_pairs,
                         self.ctx.now, self.ctx.now, nnbs_key(state.nnbs)))
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
            claimed["nnbs"].update((nnbs_key(n), state.id) for n in [state.nnbs, *state.variations])
            self.ctx.writer.write_product(index_row(state, self.brands.normalized_name_of(state.brand_id)))
            new_skus += self._claim_skus(group, state.id, claimed)
        self.ctx.result.products_created += len(states)
        return created, new_skus

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

    def _slims_of_matched(self, matched, fetched: Fetched) -> dict[int, dict]:
        """The slim records of the matched products not fetched yet; a product whose record is missing
        or says too little to decide on (the benchmark's designs) is fetched whole instead."""
        slims = self.ctx.index.slim_many({pid for _, pid, _ in matched if pid not in fetched.states})
        self._fetch({pid for _, pid, _ in matched if pid not in fetched.states
                     and "bc" not in (slims.get(pid) or {})}, fetched)
        return {pid: slim for pid, slim in slims.items() if pid not in fetched.states}

    def _enrich(self, matched, fetched: Fetched, slims, brand_ids, claimed) -> list[tuple[int, str, int]]:
        """Enrich the matched products; only those a line will change are fetched (tier 2). Return the
        SKUs the lines claim for their products."""
        changing = {pid for line, pid, _ in matched if pid not in fetched.states
                    and would_change(slims.get(pid), line, self.company, claimed, brand_ids, pid)}
        self._fetch(changing, fetched)
        changed: dict[int, ProductState] = {}
        changed_fields: dict[int, set[str]] = {}
        brand_variations: dict[int, set[str]] = {}
        new_skus = []
        for line, pid, kind in matched:
            state = fetched.states.get(pid)
            if state is not None:
                fields = enrich(
                    state, line, self.company,
                    barcode_free=bool(line.barcode) and line.barcode not in claimed["barcode"],
                    nnbs_free=nnbs_free_for(claimed, line, pid),
                    brand_id=brand_ids.get(line.normalized_brand),
                )
                if "barcode" in fields:
                    claimed["barcode"].add(state.barcode)
                if "normalized_name_brand_size_variations" in fields:
                    claimed["nnbs"][nnbs_key(line.nnbs)] = pid
                if fields:
                    changed[pid] = state
                    changed_fields.setdefault(pid, set()).update(fields)
                brand_id, brand_name = state.brand_id, fetched.brand_names.get(pid)
            else:
                slim = slims.get(pid) or {}
                brand_id, brand_name = slim.get("bi"), slim.get("b")
            if brand_id is not None and brand_variation_candidate(kind, line.normalized_brand, brand_name):
                brand_variations.setdefault(brand_id, set()).add(line.normalized_brand)
            new_skus += self._claim_skus([line], pid, claimed)
        self._save_enriched(changed, changed_fields)
        for pid, state in changed.items():
            brand_name = fetched.brand_names.get(pid)
            if state.brand_id is not None and brand_name is None:
                brand_name = self.brands.normalized_name_of(state.brand_id)
            self.ctx.writer.write_product(index_row(state, brand_name))
        self.brands.add_variations(brand_variations)
        return new_skus

    def _save_enriched(self, changed: dict[int, ProductState], changed_fields: dict[int, set[str]]) -> None:
        """One UPDATE a set of changed columns: a column written unchanged still costs its indexes (SQLite
        rewrites the entries of every index on a column it sets) and its JSON encoding."""
        if not changed:
            return
        by_columns: dict[tuple[str, ...], list[Product]] = {}
        for pid, s in changed.items():
            columns = tuple(name for name in ENRICHED_FIELDS if name in changed_fields[pid] or name == "updated_at")
            by_columns.setdefault(columns, []).append(
                Product(id=s.id, barcode=s.barcode, normalized_name_brand_size_variations=s.variations,
                        sizes=s.sizes, url=s.url, image_url=s.image_url, brand_id=s.brand_id,
                        brand_name_company_pairs=s.brand_name_company_pairs, updated_at=self.ctx.now))
        for columns, products in by_columns.items():
            update_rows(Product, products, list(columns))
        self.ctx.result.products_updated += len(changed)


def _merge_same_nnbs(groups: list[list[ScrapedLine]]) -> list[list[ScrapedLine]]:
    """New groups whose first lines spell one NNBS differently (spaces, NFC/NFD) are one product."""
    by_key: dict[str, list[ScrapedLine]] = {}
    merged = []
    for group in groups:
        key = nnbs_key(group[0].nnbs)
        if key in by_key:
            by_key[key].extend(group)
        else:
            by_key[key] = group
            merged.append(group)
    return merged
