"""The current price of each product in the file's store: decided per (product, store), never store-wide.

``decide`` holds the rule on plain data; ``PriceManager`` gathers the prices of a few chunks (each product
once, in stream order), fetches their existing rows in one query, applies the rule and writes in bulk,
and at the end of a complete file deletes the store's prices of products the file no longer lists.
What the store reads is its own rows, else its price list's entries (docs/price-lists.md): a decided price
equal to the list's entry drops the store's own row, any other is written as the store's own, and the
products it wrote are then placed again among the list's stores (prices/sharing.py), which changes no
store's reading.
Each change it writes (a created price, a changed one, a deleted one) is also a row of price history
(prices/history.py), inserted in the same batch: a batch that changes nothing sends no history statement.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError
from django.db.models import BooleanField, Count, Exists, F, OuterRef, Q, Sum, Value

from catalog.models import Price, PriceList, Store
from diskcache_tier.seen import unit_entry
from prices import history, sharing
from prices.charged import charged_in_window
from prices.models import PriceHistory
from prices.reference import is_real_reduction, reference_price
from prices.sharing import content_key

from ..bulk import Gathered, insert_rows, max_query_params, update_rows
from ..context import FileContext
from ..lines import ScrapedLine, price_hash
from ..unchanged import key_owners

PRICE_FIELDS = ["scraped_date", "price", "was_price", "save_amount", "unit_price", "unit_of_measure",
                "per_unit_price_string", "is_on_special", "price_hash", "reference_price", "is_real_reduction"]
# What ``decide`` reads of a stored price; and, for a special, since when it held and its reference.
STORED_FIELDS = ["price", "was_price", "save_amount", "unit_price", "unit_of_measure",
                 "per_unit_price_string", "is_on_special"]
SPECIAL_FIELDS = ["scraped_date", "reference_price"]
# Rows per keyset batch when looking for prices to delete, and per DELETE statement.
DELETE_BATCH = 2_000
# Prices gathered before they are read and written: a price costs the same three statements (read the
# chunk's rows, insert, update) for 2,000 products as for 500, so prices go four chunks at a time. What
# waits is a few fields per product (``Quote``), not the lines. Measured at 10k products x 5 stores, day
# 2: 29% fewer statements than 500 for 3.4 MB more peak anonymous memory.
PRICE_BATCH = 2_000


@dataclass(slots=True)
class Quote:
    """What ``decide`` reads of a line: its price fields, kept until the batch is written."""
    price: Decimal
    was_price: Decimal | None
    unit_price: Decimal | None
    unit_of_measure: str | None
    per_unit_price_string: str | None
    is_on_special: bool
    price_hash: str
    # (digest, barcode, sku, nnbs) of each line of the unit the index may remember as its store's
    # (update/unchanged.py).
    origin: tuple | None = None

    @classmethod
    def of(cls, line: ScrapedLine, origin: tuple | None = None) -> "Quote":
        return cls(line.price, line.was_price, line.unit_price, line.unit_of_measure, line.per_unit_price_string,
                   line.is_on_special, line.price_hash, origin)


@dataclass
class Reading:
    """The store's own rows and its list's entries for a batch of products (named rows, by product id)."""
    own: dict
    listed: dict

    def read(self, pid: int):
        """What the store reads of the product: its own row, unless a gap; else the list's entry; or None."""
        mine = self.own.get(pid)
        if mine is not None:
            return mine if mine.price is not None else None
        return self.listed.get(pid)


@dataclass
class PriceChange:
    action: str  # "create", "update" or "unchanged"
    fields: dict


def current_hash(price) -> str:
    """Hash of a stored price from its fields, so an edit made outside the update is noticed too."""
    return price_hash(price.price, price.unit_price, price.unit_of_measure, price.per_unit_price_string,
                      price.is_on_special)


