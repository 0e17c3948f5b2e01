"""``python manage.py update --products``: a thin command over ``update.orchestrator``."""
from __future__ import annotations

from pathlib import Path

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from update.orchestrator import CHUNK_SIZE, UpdateLocked, UpdateOptions, run_update
from update.progress import NullProgress, PlainProgress


class Command(BaseCommand):
    help = "Update products and prices from the JSONL files in the inbox, oldest first."

    def add_arguments(self, parser):
        parser.add_argument("--products", action="store_true", help="update products and prices (the job)")
        parser.add_argument("--inbox", type=Path, default=None, help="folder of input files [settings.UPDATE_INBOX]")
        parser.add_argument("--archive", type=Path, default=None, help="where processed files go")
        parser.add_argument("--rejected", type=Path, default=None, help="where refused files go, with a reason")
        parser.add_argument("--index-path", type=Path, default=None, help="the LMDB index directory")
        parser.add_argument("--index-backend", choices=["lmdb", "memory"], default="lmdb",
                            help="lmdb (on disk, the default) or memory (dicts rebuilt every run: the baseline)")
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE,
                            help=f"lines per batch of queries [{CHUNK_SIZE}]")
        parser.add_argument("--report", type=Path, default=None, help="write the run report as JSON here")
        parser.add_argument("--dry-run", action="store_true", help="compute and report; write nothing")
        parser.add_argument("--silent", action="store_true", help="only the summary line")

    def handle(self, *args, **opts):
        if not opts["products"]:
            raise CommandError("say what to update: --products")
        options = UpdateOptions(
            inbox=opts["inbox"] or settings.UPDATE_INBOX,
            archive=opts["archive"] or settings.UPDATE_ARCHIVE,
            rejected=opts["rejected"] or settings.UPDATE_REJECTED,
            index_path=opts["index_path"] or settings.UPDATE_INDEX_PATH,
            index_backend=opts["index_backend"],
            chunk_size=opts["chunk_size"],
            dry_run=opts["dry_run"],
            progress=NullProgress() if opts["silent"] else PlainProgress(self.stdout),
        )
        if not Path(options.inbox).is_dir():
            raise CommandError(f"inbox {options.inbox} is not a folder")
        try:
            report = run_update(options)
        except UpdateLocked as exc:
            raise CommandError(str(exc), returncode=3) from None
        if opts["report"]:
            opts["report"].write_bytes(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2))
        self.stdout.write(report.summary_line())
