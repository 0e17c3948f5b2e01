"""Shared fixtures: a workspace of inbox, archive, rejected and index folders, and the real files."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from update.orchestrator import UpdateOptions

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = Path(os.environ.get("REAL_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data" / "real"))
REAL_FILES = sorted(REAL_DATA.glob("*.jsonl")) if REAL_DATA.is_dir() else []


@pytest.fixture
def workspace(tmp_path) -> UpdateOptions:
    for name in ("inbox", "archive", "rejected"):
        (tmp_path / name).mkdir()
    return UpdateOptions(inbox=tmp_path / "inbox", archive=tmp_path / "archive", rejected=tmp_path / "rejected",
                         index_path=tmp_path / "index")


@pytest.fixture
def real_files() -> list[Path]:
    if len(REAL_FILES) < 7:
        pytest.skip(f"real scraped files not found in {REAL_DATA}")
    return REAL_FILES


def drop(files, inbox: Path) -> None:
    for f in files:
        shutil.copy(f, inbox / Path(f).name)
