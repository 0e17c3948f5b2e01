"""The run ledger as the operator reads it: ``runs``, ``runs show ID`` and ``rejected``.

``bin/update-products`` prints these (update/cli.py); ``retry`` and the admin's front page read
``waiting_rejected``.
"""
from __future__ import annotations

from pathlib import Path

import orjson

from .figures import rolled_back_in_words
from .models import RunFile, UpdateRun

RUN_FIELDS = ("id", "started_at", "finished_at", "status", "exit_status", "version", "dry_run", "index_backend",
              "hostname", "pid", "peak_anon_bytes", "peak_rss_bytes", "totals", "reason", "report_path")
FILE_FIELDS = ("id", "name", "size", "sha256", "store_id", "company", "store_code", "scraped_date", "status",
               "reason", "counts", "moved_to", "rejects_file", "started_at", "finished_at", "retried_at")


def _json(data) -> str:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def _time(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else "-"


def run_line(run: UpdateRun) -> str:
    files = run.totals.get("files", {}) if run.totals else {}
    by_status = ", ".join(f"{n} {status}" for status, n in sorted(files.items())) or "no files"
    t = run.totals or {}
    changed = (f"products +{t.get('products_created', 0)} ~{t.get('products_updated', 0)}, prices "
               f"+{t.get('prices_created', 0)} ~{t.get('prices_updated', 0)} -{t.get('prices_deleted', 0)}")
    if t.get("rolled_back"):
        changed += f" (rolled back, not counted: {rolled_back_in_words(t['rolled_back'])})"
    exit_status = "-" if run.exit_status is None else run.exit_status
    return (f"{run.pk:>6}  {_time(run.started_at)}  {run.status:<11} exit {exit_status}  "
            f"{'dry run  ' if run.dry_run else ''}{by_status}; {changed}; "
            f"peak anon {run.peak_anon_bytes / 2**20:.0f} MB; v{run.version}"
            + (f"; {run.reason}" if run.reason else ""))


def list_runs(last: int, as_json: bool) -> str:
    runs = list(UpdateRun.objects.order_by("-started_at", "-id")[:last])
    if as_json:
        return _json([{f: getattr(r, f) for f in RUN_FIELDS} for r in runs])
    if not runs:
        return "no runs yet"
    return "\n".join(run_line(r) for r in runs)


def show_run(run_id: int, as_json: bool) -> str | None:
    run = UpdateRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    # A run's files come in one query, not one per file; a run has at most an inbox's worth.
    files = list(run.files.order_by("id"))
    if as_json:
        return _json({**{f: getattr(run, f) for f in RUN_FIELDS},
                      "files": [{f: getattr(rf, f) for f in FILE_FIELDS} for rf in files]})
    lines = [run_line(run), f"        finished {_time(run.finished_at)} on {run.hostname} (pid {run.pid}), "
                            f"{run.index_backend} index" + (f", report {run.report_path}" if run.report_path else "")]
    for rf in files:
        c = rf.counts or {}
        detail = (f"{c.get('unique_lines', 0)} products: {c.get('products_created', 0)} new, "
                  f"{c.get('products_updated', 0)} updated; prices {c.get('prices_created', 0)} new, "
                  f"{c.get('prices_updated', 0)} changed, {c.get('prices_deleted', 0)} deleted"
                  if rf.status in (RunFile.PROCESSED, RunFile.WOULD_PROCESS) else rf.reason)
        if c.get("rolled_back"):
            detail += f"; not kept: {rolled_back_in_words(c['rolled_back'])}"
        lines.append(f"  {rf.name}: {rf.status} ({detail})" + (f" -> {rf.moved_to}" if rf.moved_to else "")
                     + (f" [retried {_time(rf.retried_at)}]" if rf.retried_at else ""))
    return "\n".join(lines)


def waiting_rejected():
    """Rejected files not yet retried whose file is still where the run put it."""
    rows = (RunFile.objects.filter(status=RunFile.REJECTED, retried_at__isnull=True, run__dry_run=False)
            .exclude(moved_to="").order_by("id"))
    for row in rows.iterator(chunk_size=500):
        if Path(row.moved_to).is_file():
            yield row


def list_rejected(as_json: bool) -> str:
    rows = list(waiting_rejected())
    if as_json:
        return _json([{"name": Path(r.moved_to).name, "run": r.run_id, "rejected_at": r.finished_at,
                       "reason": r.reason, "path": r.moved_to} for r in rows])
    if not rows:
        return "no rejected files waiting"
    return "\n".join(f"{Path(r.moved_to).name}  (run {r.run_id}, {_time(r.finished_at)}): {r.reason}" for r in rows)
