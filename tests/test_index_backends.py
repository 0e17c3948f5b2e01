"""Both tier-1 backends: long keys, writes visible in their file, durable only on commit."""
import pytest

from diskcache_tier.keying import ProductRow, slim_record
from diskcache_tier.keys import MAX_PLAIN_KEY_BYTES, text_key
from diskcache_tier.lookup import LmdbIndex, MemoryIndex
from diskcache_tier.seen import SeenLine

CHINESE_NNBS = "舒适刀片广州有限公司" * 25  # 250 characters, 750 bytes: over LMDB's 511-byte key limit


@pytest.fixture(params=["lmdb", "memory"])
def index(request, tmp_path):
    idx = LmdbIndex(tmp_path / "index") if request.param == "lmdb" else MemoryIndex()
    yield idx
    idx.close()


def test_long_keys_are_distinct_and_bounded():
    a, b = text_key(CHINESE_NNBS), text_key(CHINESE_NNBS[:-1] + "x")
    assert a != b and len(a) < 511 and len(b) < 511
    assert text_key("short") == b"short"
    assert len(text_key("é" * MAX_PLAIN_KEY_BYTES)) < 511


def test_writes_are_seen_in_the_file_and_kept_on_commit(index):
    writer = index.writer()
    slim = slim_record(ProductRow(id=1, nnbs=CHINESE_NNBS, variations=["x y"], brand_id=3, brand_name="brand",
                                  has_url=True, sizes=["1kg"], brand_companies=["iga"]))
    writer.put_product(1, slim)
    writer.put("nnbs", CHINESE_NNBS, 1)
    writer.put("sku", (3, "S1"), 1)
    writer.put("barcode", "9300000000001", 1)
    assert index.get_many("nnbs", [CHINESE_NNBS, "other"]) == {CHINESE_NNBS: 1}
    writer.commit()
    assert index.get_many("sku", [(3, "S1"), (4, "S1")]) == {(3, "S1"): 1}
    assert index.get_many("barcode", ["9300000000001"]) == {"9300000000001": 1}
    assert index.slim_many([1, 2]) == {1: slim}


def test_abort_forgets_the_files_writes(index):
    writer = index.writer()
    writer.put("nnbs", "kept", 1)
    writer.commit()
    writer = index.writer()
    writer.put("nnbs", "forgotten", 2)
    writer.delete("nnbs", "kept")
    writer.abort()
    assert index.get_many("nnbs", ["kept", "forgotten"]) == {"kept": 1}


def test_the_next_file_reads_none_of_an_earlier_files_pending_writes(index):
    """The LMDB index keeps one pending store for the run and empties it between files."""
    writer = index.writer()
    writer.put("nnbs", "aborted", 1)
    writer.put_seen(7, 1, SeenLine(b"d" * 16, (0, 0, 1)))
    writer.abort()
    remembers = 1 if index.remembers_lines else 0  # the memory backend remembers no line
    writer = index.writer()
    assert index.get_many("nnbs", ["aborted"]) == {}
    assert index.seen_lines(1, 7, [(b"d" * 16, None, None, "aborted")]) == [0]
    writer.put("nnbs", "committed", 2)
    writer.put_seen(7, 2, SeenLine(b"e" * 16, (0, 0, 2)))
    assert index.seen_lines(1, 7, [(b"e" * 16, None, None, "committed")]) == [2 * remembers]  # pending
    writer.commit()
    writer = index.writer()
    writer.put("nnbs", "third", 3)
    assert index.get_many("nnbs", ["committed", "third"]) == {"committed": 2, "third": 3}
    assert index.seen_lines(1, 7, [(b"e" * 16, None, None, "committed")]) == [2 * remembers]
    writer.abort()
    assert index.get_many("nnbs", ["committed", "third"]) == {"committed": 2}


def test_one_writer_at_a_time(index):
    writer = index.writer()
    with pytest.raises(RuntimeError, match="one file at a time"):
        index.writer()
    writer.abort()


def test_seen_lines_read_the_files_writes_and_a_dry_runs_overlay(tmp_path):
    """A line is seen only with the key owners the update would read now: the file's own pending writes,
    and in a dry run the run's overlay (what the catch-up would have written), not the disk alone."""
    from diskcache_tier.lookup import ProductIndex
    from diskcache_tier.seen import SeenLine
    from update.dry_run_index import DryRunIndex

    digest, line = b"d" * 16, (b"d" * 16, "9300000000001", "S1", "milk 1l")
    index = LmdbIndex(tmp_path / "index")
    writer = index.writer()
    writer.put("nnbs", "milk 1l", 7)
    writer.put("sku", (3, "S1"), 7)
    writer.put_seen(5, 7, SeenLine(digest, (0, 7, 7)))  # the barcode named no product when it was applied
    writer.commit()
    assert index.seen_lines(3, 5, [line]) == ProductIndex.seen_lines(index, 3, 5, [line]) == [7]
    writer = index.writer()
    writer.put("barcode", "9300000000001", 8)  # another product took the barcode in this file
    assert index.seen_lines(3, 5, [line]) == ProductIndex.seen_lines(index, 3, 5, [line]) == [0]
    writer.abort()
    assert index.seen_lines(3, 5, [line]) == [7]
    index.close()

    dry = DryRunIndex(tmp_path / "index")
    try:
        assert dry.seen_lines(3, 5, [line]) == [7]
        dry._run_overlay.put("barcode", text_key("9300000000001"), (8).to_bytes(8, "big"))  # the catch-up's
        assert dry.seen_lines(3, 5, [line]) == [0]
    finally:
        dry.close()


