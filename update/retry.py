"""``bin/update-products retry NAME``: a rejected file goes back to the inbox for the next run."""
from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from ledger.models import RunFile
from ledger.view import waiting_rejected

from .inbox import reason_path
from .moves import move_file


class RetryError(ValueError):
    """Why NAME can't be retried, in one line."""


def retry_rejected(name: str, inbox: Path) -> Path:
    """Move the rejected file named ``name`` back into ``inbox``; its ledger row keeps the old reason.

    The ``.reason.txt`` beside it is removed (the ledger has the reason); a rejects file stays, for reading.
    """
    matches = [row for row in waiting_rejected() if Path(row.moved_to).name == name]
    if not matches:
        raise RetryError(f"no rejected file named {name} is waiting: `update-products rejected` lists them")
    row = matches[-1]
    source = Path(row.moved_to)
    with transaction.atomic():
        RunFile.objects.filter(pk=row.pk).update(retried_at=timezone.now())
        # The ledger first, inside the transaction: a move that fails rolls the mark back.
        target = move_file(source, inbox)
    reason_path(source).unlink(missing_ok=True)
    return target
