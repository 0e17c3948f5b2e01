"""``python manage.py update --products``: a thin command over ``update.orchestrator``.

It exits with the same statuses as ``bin/update-products`` (see ``update.cli``) when run from a shell;
``call_command`` returns normally and leaves the status in ``exit_status``.
"""
from __future__ import annotations

import sys
import traceback
from pathlib import Path

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from update.cli import EXIT_FAILED, EXIT_LOCKED, EXIT_STATUSES, status_of
from update.orchestrator import CHUNK_SIZE, UpdateLocked, UpdateOptions, run_update
from update.progress import for_stream


class Command(BaseCommand):
    help = ("Update products and prices from the JSONL files in the inbox, oldest first. "
            + " ".join(EXIT_STATUSES.replace("\b", "").split()))
    exit_status = 0

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
        parser.add_argument("--max-memory", type=int, default=None, metavar="MB",
                            help="stop between files once anonymous memory passes MB")
        parser.add_argument("--settle-seconds", type=float, default=0, metavar="S",
                            help="leave files modified in the last S seconds for the next run")

    def handle(self, *args, **opts):
        if not opts["products"]:
            raise CommandError("say what to update: --products", returncode=2)
        if opts["max_memory"] is not None and opts["max_memory"] < 1:
            raise CommandError("--max-memory is in MB and must be at least 1", returncode=2)
        options = UpdateOptions(
            inbox=opts["inbox"] or settings.UPDATE_INBOX,
            archive=opts["archive"] or settings.UPDATE_ARCHIVE,
            rejected=opts["rejected"] or settings.UPDATE_REJECTED,
            index_path=opts["index_path"] or settings.UPDATE_INDEX_PATH,
            index_backend=opts["index_backend"],
            chunk_size=opts["chunk_size"],
            dry_run=opts["dry_run"],
            # The raw stream: Django's wrapper ends every write with a newline, which would break the bar.
            progress=for_stream(getattr(self.stdout, "_out", self.stdout), silent=opts["silent"]),
            max_memory_bytes=(opts["max_memory"] or 0) * 2**20,
            settle_s=opts["settle_seconds"],
        )
        if not Path(options.inbox).is_dir():
            raise CommandError(f"inbox {options.inbox} is not a folder", returncode=2)
        try:
            report = run_update(options)
        except UpdateLocked as exc:
            raise CommandError(str(exc), returncode=EXIT_LOCKED) from None
        if opts["report"]:
            opts["report"].write_bytes(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2))
        self.stdout.write(report.summary_line())
        self.exit_status = status_of(report)

    def run_from_argv(self, argv):
        try:
            super().run_from_argv(argv)
        except Exception:  # a crash must exit 4, not Python's 1, which means "lines rejected"
            traceback.print_exc()
            sys.exit(EXIT_FAILED)
        if self.exit_status:
            sys.exit(self.exit_status)
