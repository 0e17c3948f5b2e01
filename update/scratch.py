"""Per-file bookkeeping on disk: what the first pass learnt of each line, the groups of lines that share
a key, lines waiting for the rest of their group, the refused and warned lines, the products priced.

All of it grows with the file, and the file grows with the catalog, so it lives in a scratch LMDB
environment rather than in Python sets. It is opened with writemap, so its dirty pages are shared
file-backed pages the kernel can write out and drop, not anonymous memory of this process.

What every line touches (its role, its keys' first lines, the products priced) starts in dicts all the
same: a store's file is a few thousand lines, and an LMDB write with its key's encoding costs several
times a dict's. Past ``HOT_LINES`` lines (or priced products) the dicts move to LMDB and stay there for
the rest of the file, so memory stays bounded by that count whatever the file's size.
"""
from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Iterator

import lmdb
import orjson

from diskcache_tier import scratch_dirs
from diskcache_tier.keys import id_bytes, text_key
from diskcache_tier.seen import DIGEST_SIZE

# Sparse address space, not disk: the scratch file only grows by what one file's keys need.
_SCRATCH_MAP_SIZE = 8 << 30
_LINE = struct.Struct(">Q")  # big-endian, so LMDB's byte order is line order
_ROLE = struct.Struct(">IB")  # store ordinal, flags: first line of its NNBS, member of a group
_FIRST, _GROUPED = 1, 2
_GROUP = struct.Struct(">QQ")  # members, line number of the last member
_DBS = (b"stores", b"store_names", b"line_role", b"first_line", b"key_line", b"parent", b"group", b"deferred", b"log", b"warned",
        b"priced")


_SEEN = b"s"
# Lines (and priced products) a file keeps in dicts before moving them to LMDB: about 1.1 KB each
# (measured with tracemalloc), so at most about 6 MB; a real store's file of 2,000-3,000 lines never
# moves, and a larger one pays LMDB's cost only for its lines past these.
HOT_LINES = 5_000


def _seen_bytes(seen: tuple | None) -> bytes:
    if seen is None:
        return b""
    digest, *keys = seen
    return digest + orjson.dumps(keys)


def _seen_of(raw: bytes) -> tuple | None:
    return (raw[:DIGEST_SIZE], *orjson.loads(raw[DIGEST_SIZE:])) if raw else None


class _HotTables:
    """The per-line tables of a file while it is small: what the LMDB databases of the same names hold."""

    def __init__(self):
        self.line_role: dict[int, tuple[int, int, tuple | None]] = {}  # line -> (store, flags, seen)
        # (store, kind, key) -> (first line, its NNBS's spelling for kind "nnbs", else None)
        self.key_line: dict[tuple, tuple[int, str | None]] = {}
        self.first_line: dict[tuple[int, str], int] = {}  # (store, NNBS as spelled) -> first line


def line_bytes(line_no: int) -> bytes:
    return _LINE.pack(line_no)


def _key_line_key(store: int, kind: str, key: str) -> bytes:
    return text_key(f"{store}\x1f{kind}\x1f{key}")


def _first_line_key(store: int, nnbs: str) -> bytes:
    return text_key(f"{store}\x1f{nnbs}")


