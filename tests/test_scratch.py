"""The first pass's bookkeeping on disk: groups of lines sharing a key, and lines waiting for their group."""
from update.orchestrator import chunked
from update.scratch import FileScratch


def test_groups_join_transitively_and_know_their_last_line():
    with FileScratch() as scratch, scratch.begin() as txn:
        scratch.join(txn, 523, 1)
        scratch.join(txn, 523, 2)
        scratch.join(txn, 900, 2)
        roots = {scratch.group_root(txn, n) for n in (1, 2, 523, 900)}
        assert len(roots) == 1
        assert scratch.group(txn, roots.pop()) == (4, 900)
        assert scratch.group(txn, scratch.group_root(txn, 7)) == (1, 7)  # a line sharing nothing


def test_deferred_lines_come_back_in_line_order_once():
    with FileScratch() as scratch, scratch.begin() as txn:
        for line_no in (523, 2, 1):
            scratch.defer(txn, 1, line_no, b"line %d" % line_no)
        scratch.defer(txn, 3, 4, b"another group")
        assert scratch.take_deferred(txn, 1) == [(1, b"line 1"), (2, b"line 2"), (523, b"line 523")]
        assert scratch.take_deferred(txn, 1) == []
        assert scratch.take_deferred(txn, 3) == [(4, b"another group")]


def test_chunks_never_split_a_group():
    units = [["a"], ["b", "c", "d"], ["e"], ["f", "g"], ["h"]]
    assert [sum(chunk, []) for chunk in chunked(units, 3)] == [["a"], ["b", "c", "d"], ["e", "f", "g"], ["h"]]
    assert [sum(chunk, []) for chunk in chunked(units, 1)] == [["a"], ["b", "c", "d"], ["e"], ["f", "g"], ["h"]]
