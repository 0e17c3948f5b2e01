"""Text search over product names, NNBS and variations that reads an index, not the whole table.

The admin's fallback search (no barcode, SKU or NNBS matched) was ``icontains`` on three columns: 1.6 to
2.2 s at 1M products (docs/admin.md). A substring search needs trigrams:

- SQLite: an FTS5 table with the trigram tokenizer (SQLite 3.34+), external content (the rows stay in
  catalog_product, the table holds only the index), kept by triggers on catalog_product and filled from
  the existing rows when this migration runs ('rebuild').
- PostgreSQL: pg_trgm GIN indexes on the expressions Django's ``icontains`` compares,
  ``UPPER(column::text)``, so the ORM's own query uses them.

Both give substring matches for terms of three or more characters, case-insensitively, as ``icontains``
did; catalog/admin/search.py falls back to ``icontains`` for shorter terms.

Also an index on SKU (company, product) for the admin's company filter, which lists the products with an
SKU of a company: the company's product ids come from the index alone, without reading SKU rows.
"""
from django.db import migrations, models

FTS = "catalog_product_text"
COLUMNS = ("name", "normalized_name_brand_size", "normalized_name_brand_size_variations")
_LISTED = ", ".join(COLUMNS)
_NEW = ", ".join(f"NEW.{c}" for c in COLUMNS)
_OLD = ", ".join(f"OLD.{c}" for c in COLUMNS)
_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COLUMNS)
_ADD = f"INSERT INTO {FTS} (rowid, {_LISTED}) VALUES (NEW.id, {_NEW})"
_REMOVE = f"INSERT INTO {FTS} ({FTS}, rowid, {_LISTED}) VALUES ('delete', OLD.id, {_OLD})"

SQLITE_FORWARD = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5({_LISTED}, content='catalog_product', content_rowid='id', "
    "tokenize='trigram')",
    f"CREATE TRIGGER {FTS}_ins AFTER INSERT ON catalog_product BEGIN {_ADD}; END",
    f"CREATE TRIGGER {FTS}_del AFTER DELETE ON catalog_product BEGIN {_REMOVE}; END",
    # Only when a searched column changed: the update rewrites products' other fields far more often.
    f"CREATE TRIGGER {FTS}_upd AFTER UPDATE ON catalog_product WHEN {_CHANGED} OR OLD.id IS NOT NEW.id "
    f"BEGIN {_REMOVE}; {_ADD}; END",
    # The catalog this migration finds: indexed from its rows, in one pass.
    f"INSERT INTO {FTS} ({FTS}) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {FTS}_{kind}" for kind in ("ins", "del", "upd")] + [
    f"DROP TABLE IF EXISTS {FTS}"]

_TRIGRAM_INDEXES = {f"catalog_product_{short}_trgm": column for short, column in
                    (("name", "name"), ("nnbs", "normalized_name_brand_size"),
                     ("variations", "normalized_name_brand_size_variations"))}
POSTGRESQL_FORWARD = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"] + [
    f"CREATE INDEX IF NOT EXISTS {name} ON catalog_product USING gin ((UPPER({column}::text)) gin_trgm_ops)"
    for name, column in _TRIGRAM_INDEXES.items()]
# The extension stays: another schema's objects may use it.
POSTGRESQL_BACKWARD = [f"DROP INDEX IF EXISTS {name}" for name in _TRIGRAM_INDEXES]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(statement)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0008_product_canonical_nnbs_unique'),
    ]

    operations = [
        migrations.RunPython(_run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
                             _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD})),
        migrations.AddIndex(
            model_name='sku',
            index=models.Index(fields=['company', 'product'], name='sku_company_product'),
        ),
    ]
