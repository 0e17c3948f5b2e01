"""``python manage.py update --products``: a thin command over ``update.orchestrator``.

Its options are checked by ``update.options``, as ``bin/update-products`` checks its own, and it exits
with the same statuses (``update.statuses``) when run from a shell; ``call_command`` raises
CommandError for what stops a run from starting and leaves a run's status in ``exit_status``.
"""
from __future__ import annotations

import sys
import traceback
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from update.cli import print_summary, set_verbosity
from update.moves import FolderNotWritable
from update.operator_errors import MissingDatabase, explain, refuse_missing_sqlite
from update.options import OptionError, update_options
from update.orchestrator import UpdateLocked, run_update
from update.progress import for_stream
from update.statuses import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_STATUSES, EXIT_USAGE
from update.stop_signals import Interrupted, ignore_after_the_run
from update.version import __version__


class Command(BaseCommand):
    help = ("Update products and prices from the JSONL files in the inbox, oldest first. "
            + " ".join(EXIT_STATUSES.replace("\b", "").split()))
    exit_status = 0

    def get_version(self):
        return __version__

    def add_arguments(self, parser):
        parser.add_argument("--products", action="store_true", help="update products and prices (the job)")
        parser.add_argument("--inbox", type=Path, default=None, help="folder of input files [settings.UPDATE_INBOX]")
        parser.add_argument("--archive", type=Path, default=None, help="where processed files go")
        parser.add_argument("--rejected", type=Path, default=None, help="where refused files go, with a reason")
        parser.add_argument("--index-path", type=Path, default=None, help="the LMDB index directory")
        # Values are checked by update.options, not argparse, so both commands refuse them alike.
        parser.add_argument("--index-backend", default="lmdb",
                            help="lmdb (on disk, the default) or memory (dicts rebuilt every run: the baseline)")
        parser.add_argument("--chunk-size", type=int, default=None, help="lines per batch of queries (1-5000) [500]")
        parser.add_argument("--report", default=None, metavar="FILE|DIR|-",
                            help="write the run report as JSON to FILE, a new file in DIR, or stdout (-)")
        parser.add_argument("--dry-run", action="store_true", help="compute and report; write nothing")
        parser.add_argument("--silent", action="store_true", help="only the summary line")
        parser.add_argument("--max-memory", type=int, default=None, metavar="MB",
                            help="stop between files once anonymous memory passes MB")
        parser.add_argument("--settle-seconds", type=float, default=0, metavar="S",
                            help="leave files modified in the last S seconds for the next run")

    def handle(self, *args, **opts):
        if not opts["products"]:
            raise CommandError("say what to update: --products", returncode=EXIT_USAGE)
        set_verbosity(opts["verbosity"])
        report = opts["report"]
        # The raw stream: Django's wrapper ends every write with a newline, which would break the bar.
        out = sys.stderr if report == "-" else getattr(self.stdout, "_out", self.stdout)
        try:
            refuse_missing_sqlite()
            options = update_options(
                inbox=opts["inbox"] or settings.UPDATE_INBOX, archive=opts["archive"] or settings.UPDATE_ARCHIVE,
                rejected=opts["rejected"] or settings.UPDATE_REJECTED,
                index_path=opts["index_path"] or settings.UPDATE_INDEX_PATH,
                index_backend=opts["index_backend"], chunk_size=opts["chunk_size"], dry_run=opts["dry_run"],
                max_memory_mb=opts["max_memory"], settle_seconds=opts["settle_seconds"],
                progress=for_stream(out, silent=opts["silent"], verbosity=opts["verbosity"], errors=sys.stderr))
            options.report = report
            ignore_after_the_run()
            result = run_update(options)
        except (OptionError, MissingDatabase) as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None
        except FolderNotWritable as exc:
            raise CommandError(exc.strerror, returncode=EXIT_USAGE) from None
        except UpdateLocked as exc:
            raise CommandError(str(exc), returncode=EXIT_LOCKED) from None
        print_summary(result, out)
        self.exit_status = result.exit_status

    def run_from_argv(self, argv):
        # As Django's, but every error is one line (a traceback with --traceback or -v 2) and the exit
        # status is the update's: a crash exits 4, not Python's 1, which means "lines rejected".
        parser = self.create_parser(argv[0], argv[1])
        options = parser.parse_args(argv[2:])
        cmd_options = vars(options)
        args = cmd_options.pop("args", ())
        verbose = options.traceback or options.verbosity >= 2
        try:
            from django.core.management.base import handle_default_options

            handle_default_options(options)
            self.execute(*args, **cmd_options)
        except CommandError as exc:
            if verbose:
                traceback.print_exc()
            sys.stderr.write(f"update: {exc}\n")
            sys.exit(exc.returncode)
        except (KeyboardInterrupt, Interrupted) as exc:
            sys.stderr.write(f"update: {exc or 'interrupted'} before the run started; nothing was changed\n")
            sys.exit(EXIT_INTERRUPTED)
        except Exception as exc:
            if verbose:
                traceback.print_exc()
            sys.stderr.write(f"update: failed: {explain(exc)}\n")
            sys.exit(EXIT_FAILED)
        finally:
            from django.db import connections

            connections.close_all()
        if self.exit_status:
            sys.exit(self.exit_status)
