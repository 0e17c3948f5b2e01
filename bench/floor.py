"""The read-side floor: what no update of the same files can go below, as a whole process.

    python -m bench.floor INDEX_DIR FILE.jsonl...

Per line: parse it with orjson, take two digests the way the update takes its line digest
(``diskcache_tier.seen.line_digest``: blake2b of the serialized values), one of the price part and one of
the product part (the fields of ``update.lines.READ_FIELDS``, what the update's skip compares), and make 3 LMDB gets
against the project's index: the NNBS key, the (company, SKU) key and the product's slim record. It writes
nothing. Every design of ``bench.unchanged_day`` is reported as a ratio to this process's CPU time on the
same files in the same run. Prints the number of lines whose NNBS the index knew.

It imports no Django (``update.lines`` would, through the models): the floor's process costs what its
reading costs, so its fields are spelled here, and a test checks they are the update's.
"""
from __future__ import annotations

import sys
from pathlib import Path

import orjson

# The fields of a line's price, as the scrapers print them (domain.md section 2).
PRICE_PART = ("price_current", "price_was", "unit_price", "unit_of_measure", "per_unit_price_string",
              "is_on_special")
# update.lines.READ_FIELDS: what the update's line digest is taken of.
READ_FIELDS = ("normalized_name_brand_size", "name", "price_current", "price_was", "sku", "barcode", "brand",
               "normalized_brand", "size", "sizes", "url", "image_url", "aldi_image_url", "category_path",
               "unit_price", "unit_of_measure", "per_unit_price_string", "is_on_special")


def read_floor(index: Path, files: list[Path]) -> int:
    """Read ``files`` against the index at ``index``; return how many lines' NNBS it knew."""
    import lmdb

    from diskcache_tier.keying import nnbs_key
    from diskcache_tier.keys import id_bytes, sku_key, text_key
    from diskcache_tier.seen import line_digest

    env = lmdb.open(str(index), readonly=True, max_dbs=16, lock=False)
    nnbs_db, sku_db, products_db = (env.open_db(name) for name in (b"nnbs", b"sku", b"products"))
    found = 0
    try:
        with env.begin(buffers=True) as txn:
            for path in files:
                with open(path, "rb") as handle:
                    for raw in handle:
                        product = orjson.loads(raw)["product"]
                        line_digest(orjson.dumps([product.get(name) for name in PRICE_PART]))
                        line_digest(orjson.dumps([product.get(name) for name in READ_FIELDS]))
                        pid = txn.get(text_key(nnbs_key(product["normalized_name_brand_size"])), db=nnbs_db)
                        # The company's id is not in the line: 1 is the first company's, a real get either way.
                        txn.get(sku_key(1, str(product.get("sku") or "")), db=sku_db)
                        found += pid is not None
                        txn.get(pid if pid is not None else id_bytes(0), db=products_db)
    finally:
        env.close()
    return found


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print("usage: python -m bench.floor INDEX_DIR FILE.jsonl...", file=sys.stderr)
        return 2
    print(read_floor(Path(args[0]), [Path(a) for a in args[1:]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
