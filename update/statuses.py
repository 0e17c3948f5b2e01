"""Exit statuses of ``bin/update-products`` and ``manage.py update``, and which one a run ends with.

Also listed in the README and in ``--help``; cron and systemd read them, so they never change meaning.
"""
from __future__ import annotations

# Defined with the ledger, which records them and whose admin reads them (ledger/statuses.py).
from ledger.statuses import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_OK, EXIT_REJECTED,  # noqa: F401
                             EXIT_USAGE)

EXIT_STATUSES = f"""\b
Exit statuses:
  {EXIT_OK}  success
  {EXIT_REJECTED}  success, but files or lines were rejected (see the report)
  {EXIT_USAGE}  usage error: bad option or environment, or a folder that can't be written; nothing touched
  {EXIT_LOCKED}  another run holds the lock
  {EXIT_FAILED}  failure: a file failed, --max-memory stopped the run early, or the run could not go on
  {EXIT_INTERRUPTED}  interrupted (SIGTERM, SIGINT): the current file rolled back, the rest left in the inbox
"""


def status_of(report) -> int:
    if report.interrupted:
        return EXIT_INTERRUPTED
    if report.count("failed") or report.stopped_early or report.move_failures or report.report_error:
        return EXIT_FAILED
    if (report.count("rejected") or report.count("would reject")
            or any(f.lines_rejected for f in report.files)):
        return EXIT_REJECTED
    return EXIT_OK
