"""The update tunes Python's cyclic garbage collector for its run only (update.memory.quiet_collector)."""
import gc

import pytest

from update.memory import YOUNG_COLLECTION_EVERY, quiet_collector
from update.orchestrator import run_update

from .factories import product, write_file


def test_the_collector_is_tuned_inside_and_restored_after_even_on_an_error():
    gc.unfreeze()  # as in a process where nothing was frozen before (the memory backend freezes its maps)
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(RuntimeError):
        with quiet_collector():
            assert gc.get_threshold()[0] == YOUNG_COLLECTION_EVERY
            assert gc.get_freeze_count() > frozen  # what was alive is out of the collections
            raise RuntimeError("a file failed")
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen


def test_what_was_frozen_before_stays_frozen():
    gc.unfreeze()
    gc.freeze()
    frozen = gc.get_freeze_count()
    try:
        with quiet_collector():
            pass
        assert gc.get_freeze_count() >= frozen > 0
    finally:
        gc.unfreeze()


@pytest.mark.django_db(transaction=True)
def test_a_run_leaves_the_collector_as_it_found_it(workspace):
    gc.unfreeze()
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    seen = []
    gc.callbacks.append(lambda phase, info: seen.append(gc.get_threshold()[0]) if phase == "start" else None)
    try:
        write_file(workspace.inbox, "aldi", "2025-09-01", [product(f"p{i}") for i in range(600)])
        run_update(workspace)
        gc.collect()
    finally:
        gc.callbacks.pop()
    assert YOUNG_COLLECTION_EVERY in seen  # the run collected with its own threshold ...
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen  # ... and gave them back



def test_a_run_started_with_the_collector_off_collects_and_leaves_it_off():
    """bin/update-products imports with the collector off; the run turns it on for itself."""
    gc.disable()
    try:
        with quiet_collector():
            assert gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_other_commands_turn_the_collector_on_once_django_is_set_up():
    from update.cli import setup_django

    frozen = gc.get_freeze_count()
    gc.disable()
    try:
        setup_django(collector=False)
        assert not gc.isenabled()  # the run's: quiet_collector turns it on
        setup_django()
        assert gc.isenabled() and gc.get_freeze_count() > frozen
    finally:
        gc.enable()
        gc.unfreeze()
