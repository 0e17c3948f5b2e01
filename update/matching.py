"""Which product a scraped line means, and what it adds to that product: decided on plain data.

Nothing here reads a file, the database or the index. The product manager gathers the facts (index
hits already checked against the database, the products' current fields) and these functions decide.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from diskcache_tier.keys import canonical_nnbs

from .lines import LineWarning, ScrapedLine

# First hit wins, in this order: a barcode names one product anywhere, an SKU one product of one
# company, and an NNBS is a spelling that drifts between scraper generations.
KEY_ORDER = ("barcode", "sku", "nnbs")


def line_keys(line: ScrapedLine, company_id: int) -> dict:
    """The line's keys by kind, as the index spells them; kinds the line lacks are absent."""
    keys = {}
    if line.barcode:
        keys["barcode"] = line.barcode
    if line.sku:
        keys["sku"] = (company_id, line.sku)
    keys["nnbs"] = line.nnbs
    return keys


def resolve_line(line: ScrapedLine, company_id: int, hits: dict[str, dict]) -> tuple[int | None, str | None]:
    """The product the line's first matching key names, and that key's kind."""
    for kind, key in line_keys(line, company_id).items():
        product_id = hits[kind].get(key)
        if product_id is not None:
            return product_id, kind
    return None, None


@dataclass
class ProductFacts:
    """What checking an index hit needs to know of a product, as the database has it now."""
    id: int
    barcode: str | None
    nnbs: str
    variations: list = field(default_factory=list)


def carries(facts: ProductFacts | None, kind: str, key) -> bool:
    """Does the product still carry this key? SKUs are checked against the SKU table, not here."""
    if facts is None:
        return False
    if kind == "barcode":
        return facts.barcode == key
    if kind == "nnbs":
        return facts.nnbs == key or key in facts.variations
    raise ValueError(f"carries() does not check {kind} keys")


@dataclass
class ChunkPlan:
    matched: list[tuple[ScrapedLine, int, str | None]]  # (line, product id, kind of key that matched)
    new_groups: list[list[ScrapedLine]]                 # each group becomes one new product


def plan_chunk(lines: list[ScrapedLine], company_id: int, hits: dict[str, dict]) -> ChunkPlan:
    """Resolve every line, and group the rest so lines sharing a barcode or an SKU make one product.

    A line that shares a barcode or SKU with a resolved line joins that line's product: two lines of
    one file with the same SKU are one product, never two. The reader hands over every group whole
    (all the lines of the file that share a key), so grouping within the chunk is grouping over the
    file. ``matched`` keeps the chunk's order, the stream's, so what comes first does not depend on
    where chunks end.
    """
    resolved = [resolve_line(line, company_id, hits) for line in lines]
    groups = _groups_sharing_keys(lines)
    matched: list[tuple[int, tuple[ScrapedLine, int, str | None]]] = []
    new_groups: list[list[ScrapedLine]] = []
    for members in groups:
        owner = next((resolved[i][0] for i in members if resolved[i][0] is not None), None)
        for i in members:
            product_id, kind = resolved[i]
            if product_id is not None:
                matched.append((i, (lines[i], product_id, kind)))
            elif owner is not None:
                matched.append((i, (lines[i], owner, None)))
        if owner is None:
            new_groups.append([lines[i] for i in members])
    matched.sort(key=lambda item: item[0])
    return ChunkPlan(matched=[item for _, item in matched], new_groups=new_groups)


def group_keys(line: ScrapedLine) -> list[tuple[str, str]]:
    """The keys that make lines of one file one product: barcode, SKU, and NNBS as the index compares it.

    Lines never share a raw NNBS (the reader keeps the first line of each), but two spellings that
    differ only in spaces or Unicode form are one key, so they are one product.
    """
    keys = [("barcode", line.barcode)] if line.barcode else []
    if line.sku:
        keys.append(("sku", line.sku))
    keys.append(("nnbs", canonical_nnbs(line.nnbs)))
    return keys


