"""What `index stats` prints: how big the index is, what wrote it, how old it is, what it has not applied."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from . import changelog
from .build_index import why_rebuild
from .lookup import LmdbIndex, index_size_bytes, lmdb_version


def index_stats(path: Path) -> dict:
    path = Path(path)
    problem = why_rebuild(path)
    stats: dict = {"path": str(path), "usable": problem is None, "rebuild_reason": problem}
    if problem is not None and problem.startswith(("index missing", "index unreadable")):
        return stats
    with LmdbIndex(path, readonly=True) as index:
        meta = index.meta()
        counts = index.counts()
        map_size = index.env.info()["map_size"]
    size = index_size_bytes(path)
    now = datetime.now(timezone.utc)
    watermark = meta.get("changes_applied_through")
    stats.update({
        "counts": counts,
        "size_bytes": size,
        "map_size_bytes": map_size,
        "bytes_per_product": round(size / counts["products"], 1) if counts["products"] else None,
        "format": meta.get("format"),
        "lmdb_version": meta.get("lmdb_version"),
        "lmdb_version_running": lmdb_version(),
        "built_at": meta.get("built_at"),
        "age_s": _age(meta.get("built_at"), now),
        "caught_up_at": meta.get("caught_up_at"),
        "build_seconds": meta.get("build_seconds"),
        "database": meta.get("database"),
        "database_location": meta.get("database_location"),
        "changes_applied_through": watermark,
        "changes_pending": changelog.pending(watermark) if watermark is not None else None,
    })
    return stats


def _age(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    return round((now - datetime.fromisoformat(stamp)).total_seconds(), 1)


def format_stats(stats: dict) -> str:
    if "counts" not in stats:
        return f"{stats['path']}: not usable ({stats['rebuild_reason']})"
    counts = stats["counts"]
    lines = [
        f"index          {stats['path']}",
        f"usable         {'yes' if stats['usable'] else 'no: ' + stats['rebuild_reason']}",
        f"products       {counts['products']:,}",
        f"barcodes       {counts['barcode']:,}",
        f"nnbs keys      {counts['nnbs']:,} (own NNBS and variations)",
        f"skus           {counts['sku']:,}",
        f"size on disk   {stats['size_bytes'] / 2**20:,.1f} MB "
        f"(map {stats['map_size_bytes'] / 2**30:,.1f} GiB of address space)",
        f"per product    {stats['bytes_per_product'] or 0:,.0f} bytes",
        f"format         {stats['format']}, lmdb {stats['lmdb_version']} "
        f"(running {stats['lmdb_version_running']})",
        f"built          {stats['built_at']} ({_human(stats['age_s'])} ago, in {stats['build_seconds']}s)",
        f"caught up      {stats['caught_up_at'] or 'not since the build'}",
        f"change log     applied through {stats['changes_applied_through']}, "
        f"{stats['changes_pending']} pending",
        f"database       {stats['database']} ({stats['database_location']})",
    ]
    return "\n".join(lines)


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"