def test_key_owners_read_the_files_writes_and_a_dry_runs_overlay(tmp_path):
    """LMDB's own loop over the keys answers as the generic lookups do: committed keys, the file's pending
    writes and deletes, keys of another company, long keys, and in a dry run the run's overlay."""
    from diskcache_tier.keys import id_bytes, sku_key
    from diskcache_tier.lookup import ProductIndex
    from update.dry_run_index import DryRunIndex

    keys = [("9300000000001", "S1", "milk 1l"), (None, "S1", "bread"), (None, None, CHINESE_NNBS),
            ("9300000000002", "S2", " milk  1l"), (None, "S9", "nothing")]
    index = LmdbIndex(tmp_path / "index")
    writer = index.writer()
    writer.put("nnbs", "milk 1l", 7)
    writer.put("nnbs", CHINESE_NNBS, 9)
    writer.put("sku", (3, "S1"), 7)
    writer.put("sku", (4, "S2"), 6)  # another company's SKU
    writer.put("barcode", "9300000000001", 8)
    writer.commit()
    expected = [(8, 7, 7), (0, 7, 0), (0, 0, 9), (0, 0, 7), (0, 0, 0)]
    assert index.key_owners(3, keys) == ProductIndex.key_owners(index, 3, keys) == expected
    writer = index.writer()
    writer.put("nnbs", "bread", 5)
    writer.delete("barcode", "9300000000001")
    pending = [(0, 7, 7), (0, 7, 5), (0, 0, 9), (0, 0, 7), (0, 0, 0)]
    assert index.key_owners(3, keys) == ProductIndex.key_owners(index, 3, keys) == pending
    writer.abort()
    index.close()

    dry = DryRunIndex(tmp_path / "index")
    try:
        dry._run_overlay.put("sku", sku_key(3, "S9"), id_bytes(4))  # the catch-up's
        assert dry.key_owners(3, keys) == [*expected[:4], (0, 4, 0)]
    finally:
        dry.close()


def test_a_store_that_never_remembered_a_line_is_not_looked_up_after_a_build(tmp_path):
    """The day after a build no store has remembered a line: its lines are answered "not seen" without a
    lookup. Once a file of the store remembers lines, they are looked up; an index built before the list
    of remembering stores was kept (no such meta) looks every store up."""
    from diskcache_tier.lookup import REMEMBERING_STORES
    from diskcache_tier.seen import encode_seen, seen_key

    digest, line = b"d" * 16, (b"d" * 16, None, "S1", "milk 1l")
    index = LmdbIndex(tmp_path / "index")
    writer = index.writer()
    writer.put("nnbs", "milk 1l", 7)
    writer.put("sku", (3, "S1"), 7)
    writer.set_meta(REMEMBERING_STORES, [])  # as a build leaves it
    writer.commit()
    # An entry written past the writer's put_seen (as no update does): the store is still not looked up.
    with index.env.begin(write=True) as txn:
        txn.put(seen_key(7, 5), encode_seen(SeenLine(digest, (0, 7, 7))), db=index.dbs["seen"])
    assert index.seen_lines(3, 5, [line]) == [0]
    writer = index.writer()
    writer.put_seen(5, 7, SeenLine(digest, (0, 7, 7)))
    writer.commit()
    assert index.remembering_stores() == {5} and index.seen_lines(3, 5, [line]) == [7]
    index.close()
    with LmdbIndex(tmp_path / "index") as reopened:
        assert reopened.meta()[REMEMBERING_STORES] == [5] and reopened.seen_lines(3, 5, [line]) == [7]
        assert reopened.seen_lines(3, 6, [line]) == [0]
        writer = reopened.writer()
        writer.set_meta(REMEMBERING_STORES, None)
        writer.commit()
    with LmdbIndex(tmp_path / "index") as older:  # the meta of a previous release: nothing said
        with older.env.begin(write=True) as txn:
            txn.delete(REMEMBERING_STORES.encode(), db=older.dbs["meta"])
        assert older.remembering_stores() is None and older.seen_lines(3, 5, [line]) == [7]