def _groups_sharing_keys(lines: list[ScrapedLine]) -> list[list[int]]:
    """Indexes of lines, grouped by shared keys (transitively), groups in first-line order."""
    parent = list(range(len(lines)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[tuple[str, str], int] = {}
    for i, line in enumerate(lines):
        for key in group_keys(line):
            if key in first_with:
                parent[root(i)] = root(first_with[key])
            else:
                first_with[key] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(lines)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda members: members[0])


def shared_key_warnings(group: list[ScrapedLine], product_of: dict[int, int]) -> dict[int, list[LineWarning]]:
    """By line number: each line that shares a key with an earlier line of its group, and what became of
    the two. ``product_of`` maps ``id(line)`` to the product the line went to.

    They are one product, unless the catalog already had them as two (each line's own barcode or SKU
    named another product): then they stay two, and the warning says so.
    """
    first_with: dict[tuple[str, str], ScrapedLine] = {}
    warnings: dict[int, list[LineWarning]] = {}
    for line in group:
        for key in group_keys(line):
            earlier = first_with.setdefault(key, line)
            if earlier is line:
                continue
            kind = key[0]
            if kind == "nnbs":
                label = "normalized_name_brand_size but for spaces"
                said = (f"normalized_name_brand_size {line.nnbs!r} is line {earlier.line_no}'s "
                        f"{earlier.nnbs!r} but for spaces or Unicode form")
            else:
                label = kind
                said = f"{kind} {key[1]!r} also on line {earlier.line_no} under another NNBS"
            this, that = product_of.get(id(line)), product_of.get(id(earlier))
            if this == that:
                warning = LineWarning(f"same {label} as an earlier line under another NNBS (one product)",
                                      f"{said}: both are one product")
            else:
                warning = LineWarning(
                    f"same {label} as an earlier line under another NNBS, but two products in the catalog",
                    f"{said}, but their other keys already named two products ({that} and {this}): kept as two")
            warnings.setdefault(line.line_no, []).append(warning)
    return warnings


# ------------------------------------------------------------------------------------- enrichment


@dataclass
class ProductState:
    """The enrichable fields of a product, as plain data."""
    id: int | None
    nnbs: str
    barcode: str | None = None
    variations: list = field(default_factory=list)
    sizes: list = field(default_factory=list)
    url: str | None = None
    image_url: str | None = None
    brand_id: int | None = None
    brand_name_company_pairs: list = field(default_factory=list)


def enrich(state: ProductState, line: ScrapedLine, company: str, *, barcode_free: bool, nnbs_free: bool,
           brand_id: int | None) -> set[str]:
    """Apply what the line adds to the product; return the names of the fields that changed.

    Only empty fields are filled and lists only grow: a scrape never overwrites what the catalog
    already knows. ``barcode_free`` and ``nnbs_free`` say the key belongs to no other product.
    """
    changed = set()
    if not state.barcode and line.barcode and barcode_free:
        state.barcode = line.barcode
        changed.add("barcode")
    if not state.url and line.url:
        state.url = line.url
        changed.add("url")
    if not state.image_url and line.image_url:
        state.image_url = line.image_url
        changed.add("image_url")
    new_sizes = [s for s in line.sizes if s not in state.sizes]
    if new_sizes:
        state.sizes = [*state.sizes, *dict.fromkeys(new_sizes)]
        changed.add("sizes")
    if line.nnbs != state.nnbs and line.nnbs not in state.variations and nnbs_free:
        state.variations = [*state.variations, line.nnbs]
        changed.add("normalized_name_brand_size_variations")
    if line.brand and not any(pair[1] == company for pair in state.brand_name_company_pairs):
        state.brand_name_company_pairs = [*state.brand_name_company_pairs, [line.brand, company]]
        changed.add("brand_name_company_pairs")
    if state.brand_id is None and brand_id is not None:
        state.brand_id = brand_id
        changed.add("brand")
    return changed


def new_product_state(group: list[ScrapedLine], company: str, brand_ids: dict[str, int],
                      is_free) -> ProductState:
    """The state of a product made from a group of lines: the first line names it, the rest enrich it.

    ``is_free(kind, key)`` says whether a barcode or NNBS belongs to no product yet.
    """
    first = group[0]
    state = ProductState(id=None, nnbs=first.nnbs)
    for line in group:
        enrich(state, line, company,
               barcode_free=bool(line.barcode) and is_free("barcode", line.barcode),
               nnbs_free=is_free("nnbs", line.nnbs),
               brand_id=brand_ids.get(line.normalized_brand))
    return state


def brand_variation_candidate(kind: str | None, line_brand: str, product_brand: str | None) -> bool:
    """A different normalized brand on a barcode match may be another spelling of the same brand.

    Only a barcode says two lines are the same physical product; on an SKU or NNBS match a mis-parsed
    brand upstream would otherwise make two unrelated brands synonyms.
    """
    return kind == "barcode" and bool(line_brand) and bool(product_brand) and line_brand != product_brand
