"""Tier 1's remembered lines stored once per price list (diskcache_tier/seen_sharing.py): each store reads
exactly what entries of its own would hold, and the stores of a list sending the same lines cost one entry.
"""
import random

import pytest

from diskcache_tier.lookup import LmdbIndex
from diskcache_tier.seen import SEEN_SIZE, SeenLine, encode_seen
from diskcache_tier.seen_sharing import LIST_OWNER, has_bit, resolve, sharers, with_bit

LINES = [SeenLine(bytes([n]) * 16, (0, 0, n)) for n in range(1, 4)]


def test_a_list_entrys_bitmap():
    entry = encode_seen(LINES[0])
    assert sharers(entry) == [] and not has_bit(entry, 0)
    entry = with_bit(with_bit(entry, 9, True), 0, True)
    assert sharers(entry) == [0, 9] and has_bit(entry, 9) and not has_bit(entry, 8)
    assert len(entry) == SEEN_SIZE + 2
    entry = with_bit(entry, 9, False)
    assert sharers(entry) == [0] and len(entry) == SEEN_SIZE + 1  # no trailing zero byte
    assert resolve(None, entry, 0) == entry[:SEEN_SIZE] and resolve(None, entry, 9) is None
    assert resolve(b"o" * SEEN_SIZE, None, None) == b"o" * SEEN_SIZE


def _entries(index: LmdbIndex) -> dict[str, int]:
    """The seen database's entries by kind: own (product, store), list (product, list)."""
    kinds = {"own": 0, "list": 0}
    with index.env.begin() as txn:
        for key, _ in txn.cursor(db=index.dbs["seen"]):
            if key[:8] == b"\xff" * 8:
                continue  # bookkeeping
            kinds["list" if int.from_bytes(key[8:16], "big") & LIST_OWNER else "own"] += 1
    return kinds


def _both(index: LmdbIndex) -> list[tuple[int, int]]:
    """(product, store) pairs held both as an own entry and as a bit of the store's list entry."""
    from diskcache_tier.seen_sharing import decode_sharing, list_key, sharing_key

    both = []
    with index.env.begin() as txn:
        db = index.dbs["seen"]
        for key, _ in txn.cursor(db=db):
            product, owner = int.from_bytes(key[:8], "big"), int.from_bytes(key[8:16], "big")
            if key[:8] == b"\xff" * 8 or owner & LIST_OWNER:
                continue
            sharing = decode_sharing(txn.get(sharing_key(owner), db=db))
            shared = txn.get(list_key(product, sharing[0]), db=db) if sharing else None
            if shared is not None and has_bit(shared, sharing[1]):
                both.append((product, owner))
    return both


def test_stores_sending_the_same_lines_share_one_entry_and_each_reads_its_own(tmp_path):
    index = LmdbIndex(tmp_path / "index")
    try:
        def file_of(store, remembered, forgotten=()):
            writer = index.writer()
            for pid, line in remembered.items():
                writer.put_seen(store, pid, line)
            for pid in forgotten:
                writer.delete_seen(store, pid)
            writer.share_with(store, 9 if store != 99 else None)
            writer.commit()

        for store in (1, 2, 3, 4):
            file_of(store, {10: LINES[0], 11: LINES[1]})
        file_of(99, {10: LINES[0]})  # a store without a list keeps entries of its own
        assert _entries(index) == {"list": 2, "own": 1}
        for store in (1, 2, 3, 4):
            assert index.seen_many(store, [10, 11, 12]) == {10: LINES[0], 11: LINES[1]}

        file_of(3, {10: LINES[2]})  # one store's price moves first: it alone reads its new line
        assert index.seen_many(3, [10]) == {10: LINES[2]} and index.seen_many(1, [10]) == {10: LINES[0]}
        assert _entries(index) == {"list": 2, "own": 2}
        file_of(4, {10: LINES[2]})
        file_of(1, {10: LINES[2]})  # three of four now: the list entry moves to the new line
        assert _entries(index) == {"list": 2, "own": 2}  # store 2's old line is its own, and store 99's
        assert index.seen_many(2, [10]) == {10: LINES[0]}
        file_of(2, {10: LINES[2]})
        assert _entries(index) == {"list": 2, "own": 1}
        assert all(index.seen_many(store, [10]) == {10: LINES[2]} for store in (1, 2, 3, 4))

        file_of(2, {}, forgotten=[11])  # a store's own forget leaves the others' shared line
        assert index.seen_many(2, [11]) == {} and index.seen_many(1, [11]) == {11: LINES[1]}

        writer = index.writer()
        writer.forget_seen([10])  # another writer changed the product: every store forgets it
        writer.commit()
        assert all(index.seen_many(store, [10]) == {} for store in (1, 2, 3, 4, 99))
    finally:
        index.close()