class FileScratch:
    def __init__(self, directory: Path | None = None):
        self.path = scratch_dirs.make("update-scratch-", directory)
        self.env = lmdb.open(str(self.path), map_size=_SCRATCH_MAP_SIZE, max_dbs=len(_DBS), writemap=True,
                             sync=False, metasync=False, readahead=False)
        self.dbs = {name.decode(): self.env.open_db(name) for name in _DBS}
        # Pass one of the current file kept each line's digest and keys with its role (reader.survey).
        self.digests_kept = False
        self.hot_lines = HOT_LINES
        self._hot: _HotTables | None = _HotTables()  # None once the file's lines moved to LMDB
        self._priced: dict[int, bool] | None = {}  # likewise, the products priced

    def reset(self) -> None:
        self.digests_kept = False
        self._hot, self._priced = _HotTables(), {}
        with self.env.begin(write=True) as txn:
            for db in self.dbs.values():
                txn.drop(db, delete=False)

    def forget_prices(self) -> None:
        """Forget which products got a price: the file is written again from the start."""
        self._priced = {}
        with self.env.begin(write=True) as txn:
            txn.drop(self.dbs["priced"], delete=False)

    @property
    def lines_in_lmdb(self) -> bool:
        """Whether the file's per-line tables moved to LMDB (it passed ``hot_lines`` lines)."""
        return self._hot is None

    def _move_lines(self, txn) -> None:
        """Write the per-line dicts to their LMDB databases, where the rest of the file's lines go too."""
        hot, self._hot = self._hot, None
        for line_no, (store, flags, seen) in hot.line_role.items():
            txn.put(line_bytes(line_no), _ROLE.pack(store, flags) + _seen_bytes(seen),
                    db=self.dbs["line_role"])
        for (store, kind, key), (line_no, spelled) in hot.key_line.items():
            value = line_bytes(line_no) + (spelled.encode() if spelled is not None else b"")
            txn.put(_key_line_key(store, kind, key), value, db=self.dbs["key_line"])
        for (store, nnbs), line_no in hot.first_line.items():
            txn.put(_first_line_key(store, nnbs), line_bytes(line_no), db=self.dbs["first_line"])

    def _move_priced(self, txn) -> None:
        priced, self._priced = self._priced, None
        for product_id, seen in priced.items():
            txn.put(id_bytes(product_id), _SEEN if seen else b"", db=self.dbs["priced"])

    def begin(self, write: bool = True) -> lmdb.Transaction:
        return self.env.begin(write=write)

    # Callers pass the open transaction so a batch of lines costs one commit, not one per line.

    # ------------------------------------------------------------------ first pass: lines and stores

    def put_store(self, txn, store_key: str, record: bytes) -> None:
        txn.put(text_key(store_key), record, db=self.dbs["stores"])

    def get_store(self, txn, store_key: str) -> bytes | None:
        return txn.get(text_key(store_key), db=self.dbs["stores"])

    def name_store(self, txn, ordinal: int, store_key: str) -> None:
        txn.put(_LINE.pack(ordinal), store_key.encode(), db=self.dbs["store_names"])

    def store_name(self, txn, ordinal: int) -> str:
        return bytes(txn.get(_LINE.pack(ordinal), db=self.dbs["store_names"])).decode()

    def stores(self, txn) -> Iterator[bytes]:
        """Every store's record (a file names one store, or a handful when lines stray)."""
        with txn.cursor(db=self.dbs["stores"]) as cursor:
            for _, record in cursor:
                yield bytes(record)

    def set_role(self, txn, line_no: int, store: int, first: bool, seen: tuple | None = None, *,
                 grouped: bool = False) -> None:
        """``seen``: what the second pass needs to tell an unchanged line without decoding it again, its
        (digest, nnbs, sku, barcode); ``grouped``: the line shares a key with another (``mark_grouped``
        says it of earlier lines)."""
        flags = (_FIRST if first else 0) | (_GROUPED if grouped else 0)
        hot = self._hot
        if hot is not None:
            hot.line_role[line_no] = (store, flags, seen)
            if len(hot.line_role) > self.hot_lines:
                self._move_lines(txn)
            return
        txn.put(line_bytes(line_no), _ROLE.pack(store, flags) + _seen_bytes(seen),
                db=self.dbs["line_role"])

    def mark_grouped(self, txn, line_no: int) -> None:
        """Say of an earlier line that a later one joined its group (once per join: rare)."""
        hot = self._hot
        if hot is not None:
            store, flags, seen = hot.line_role[line_no]
            hot.line_role[line_no] = (store, flags | _GROUPED, seen)
            return
        raw = bytes(txn.get(line_bytes(line_no), db=self.dbs["line_role"]))
        store, flags = _ROLE.unpack(raw[:_ROLE.size])
        if not flags & _GROUPED:
            txn.put(line_bytes(line_no), _ROLE.pack(store, flags | _GROUPED) + raw[_ROLE.size:],
                    db=self.dbs["line_role"])

    def role(self, txn, line_no: int) -> tuple[int, bool, tuple | None, bool] | None:
        """(store ordinal, first line of its NNBS, what ``set_role`` was given as ``seen``, member of a
        group) of a line the first pass kept; None for a refused line."""
        hot = self._hot
        if hot is not None:
            role = hot.line_role.get(line_no)
            if role is None:
                return None
            store, flags, seen = role
            return store, bool(flags & _FIRST), seen, bool(flags & _GROUPED)
        raw = txn.get(line_bytes(line_no), db=self.dbs["line_role"])
        if raw is None:
            return None
        store, flags = _ROLE.unpack(raw[:_ROLE.size])
        return store, bool(flags & _FIRST), _seen_of(bytes(raw[_ROLE.size:])), bool(flags & _GROUPED)

    def claim_nnbs(self, txn, store: int, nnbs: str, line_no: int) -> bool:
        """Record the first line of an NNBS in a store's lines; False when an earlier line has it."""
        hot = self._hot
        if hot is not None:
            return hot.first_line.setdefault((store, nnbs), line_no) == line_no
        return txn.put(_first_line_key(store, nnbs), line_bytes(line_no), db=self.dbs["first_line"],
                       overwrite=False)

    def claim_key(self, txn, store: int, kind: str, key: str, line_no: int) -> int | None:
        """Record the first line of a key; the earlier line's number when one has it."""
        hot = self._hot
        if hot is not None:
            earlier = hot.key_line.setdefault((store, kind, key), (line_no, None))[0]
            return None if earlier == line_no else earlier
        raw_key = _key_line_key(store, kind, key)
        if txn.put(raw_key, line_bytes(line_no), db=self.dbs["key_line"], overwrite=False):
            return None
        return _LINE.unpack(txn.get(raw_key, db=self.dbs["key_line"]))[0]

    def claim_canonical_nnbs(self, txn, store: int, canonical: str, nnbs: str, line_no: int) -> tuple[int | None, bool]:
        """Claim a line's NNBS in its canonical form (the key that groups spellings); (the earlier line
        that has it or None, whether that line's NNBS is spelled exactly as this one's).

        The claimant's own spelling is kept with its claim, so that a line repeating it is found a
        duplicate here, and ``claim_nnbs`` is only needed for the other spellings: one write a line.
        """
        hot = self._hot
        if hot is not None:
            earlier, spelled = hot.key_line.setdefault((store, "nnbs", canonical), (line_no, nnbs))
            return (None, False) if earlier == line_no else (earlier, spelled == nnbs)
        raw_key = _key_line_key(store, "nnbs", canonical)
        spelled = nnbs.encode()
        if txn.put(raw_key, line_bytes(line_no) + spelled, db=self.dbs["key_line"], overwrite=False):
            return None, False
        raw = txn.get(raw_key, db=self.dbs["key_line"])
        return _LINE.unpack(raw[:_LINE.size])[0], raw[_LINE.size:] == spelled

    # ------------------------------------------------------- groups of lines sharing a key (union-find)

    def group_root(self, txn, line_no: int) -> int:
        """The line that stands for the line's group (the line itself when it shares no key)."""
        parents = self.dbs["parent"]
        while (raw := txn.get(line_bytes(line_no), db=parents)) is not None:
            line_no = _LINE.unpack(raw)[0]
        return line_no

    def group(self, txn, root: int) -> tuple[int, int]:
        """(members, line number of the last member) of the group a root stands for."""
        raw = txn.get(line_bytes(root), db=self.dbs["group"])
        return (1, root) if raw is None else _GROUP.unpack(raw)

    def join(self, txn, a: int, b: int) -> bool:
        """Put the groups of lines ``a`` and ``b`` together (the smaller under the larger root); False
        when they already were one."""
        root_a, root_b = self.group_root(txn, a), self.group_root(txn, b)
        if root_a == root_b:
            return False
        (size_a, last_a), (size_b, last_b) = self.group(txn, root_a), self.group(txn, root_b)
        if size_a < size_b:
            root_a, root_b = root_b, root_a
        txn.put(line_bytes(root_b), line_bytes(root_a), db=self.dbs["parent"])
        txn.delete(line_bytes(root_b), db=self.dbs["group"])
        txn.put(line_bytes(root_a), _GROUP.pack(size_a + size_b, max(last_a, last_b)), db=self.dbs["group"])
        return True

    # ------------------------------------------- second pass: lines waiting for the rest of their group

    def defer(self, txn, root: int, line_no: int, raw: bytes) -> None:
        txn.put(line_bytes(root) + line_bytes(line_no), raw, db=self.dbs["deferred"])

    def take_deferred(self, txn, root: int) -> list[tuple[int, bytes]]:
        """The group's waiting lines, in line order, removed from the scratch."""
        prefix = line_bytes(root)
        members = []
        with txn.cursor(db=self.dbs["deferred"]) as cursor:
            if cursor.set_range(prefix):
                for key, raw in cursor:
                    if not key.startswith(prefix):
                        break
                    members.append((_LINE.unpack(key[8:])[0], bytes(raw)))
        for line_no, _ in members:
            txn.delete(prefix + line_bytes(line_no), db=self.dbs["deferred"])
        return members

    # ------------------------------------------------ refused and warned lines, kept in line order

    def log_refused(self, txn, line_no: int, entry: bytes) -> bool:
        """Keep a refused line's entry; False when the line already has one (the first reason stands)."""
        return txn.put(line_bytes(line_no), entry, db=self.dbs["log"], overwrite=False)

    def log_warned(self, txn, line_no: int, entry: bytes) -> None:
        """Keep a kept line's warnings (a line is refused or kept, never both)."""
        txn.put(line_bytes(line_no), entry, db=self.dbs["warned"])

    def start_second_pass(self) -> None:
        """Forget what an earlier second pass over the file left: waiting lines and warnings.

        A file may be written twice (the database refusing the first attempt); the first pass's
        findings stand, the second pass's are redone.
        """
        with self.env.begin(write=True) as txn:
            txn.drop(self.dbs["deferred"], delete=False)
            txn.drop(self.dbs["warned"], delete=False)

    def logged(self, txn, kind: str) -> Iterator[tuple[int, bytes]]:
        """The refused (``log``) or warned (``warned``) lines' entries, in line order."""
        with txn.cursor(db=self.dbs[kind]) as cursor:
            for key, entry in cursor:
                yield _LINE.unpack(key)[0], bytes(entry)

    # ----------------------------------------------------------------------------------- prices

    def claim_product(self, txn, product_id: int, *, seen: bool = False) -> bool:
        """Record that a product got its price from this file (``seen``: from a line that changed
        nothing, trusting the index); False when it already had."""
        priced = self._priced
        if priced is not None:
            if product_id in priced:
                return False
            priced[product_id] = seen
            if len(priced) > self.hot_lines:
                self._move_priced(txn)
            return True
        return txn.put(id_bytes(product_id), _SEEN if seen else b"", db=self.dbs["priced"], overwrite=False)

    def price_claims(self, txn, product_ids: list[int]) -> list[bool | None]:
        """For each product: None when no line of this file priced it, else whether a seen line did
        (one get a product)."""
        hot = self._priced
        if hot is not None:
            return [hot.get(product_id) for product_id in product_ids]
        get, priced = txn.get, self.dbs["priced"]
        claims = []
        for product_id in product_ids:
            claim = get(id_bytes(product_id), db=priced)
            claims.append(None if claim is None else claim == _SEEN)
        return claims

    def close(self) -> None:
        self.env.close()
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
