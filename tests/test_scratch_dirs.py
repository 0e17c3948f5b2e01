"""Scratch folders left by killed processes are removed by the next process; live ones are kept."""
import os
import subprocess
import sys
import time

from diskcache_tier import scratch_dirs
from diskcache_tier.pending import PendingWrites
from update.scratch import FileScratch


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_process_folder_goes_and_a_live_one_stays(tmp_path):
    dead = tmp_path / f"update-scratch-{_dead_pid()}-abc"
    live = tmp_path / f"update-scratch-{os.getpid()}-def"
    other = tmp_path / f"index-pending-{_dead_pid()}-ghi"  # another prefix: not this sweep's
    for folder in (dead, live, other):
        folder.mkdir()
        (folder / "data.mdb").write_bytes(b"x")

    assert scratch_dirs.remove_leftovers("update-scratch-", tmp_path) == [dead]
    assert not dead.exists() and live.exists() and other.exists()


def test_folders_without_a_process_id_go_only_when_old(tmp_path):
    old, recent = tmp_path / "update-scratch-w39ktthk", tmp_path / "update-scratch-x8_f6pix"
    for folder in (old, recent):
        folder.mkdir()
        (folder / "data.mdb").write_bytes(b"x")
    day_ago = time.time() - scratch_dirs.UNNAMED_MAX_AGE_S - 60
    for path in (old, old / "data.mdb"):
        os.utime(path, (day_ago, day_ago))

    assert scratch_dirs.remove_leftovers("update-scratch-", tmp_path) == [old]
    assert recent.exists()


def test_the_scratch_stores_name_their_process_and_sweep_before_their_first_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(scratch_dirs, "_swept", set())
    monkeypatch.setattr(scratch_dirs.tempfile, "tempdir", str(tmp_path))
    left = [tmp_path / f"update-scratch-{_dead_pid()}-a", tmp_path / f"index-pending-{_dead_pid()}-b"]
    for folder in left:
        folder.mkdir()

    with FileScratch() as scratch:
        pending = PendingWrites(("products",))
        try:
            assert scratch.path.name.startswith(f"update-scratch-{os.getpid()}-")
            assert pending.path.name.startswith(f"index-pending-{os.getpid()}-")
            assert not any(folder.exists() for folder in left)
        finally:
            pending.close()
    assert list(tmp_path.iterdir()) == []
