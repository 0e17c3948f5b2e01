"""Exit statuses of ``bin/update-products`` and ``manage.py update``: what a run's ``exit_status`` means.

Here, below ``update``, because the ledger records them and its admin reads them; ``update.statuses``
says them in ``--help`` and decides which one a run ends with. Cron and systemd read them too, so they
never change meaning.
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_REJECTED = 1  # the run finished, but some files or lines were refused (see the report)
EXIT_USAGE = 2  # bad option, environment or folder; nothing was touched
EXIT_LOCKED = 3  # another update holds the lock; nothing was done
EXIT_FAILED = 4  # a file failed, the memory guard stopped the run, or the run could not go on
EXIT_INTERRUPTED = 5  # SIGTERM or SIGINT: the current file rolled back, the rest left in the inbox
