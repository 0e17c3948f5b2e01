"""The triggers that fill the change log, as SQL per database vendor (applied by this app's migrations).

A product row is logged when anything the index keeps of it changes: its keys (id, NNBS, variations,
barcode), its brand, and what its slim record says enrichment could still add (url, image_url, sizes,
brand_name_company_pairs). On PostgreSQL each row also carries ``txid_current()``, the top-level
transaction even inside a savepoint, so an update can tell its own rows from another writer's.
"""

LOG_TABLE = "catalog_indexchange"
PRODUCT_LOGGED_COLUMNS = ("id", "normalized_name_brand_size", "barcode", "normalized_name_brand_size_variations",
                          "brand_id", "url", "image_url", "sizes", "brand_name_company_pairs")


# What catalog migration 0002 logged, restored when migration 0002 of this app is reversed.
V1_PRODUCT_LOGGED_COLUMNS = PRODUCT_LOGGED_COLUMNS[:5]


def _statements(txid: str | None) -> dict:
    column = ", writer_txid" if txid else ""
    txid = f", {txid}" if txid else ""
    log = (f"INSERT INTO {LOG_TABLE} (kind, product_id, brand_id, company_id, sku, old_nnbs, old_barcode, "
           f"old_variations{column}) ")
    return {
        "log": log,
        "old_product": log + ("VALUES ('p', OLD.id, NULL, NULL, NULL, OLD.normalized_name_brand_size, OLD.barcode, "
                              f"OLD.normalized_name_brand_size_variations{txid})"),
        "new_product": log + f"VALUES ('p', NEW.id, NULL, NULL, NULL, NULL, NULL, NULL{txid})",
        "old_sku": log + f"VALUES ('s', OLD.product_id, NULL, OLD.company_id, OLD.sku, NULL, NULL, NULL{txid})",
        "new_sku": log + f"VALUES ('s', NEW.product_id, NULL, NEW.company_id, NEW.sku, NULL, NULL, NULL{txid})",
        "brand": log + f"VALUES ('b', NULL, NEW.id, NULL, NULL, NULL, NULL, NULL{txid})",
        "rebuild": log + f"VALUES ('r', NULL, NULL, NULL, NULL, NULL, NULL, NULL{txid})",
    }


def _changed(columns, distinct: str) -> str:
    return " OR ".join(f"OLD.{c} IS {distinct} NEW.{c}" for c in columns)


_SQLITE_NAMES = ("catalog_product_index_ins", "catalog_product_index_upd", "catalog_product_index_del",
                 "catalog_sku_index_ins", "catalog_sku_index_upd", "catalog_sku_index_del",
                 "catalog_productbrand_index_upd")
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_NAMES]


def sqlite_create(product_columns=PRODUCT_LOGGED_COLUMNS, *, with_txid: bool = True) -> list[str]:
    sq = _statements("NULL" if with_txid else None)
    extra = ", NULL" if with_txid else ""
    return [
        f"CREATE TRIGGER catalog_product_index_ins AFTER INSERT ON catalog_product BEGIN {sq['new_product']}; END",
        f"CREATE TRIGGER catalog_product_index_upd AFTER UPDATE ON catalog_product "
        f"WHEN {_changed(product_columns, 'NOT')} BEGIN {sq['old_product']}; "
        f"{sq['log']} SELECT 'p', NEW.id, NULL, NULL, NULL, NULL, NULL, NULL{extra} WHERE NEW.id IS NOT OLD.id; END",
        f"CREATE TRIGGER catalog_product_index_del AFTER DELETE ON catalog_product BEGIN {sq['old_product']}; END",
        f"CREATE TRIGGER catalog_sku_index_ins AFTER INSERT ON catalog_sku BEGIN {sq['new_sku']}; END",
        f"CREATE TRIGGER catalog_sku_index_upd AFTER UPDATE ON catalog_sku "
        f"WHEN {_changed(('company_id', 'sku', 'product_id'), 'NOT')} BEGIN {sq['old_sku']}; {sq['new_sku']}; END",
        f"CREATE TRIGGER catalog_sku_index_del AFTER DELETE ON catalog_sku BEGIN {sq['old_sku']}; END",
        f"CREATE TRIGGER catalog_productbrand_index_upd AFTER UPDATE ON catalog_productbrand "
        f"WHEN OLD.normalized_name IS NOT NEW.normalized_name BEGIN {sq['brand']}; END",
    ]


def postgresql_create(product_columns=PRODUCT_LOGGED_COLUMNS, *, with_txid: bool = True) -> list[str]:
    """CREATE OR REPLACE keeps the triggers of catalog migration 0002, which call these functions by name."""
    pg = _statements("txid_current()" if with_txid else None)
    return [
        f"""CREATE OR REPLACE FUNCTION catalog_product_index_log() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {pg['new_product']};
    ELSIF TG_OP = 'DELETE' THEN
        {pg['old_product']};
    ELSIF {_changed(product_columns, 'DISTINCT FROM')} THEN
        {pg['old_product']};
        IF NEW.id <> OLD.id THEN {pg['new_product']}; END IF;
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
        f"""CREATE OR REPLACE FUNCTION catalog_sku_index_log() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {pg['new_sku']};
    ELSIF TG_OP = 'DELETE' THEN
        {pg['old_sku']};
    ELSIF {_changed(('company_id', 'sku', 'product_id'), 'DISTINCT FROM')} THEN
        {pg['old_sku']};
        {pg['new_sku']};
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
        f"""CREATE OR REPLACE FUNCTION catalog_productbrand_index_log() RETURNS trigger AS $$
BEGIN
    IF OLD.normalized_name IS DISTINCT FROM NEW.normalized_name THEN {pg['brand']}; END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
        f"""CREATE OR REPLACE FUNCTION catalog_index_truncated() RETURNS trigger AS $$
BEGIN
    {pg['rebuild']};
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
    ]


def run_for_vendor(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise NotImplementedError(
                f"no index change-log triggers for {schema_editor.connection.vendor}: the index could not "
                f"catch up with changes made outside the update")
        for sql in statements:
            schema_editor.execute(sql, params=None)
    return run


def reinstall_on_sqlite():
    """For a migration that makes SQLite remake ``catalog_product`` (an AlterField, a RemoveField): the
    remake drops the old table's triggers with it, and the index would stop hearing of edits made outside
    the update. PostgreSQL alters the table in place and keeps them."""
    return run_for_vendor({"sqlite": SQLITE_DROP + sqlite_create(), "postgresql": []})