def decide(existing, line: ScrapedLine, scraped: date) -> PriceChange:
    """What the line does to the product's price in this store.

    was_price shows a saving, decided on every scrape: the retailer's price_was when it is above the
    price; else the previous price when the price fell; else none. So a rise never shows a saving, a
    special that ended stops showing one, and a fall shows until the next scrape. A row whose fields,
    was_price included, are what the rule gives is unchanged, and nothing is written, not even the date.
    ``existing`` is the stored row (a Price, or a row with its STORED_FIELDS), or None.
    """
    previous = None if existing is None else Decimal(existing.price)
    was_price = shown_was_price(previous, line)
    fields = {
        "scraped_date": scraped,
        "price": line.price,
        "was_price": was_price,
        "save_amount": saving(was_price, line.price),
        "unit_price": line.unit_price,
        "unit_of_measure": line.unit_of_measure,
        "per_unit_price_string": line.per_unit_price_string,
        "is_on_special": line.is_on_special,
        "price_hash": line.price_hash,
    }
    if existing is None:
        return PriceChange("create", fields)
    if current_hash(existing) == line.price_hash and _same_money(existing.was_price, was_price) and \
            _same_money(existing.save_amount, fields["save_amount"]):
        return PriceChange("unchanged", {})
    return PriceChange("update", fields)


def shown_was_price(previous: Decimal | None, line) -> Decimal | None:
    """The retailer's price_was when it is above the price (``ScrapedLine.was_price`` is only ever that);
    else the ``previous`` price when the price fell from it; else none."""
    return line.was_price or (previous if previous is not None and previous > line.price else None)


def saving(was_price: Decimal | None, price: Decimal) -> Decimal | None:
    """was_price - price; never negative (a was_price is only ever above the price, but rows may be old)."""
    if was_price is None or was_price <= price:
        return None
    return was_price - price


def _same_money(stored, decided) -> bool:
    return (None if stored is None else Decimal(stored)) == decided


def _no_origin(line) -> None:
    return None


class ClaimTally:
    """The products a file priced, per bucket of ids (the id's low bits): how many, the sum of their ids, and
    how many of them a seen line priced. The buckets spread a store's products evenly, whatever their ids."""

    BUCKETS = 64  # a power of two: the bucket is ``id & (BUCKETS - 1)``, in Python and in SQL alike

    def __init__(self):
        self.products = [0] * self.BUCKETS
        self.ids = [0] * self.BUCKETS
        self.seen = [0] * self.BUCKETS

    def add(self, product_id: int, seen: bool) -> None:
        bucket = product_id & (self.BUCKETS - 1)
        self.products[bucket] += 1
        self.ids[bucket] += product_id
        self.seen[bucket] += seen

    def claimed(self, bucket: int) -> tuple[int, int]:
        return self.products[bucket], self.ids[bucket]

    def seen_outside(self, buckets: list[int]) -> int:
        return sum(self.seen) - sum(self.seen[bucket] for bucket in buckets)


def _bucket():
    return F("product_id").bitand(ClaimTally.BUCKETS - 1)