@pytest.mark.parametrize("seed", [20261206, 1, 2, 3])
def test_random_writes_read_as_entries_per_store_would(tmp_path, seed):
    """A model of entries per (store, product) against the shared form, over random files: every store
    reads exactly the model's line for every product after each commit, and during the file its own
    pending writes."""
    rng = random.Random(seed)
    stores, products = [1, 2, 3, 4, 5, 99], [7, 8, 9]
    model: dict[tuple[int, int], SeenLine] = {}
    index = LmdbIndex(tmp_path / "index")
    try:
        for step in range(1500):
            if rng.random() < 0.05:
                gone = rng.sample(products, 1)
                writer = index.writer()
                writer.forget_seen(gone)
                writer.commit()
                model = {key: line for key, line in model.items() if key[1] not in gone}
            else:
                store = rng.choice(stores)
                writer = index.writer()
                expected = dict(model)
                for pid in rng.sample(products, rng.randint(1, len(products))):
                    if rng.random() < 0.2:
                        writer.delete_seen(store, pid)
                        expected.pop((store, pid), None)
                    else:
                        # Mostly the line the other stores sent: a chain's stores send the same lines.
                        line = LINES[0] if rng.random() < 0.6 else rng.choice(LINES)
                        writer.put_seen(store, pid, line)
                        expected[(store, pid)] = line
                assert index.seen_many(store, products) == {p: expected[(store, p)] for p in products
                                                            if (store, p) in expected}, step
                writer.share_with(store, None if store == 99 else 9)
                if rng.random() < 0.1:
                    writer.abort()
                else:
                    writer.commit()
                    model = expected
            for store in stores:
                assert index.seen_many(store, products) == {p: model[(store, p)] for p in products
                                                            if (store, p) in model}, (step, store)
            assert not _both(index), step
        assert sum(_entries(index).values()) < len(model)  # shared: fewer entries than (store, product) pairs
    finally:
        index.close()


def test_an_index_from_before_sharing_keeps_its_entries_per_store(tmp_path):
    """Entries written per (product, store) by the previous release stay true: a store's own entry is
    read first, and its first write in the list replaces it."""
    index = LmdbIndex(tmp_path / "index")
    try:
        with index.env.begin(write=True) as txn:
            for store in (1, 2):
                txn.put((7).to_bytes(8, "big") + store.to_bytes(8, "big"), encode_seen(LINES[0]),
                        db=index.dbs["seen"])
        assert index.seen_many(1, [7]) == {7: LINES[0]} == index.seen_many(2, [7])
        writer = index.writer()
        writer.put_seen(1, 7, LINES[0])
        writer.share_with(1, 9)
        writer.commit()
        assert index.seen_many(1, [7]) == {7: LINES[0]} == index.seen_many(2, [7])
        assert _entries(index) == {"list": 1, "own": 1}
    finally:
        index.close()


def test_a_map_that_fills_mid_commit_applies_the_shared_writes_once(tmp_path):
    """A commit redone after the map grew (``write_with_growth``) gives each store the same lines."""
    index = LmdbIndex(tmp_path / "index", map_size=64 << 10)
    try:
        for store in range(1, 40):
            writer = index.writer()
            for pid in range(1, 60):
                writer.put_seen(store, pid, LINES[store % 2])
            writer.share_with(store, 9)
            writer.commit()
        for store in range(1, 40):
            assert index.seen_many(store, range(1, 60)) == {pid: LINES[store % 2] for pid in range(1, 60)}
        assert index.env.info()["map_size"] > 64 << 10  # it did fill and grow
    finally:
        index.close()


def test_a_store_that_makes_a_new_list_entry_keeps_no_entry_of_its_own(tmp_path):
    """G2 deviated (an own entry), then the only store sharing the list entry forgot it: G2's next line
    makes the list entry, and its old own entry goes (it would only be dead weight, never read)."""
    index = LmdbIndex(tmp_path / "index")
    try:
        def file_of(store, line=None):
            writer = index.writer()
            if line is None:
                writer.delete_seen(store, 7)
            else:
                writer.put_seen(store, 7, line)
            writer.share_with(store, 9)
            writer.commit()

        file_of(1, LINES[0])
        file_of(2, LINES[1])
        assert _entries(index) == {"list": 1, "own": 1}
        file_of(1)
        file_of(2, LINES[2])
        assert index.seen_many(2, [7]) == {7: LINES[2]} and index.seen_many(1, [7]) == {}
        assert _entries(index) == {"list": 1, "own": 0}
    finally:
        index.close()
