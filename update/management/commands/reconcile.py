"""``python manage.py reconcile [--dry-run]``: merge products that are one item under the canonical keys."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from catalog.reconcile import BATCH, Group, reconcile
from catalog.writer_lock import hold_writer_lock


class Command(BaseCommand):
    help = ("Merge products equal under the canonical barcode (GTIN) or NNBS into the oldest of each group; "
            "--dry-run reports the same and changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="merge inside one transaction, report, and roll it all back")
        parser.add_argument("--batch-size", type=int, default=BATCH, help=f"products per keyset batch [{BATCH}]")
        parser.add_argument("--quiet", action="store_true", help="print the summary line only")

    def handle(self, *args, **opts):
        dry_run = opts["dry_run"]

        def tell(group: Group) -> None:
            if not opts["quiet"]:
                merged = ", ".join(map(str, group.merged_ids))
                spellings = " | ".join(group.spellings)
                self.stdout.write(f"{'would merge' if dry_run else 'merged'} {merged} into {group.survivor_id} "
                                  f"by {group.key_kind} {group.key!r}: {spellings}")

        # Each group's transaction waits for a running update's file, as a second update would.
        report = reconcile(dry_run=dry_run, on_group=tell, before_group=hold_writer_lock,
                           batch_size=opts["batch_size"])
        self.stdout.write(report.summary(dry_run))
