"""Design 4: no global cache at all, every key asked of the database, in batches, chunk by chunk.

What a Django user might write first. The product manager already confirms every index miss against the
database's unique columns in one query per key kind and chunk, so an index that knows nothing turns the
update into exactly that design: memory independent of the catalog, and three extra queries per chunk.
Every key found that way is "repaired" into this index, so the report's ``index_repairs`` counts the
keys the database answered, not faults.
"""
from __future__ import annotations

from diskcache_tier.lookup import IndexWriter, ProductIndex


class NoCacheIndex(ProductIndex):
    backend = "nocache"

    def get_many(self, kind, keys):
        return {}

    def slim_many(self, product_ids):
        return {}

    def writer(self):
        return NoCacheWriter()

    def meta(self):
        return {}

    def counts(self):
        return {"products": 0, "barcode": 0, "nnbs": 0, "sku": 0}


class NoCacheWriter(IndexWriter):
    def put_product(self, product_id, slim):
        pass

    def delete_product(self, product_id):
        pass

    def put(self, kind, key, product_id):
        pass

    def delete(self, kind, key):
        pass

    def set_meta(self, name, value):
        pass

    def commit(self):
        pass

    def abort(self):
        pass


def open_no_cache(options) -> tuple[NoCacheIndex, None]:
    return NoCacheIndex(), None
