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


def _claims(scratch, txn):
    """What a first pass asks of the scratch for a few lines, and what a second pass asks of prices."""
    answers = [scratch.claim_canonical_nnbs(txn, 0, "milkfull2l", "milk full 2l", 1),
               scratch.claim_key(txn, 0, "sku", "A", 1),
               scratch.claim_canonical_nnbs(txn, 0, "milkfull2l", "milkfull2l", 2),
               scratch.claim_nnbs(txn, 0, "milkfull2l", 2),
               scratch.claim_nnbs(txn, 0, "milkfull2l", 3),
               scratch.claim_key(txn, 0, "sku", "A", 3),
               scratch.claim_key(txn, 1, "sku", "A", 4),
               scratch.claim_canonical_nnbs(txn, 0, "milkfull2l", "milk full 2l", 5)]
    for line_no in range(1, 6):
        scratch.set_role(txn, line_no, 0, line_no == 1, (b"%16d" % line_no, "nnbs", "sku", None),
                         grouped=line_no == 2)
    scratch.mark_grouped(txn, 1)
    answers += [scratch.role(txn, line_no) for line_no in range(0, 7)]
    answers += [scratch.claim_product(txn, pid, seen=pid % 2 == 0) for pid in (7, 8, 7, 9)]
    answers.append(scratch.price_claims(txn, [6, 7, 8, 9]))
    return answers


def test_a_files_lines_get_the_same_answers_in_dicts_and_in_lmdb():
    with FileScratch() as scratch, scratch.begin() as txn:
        in_dicts = _claims(scratch, txn)
        assert not scratch.lines_in_lmdb
    for hot_lines in (0, 2, 4):  # moved before the first line, or part-way
        with FileScratch() as scratch, scratch.begin() as txn:
            scratch.hot_lines = hot_lines
            assert _claims(scratch, txn) == in_dicts, hot_lines
            assert scratch.lines_in_lmdb
    assert in_dicts[:8] == [(None, False), None, (1, False), True, False, 1, None, (1, True)]
    seen = [(b"%16d" % line_no, "nnbs", "sku", None) for line_no in range(6)]
    assert in_dicts[8:15] == [None, (0, True, seen[1], True), (0, False, seen[2], True),
                              (0, False, seen[3], False), (0, False, seen[4], False), (0, False, seen[5], False),
                              None]
    assert in_dicts[15:] == [True, True, False, True, [None, False, True, False]]