class PriceManager:
    def __init__(self, ctx: FileContext, origin_of=_no_origin):
        self.ctx = ctx
        self.store = ctx.store
        # Which lines the index may remember as the store's (``UnchangedLines.origin_of``).
        self.origin_of = origin_of
        # The batch's product ids go in one IN (...), beside the store's id.
        self.pending = Gathered(min(PRICE_BATCH, max_query_params() - 1), self._write)
        self.seen_claims = 0  # products priced by a seen line: each must still have its row here
        # The products this file priced, per bucket of ids, to compare with the store's reading at the end
        # and walk only the buckets where they differ (``_differing_buckets``).
        self.tally = ClaimTally()
        self.list_stores = None  # the ids of the stores of the store's list, read once per file

    def apply(self, pairs: list[tuple[ScrapedLine | None, int]]) -> None:
        """Price each product once per file: the first line that resolved to it wins.

        A line None is a seen line (update/unchanged.py): its store's price of the product is the one it
        wrote last time, so it only claims the product, in stream order with the others.
        """
        scratch = self.ctx.scratch
        firsts, unchanged = [], 0
        with scratch.begin() as txn:
            for line, pid in pairs:
                if not scratch.claim_product(txn, pid, seen=line is None):
                    continue
                self.tally.add(pid, line is None)
                if line is None:
                    unchanged += 1
                else:
                    firsts.append((Quote.of(line, self.origin_of(line)), pid))
        self.ctx.result.prices_unchanged += unchanged
        self.seen_claims += unchanged
        self.pending.add(firsts)

    def finish(self) -> None:
        """Write the prices still gathered: after the file's last chunk, before ``delete_absent``."""
        self.pending.flush()

    def _write(self, firsts: list[tuple[Quote, int]]) -> None:
        if not firsts:
            return
        reading = self._reading([pid for _, pid in firsts])
        day = self.ctx.meta.scraped_date
        decided = [(line, pid, reading.read(pid), decide(reading.read(pid), line, day)) for line, pid in firsts]
        self._judge_specials(decided, day)
        to_create, to_update, to_drop, remembered, changes, own = [], [], [], [], [], []
        created = updated = 0
        for line, pid, stored, change in decided:
            if change.action != "unchanged":
                created += change.action == "create"
                updated += change.action == "update"
                mine = reading.own.get(pid)
                listed = reading.listed.get(pid)
                if listed is not None and content_key(listed) == content_key(change.fields):
                    if mine is not None:  # the list says it already: the store reads the list's
                        to_drop.append(mine.id)
                elif mine is not None:
                    to_update.append(Price(id=mine.id, product_id=pid, store_id=self.store.id, **change.fields))
                    own.append(pid)
                else:
                    to_create.append((pid, self.store.id, *(change.fields[name] for name in PRICE_FIELDS)))
                    own.append(pid)
            if change.action == "create" or (change.action == "update"
                                             and history.changed(stored, change.fields)):
                changes.append(history.change_row(self.store.id, pid, day, change.fields))
            was_price = stored.was_price if change.action == "unchanged" else change.fields["was_price"]
            remembered.append((pid, line.origin if _same_money(was_price, line.was_price) else None))
        if to_drop:
            Price.objects.filter(id__in=to_drop).delete()
        insert_rows(Price, ["product", "store", *PRICE_FIELDS], to_create)
        update_rows(Price, to_update, PRICE_FIELDS)
        self.ctx.result.history_rows += insert_rows(PriceHistory, history.ROW_FIELDS, changes)
        self._share(own)
        self._remember(remembered)
        result = self.ctx.result
        result.prices_created += created
        result.prices_updated += updated
        result.prices_unchanged += len(firsts) - created - updated

    def _reading(self, product_ids: list[int]) -> "Reading":
        """The store's rows and its list's entries for the products, in one query."""
        owners = Q(store_id=self.store.id)
        if self.store.price_list_id is not None:
            owners |= Q(price_list_id=self.store.price_list_id)
        rows = Price.objects.filter(owners, product_id__in=product_ids).values_list(
            "id", "product_id", "store_id", *STORED_FIELDS, *SPECIAL_FIELDS, "price_hash", "is_real_reduction",
            named=True)
        reading = Reading({}, {})
        for row in rows:
            (reading.own if row.store_id is not None else reading.listed)[row.product_id] = row
        return reading

    def _share(self, product_ids: list[int]) -> None:
        """Place again among the list's stores the products the store now has rows of its own for."""
        # A list of one store shares nothing: its rows stay its own (placement's tie), so nothing is read.
        if product_ids and self.store.price_list_id is not None and len(self._list_stores()) > 1:
            sharing.share_products(Price, self.store.price_list_id, self._list_stores(), product_ids)

    def _list_stores(self) -> list[int]:
        if self.list_stores is None:
            self.list_stores = list(Store.objects.filter(price_list_id=self.store.price_list_id)
                                    .order_by("id").values_list("id", flat=True))
        return self.list_stores

    def _judge_specials(self, decided: list[tuple], day: date) -> None:
        """Give each price written its reference price and verdict (prices/reference.py).

        A special that begins today is judged against the store's history, read once for the batch; one
        that goes on keeps the reference of the day it began, its verdict taken again at today's price.
        """
        window = settings.REFERENCE_WINDOW_DAYS
        beginning = [(pid, stored) for _, pid, stored, change in decided
                     if change.action != "unchanged" and change.fields["is_on_special"]
                     and not (stored is not None and stored.is_on_special)]
        charged = charged_in_window(self.store.id, [pid for pid, _ in beginning], day, window)
        references = {}
        for pid, stored in beginning:
            prices = charged.get(pid, {})
            if stored is not None:  # the current price, in force since its date (history may predate it)
                prices[stored.scraped_date] = stored.price
            references[pid] = reference_price(prices, day, window)
        for _, pid, stored, change in decided:
            fields = change.fields
            if change.action == "unchanged":
                continue
            if not fields["is_on_special"]:
                reference = None
            else:
                reference = references[pid] if pid in references else stored.reference_price
            fields["reference_price"] = reference
            fields["is_real_reduction"] = is_real_reduction(fields["price"], reference)

    def _remember(self, priced: list[tuple[int, tuple | None]]) -> None:
        """What the index remembers of each price just decided: the line that wrote it, if applying that
        line again would change nothing (a was-price from a price fall would be cleared: not that one)."""
        index, writer = self.ctx.index, self.ctx.writer
        if not index.remembers_lines:
            return
        origins = [(pid, origin) for pid, origin in priced if origin is not None]
        owners = iter(key_owners(index, self.store.company_id,
                                 [line[1:] for _, origin in origins for line in origin]))
        for pid, origin in origins:
            entry = unit_entry([line[0] for line in origin], [next(owners) for _ in origin])
            writer.put_seen(self.store.id, pid, entry)
        for pid, origin in priced:
            if origin is None:
                writer.delete_seen(self.store.id, pid)

    def delete_absent(self) -> None:
        """Delete the store's prices of products this complete file does not list.

        A store's first file joins its list first (docs/price-lists.md): the list's entries it does not
        carry become its gaps here, and its own rows are then shared where they can be.

        The same walk over the store's reading checks the seen lines against the database: each product a
        seen line priced must still have its row. One that has not (a product deleted behind a lost change
        log) fails the file's first attempt, and the repair path writes it again trusting no line. Most
        files list every product their store reads, and the others lack a few: one aggregate, per bucket of
        product ids, says which buckets have nothing absent, for the seen lines too (``_differing_buckets``),
        and only the others are walked.
        """
        joined = self._join_list()
        self.ctx.writer.share_with(self.store.id, self.store.price_list_id)  # tier 1 shares as the list does
        if joined:
            seen_found = self._walk(None)
            self._share_own()
        else:
            differing = self._differing_buckets()
            seen_found = self.tally.seen_outside(differing) + (self._walk(differing) if differing else 0)
        if seen_found != self.seen_claims:
            raise IntegrityError(f"the index remembers {self.seen_claims - seen_found} prices of store "
                                 f"{self.store.id} that the database does not have")

    def _differing_buckets(self) -> list[int]:
        """The buckets of product ids where the store's reading is not exactly what this file priced, by one
        aggregate.

        Each product a line priced is in the reading (this transaction wrote it, or found it unchanged), and
        one a seen line priced is as the index says: then a bucket of the reading with as many products as
        the file priced in it has no absent product. A seen line's row gone behind a lost log is one product
        fewer, which an absent product would make up for in the count: not in the sum of the ids as well,
        unless two or more of each cancel out exactly in one bucket. A gap is no price the store reads, and
        ``for_store`` does not count it. Not asked for a store that just joined its list: it reads the
        list's entries it does not carry until the walk makes them its gaps.
        """
        products, ids = [0] * ClaimTally.BUCKETS, [0] * ClaimTally.BUCKETS
        for part in Price.objects.for_store_parts(self.store):  # apart: see catalog.models.read_by_parts
            for row in (part.annotate(bucket=_bucket()).order_by().values("bucket")
                        .annotate(products=Count("*"), ids=Sum("product_id"))):
                products[row["bucket"]] += row["products"]
                ids[row["bucket"]] += int(row["ids"] or 0)
        return [bucket for bucket in range(ClaimTally.BUCKETS)
                if (products[bucket], ids[bucket]) != self.tally.claimed(bucket)]

    def _walk(self, buckets: list[int] | None) -> int:
        """Walk the store's reading (in ``buckets`` of product ids, or all of it), delisting the products
        no line of this file priced; return how many of the products a seen line priced it found."""
        scratch = self.ctx.scratch
        # A file's few absent products, wherever they fall in the walk, are delisted together; no more than
        # a batch wait (or what one statement carries beside the store's and its list's ids).
        absent = Gathered(min(DELETE_BATCH, max_query_params() - 10), self._delete)
        seen_found = 0
        for part in Price.objects.for_store_parts(self.store):  # apart: see catalog.models.read_by_parts
            if buckets is not None:
                part = part.annotate(bucket=_bucket()).filter(bucket__in=buckets)
            last = 0
            while True:
                # Keyset on product id walks the (store, product) or the (list, product) index. The ids alone:
                # what delisting needs of a row is read for the absent products only (``_delete``).
                ids = list(part.filter(product_id__gt=last).order_by("product_id")
                           .values_list("product_id", flat=True)[:DELETE_BATCH])
                with scratch.env.begin() as txn:
                    claims = scratch.price_claims(txn, ids)
                seen_found += sum(1 for claim in claims if claim)
                absent.add([pid for pid, claim in zip(ids, claims) if claim is None])
                if len(ids) < DELETE_BATCH:  # the part's last batch: no statement to learn nothing follows
                    break
                last = ids[-1]
        absent.flush()
        return seen_found

    def _delete(self, product_ids: list[int]) -> None:
        """Delist products the store reads and the file did not price, and end their history."""
        self._delist(list(Price.objects.for_store(self.store).filter(product_id__in=product_ids).annotate(
            listed=self._listed()).values_list("id", "product_id", "store_id", "listed")))
        self.ctx.result.prices_deleted += len(product_ids)
        for pid in product_ids:
            self.ctx.writer.delete_seen(self.store.id, pid)
        day = self.ctx.meta.scraped_date
        self.ctx.result.history_rows += insert_rows(
            PriceHistory, history.ROW_FIELDS, [history.end_row(self.store.id, pid, day) for pid in product_ids])

    def _join_list(self) -> bool:
        """Give a store its list (its company's, of its state) at the end of its first file: until then it
        read its own rows only, so that the list's entries never stood for its previous prices."""
        if self.store.price_list_id is not None:
            return False
        price_list, _ = PriceList.objects.get_or_create(company_id=self.store.company_id, state=self.store.state)
        self.store.price_list = price_list
        self.store.save(update_fields=["price_list"])
        self.list_stores = None
        return True

    def _listed(self):
        """Whether the store's list holds the product of a row: an own row of such a product becomes a gap
        when the product is delisted, any other own row is deleted. Asked in the walk's own query."""
        if self.store.price_list_id is None:
            return Value(False, output_field=BooleanField())
        return Exists(Price.objects.filter(price_list_id=self.store.price_list_id, product_id=OuterRef("product_id")))

    def _delist(self, absent: list[tuple[int, int, int | None, bool]]) -> None:
        """The store no longer carries the products: its own rows go, or become gaps while its list has
        the product; a product it read from the list gets a gap. Then they are placed again."""
        own = [(price_id, listed) for price_id, _, store_id, listed in absent if store_id is not None]
        Price.objects.filter(id__in=[price_id for price_id, listed in own if not listed]).delete()
        if self.store.price_list_id is None:
            return
        day = self.ctx.meta.scraped_date
        Price.objects.filter(id__in=[price_id for price_id, listed in own if listed]).update(
            scraped_date=day, **sharing.GAP)
        gaps = [(pid, self.store.id, day, *(sharing.GAP[name] for name in sharing.CONTENT_FIELDS))
                for _, pid, store_id, _ in absent if store_id is None]
        insert_rows(Price, ["product", "store", "scraped_date", *sharing.CONTENT_FIELDS], gaps)
        self._share([pid for _, pid, _, _ in absent])

    def _share_own(self) -> None:
        """Share what a store that just joined its list has in common with the list's other stores."""
        last = 0
        while True:
            batch = list(Price.objects.filter(store=self.store, product_id__gt=last).order_by("product_id")
                         .values_list("product_id", flat=True)[:DELETE_BATCH])
            if not batch:
                return
            last = batch[-1]
            self._share(batch)
