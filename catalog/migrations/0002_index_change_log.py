"""The change log that keeps the tier-1 index true to the database, and this database's identity token.

Triggers on products, SKUs and brands append a row to catalog_indexchange for every change to an index
key, whoever makes it (the update, the admin, a script, raw SQL). The SQL differs per vendor; both
databases the project supports have row triggers.
"""
import uuid

from django.db import migrations, models

_PRODUCT_KEYS_CHANGED = " OR ".join(
    f"OLD.{column} IS {{distinct}} NEW.{column}"
    for column in ("id", "normalized_name_brand_size", "barcode", "normalized_name_brand_size_variations",
                   "brand_id"))
_SKU_CHANGED = " OR ".join(f"OLD.{c} IS {{distinct}} NEW.{c}" for c in ("company_id", "sku", "product_id"))
_LOG = "INSERT INTO catalog_indexchange (kind, product_id, brand_id, company_id, sku, old_nnbs, old_barcode, " \
       "old_variations) "
_OLD_PRODUCT = _LOG + ("VALUES ('p', OLD.id, NULL, NULL, NULL, OLD.normalized_name_brand_size, OLD.barcode, "
                       "OLD.normalized_name_brand_size_variations)")
_NEW_PRODUCT = _LOG + "VALUES ('p', NEW.id, NULL, NULL, NULL, NULL, NULL, NULL)"
_OLD_SKU = _LOG + "VALUES ('s', OLD.product_id, NULL, OLD.company_id, OLD.sku, NULL, NULL, NULL)"
_NEW_SKU = _LOG + "VALUES ('s', NEW.product_id, NULL, NEW.company_id, NEW.sku, NULL, NULL, NULL)"
_BRAND = _LOG + "VALUES ('b', NULL, NEW.id, NULL, NULL, NULL, NULL, NULL)"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER catalog_product_index_ins AFTER INSERT ON catalog_product BEGIN {_NEW_PRODUCT}; END",
    f"CREATE TRIGGER catalog_product_index_upd AFTER UPDATE ON catalog_product "
    f"WHEN {_PRODUCT_KEYS_CHANGED.format(distinct='NOT')} BEGIN {_OLD_PRODUCT}; "
    f"{_LOG} SELECT 'p', NEW.id, NULL, NULL, NULL, NULL, NULL, NULL WHERE NEW.id IS NOT OLD.id; END",
    f"CREATE TRIGGER catalog_product_index_del AFTER DELETE ON catalog_product BEGIN {_OLD_PRODUCT}; END",
    f"CREATE TRIGGER catalog_sku_index_ins AFTER INSERT ON catalog_sku BEGIN {_NEW_SKU}; END",
    f"CREATE TRIGGER catalog_sku_index_upd AFTER UPDATE ON catalog_sku "
    f"WHEN {_SKU_CHANGED.format(distinct='NOT')} BEGIN {_OLD_SKU}; {_NEW_SKU}; END",
    f"CREATE TRIGGER catalog_sku_index_del AFTER DELETE ON catalog_sku BEGIN {_OLD_SKU}; END",
    f"CREATE TRIGGER catalog_productbrand_index_upd AFTER UPDATE ON catalog_productbrand "
    f"WHEN OLD.normalized_name IS NOT NEW.normalized_name BEGIN {_BRAND}; END",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name}" for name in (
    "catalog_product_index_ins", "catalog_product_index_upd", "catalog_product_index_del",
    "catalog_sku_index_ins", "catalog_sku_index_upd", "catalog_sku_index_del", "catalog_productbrand_index_upd")]

POSTGRESQL_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION catalog_product_index_log() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_NEW_PRODUCT};
    ELSIF TG_OP = 'DELETE' THEN
        {_OLD_PRODUCT};
    ELSIF {_PRODUCT_KEYS_CHANGED.format(distinct='DISTINCT FROM')} THEN
        {_OLD_PRODUCT};
        IF NEW.id <> OLD.id THEN {_NEW_PRODUCT}; END IF;
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE FUNCTION catalog_sku_index_log() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_NEW_SKU};
    ELSIF TG_OP = 'DELETE' THEN
        {_OLD_SKU};
    ELSIF {_SKU_CHANGED.format(distinct='DISTINCT FROM')} THEN
        {_OLD_SKU};
        {_NEW_SKU};
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE FUNCTION catalog_productbrand_index_log() RETURNS trigger AS $$
BEGIN
    IF OLD.normalized_name IS DISTINCT FROM NEW.normalized_name THEN {_BRAND}; END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
    # TRUNCATE fires no row trigger: log that the whole index must be rebuilt.
    f"""CREATE OR REPLACE FUNCTION catalog_index_truncated() RETURNS trigger AS $$
BEGIN
    {_LOG} VALUES ('r', NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER catalog_product_index_log AFTER INSERT OR UPDATE OR DELETE ON catalog_product "
    "FOR EACH ROW EXECUTE FUNCTION catalog_product_index_log()",
    "CREATE TRIGGER catalog_sku_index_log AFTER INSERT OR UPDATE OR DELETE ON catalog_sku "
    "FOR EACH ROW EXECUTE FUNCTION catalog_sku_index_log()",
    "CREATE TRIGGER catalog_productbrand_index_log AFTER UPDATE ON catalog_productbrand "
    "FOR EACH ROW EXECUTE FUNCTION catalog_productbrand_index_log()",
    "CREATE TRIGGER catalog_product_index_truncate AFTER TRUNCATE ON catalog_product "
    "FOR EACH STATEMENT EXECUTE FUNCTION catalog_index_truncated()",
    "CREATE TRIGGER catalog_sku_index_truncate AFTER TRUNCATE ON catalog_sku "
    "FOR EACH STATEMENT EXECUTE FUNCTION catalog_index_truncated()",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS catalog_product_index_log ON catalog_product",
    "DROP TRIGGER IF EXISTS catalog_sku_index_log ON catalog_sku",
    "DROP TRIGGER IF EXISTS catalog_productbrand_index_log ON catalog_productbrand",
    "DROP TRIGGER IF EXISTS catalog_product_index_truncate ON catalog_product",
    "DROP TRIGGER IF EXISTS catalog_sku_index_truncate ON catalog_sku",
    "DROP FUNCTION IF EXISTS catalog_product_index_log()",
    "DROP FUNCTION IF EXISTS catalog_sku_index_log()",
    "DROP FUNCTION IF EXISTS catalog_productbrand_index_log()",
    "DROP FUNCTION IF EXISTS catalog_index_truncated()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise NotImplementedError(
                f"no index change-log triggers for {schema_editor.connection.vendor}: the index could not "
                f"catch up with changes made outside the update")
        for sql in statements:
            schema_editor.execute(sql, params=None)
    return run


def create_identity(apps, schema_editor):
    apps.get_model("catalog", "DatabaseIdentity").objects.using(schema_editor.connection.alias).create(
        token=uuid.uuid4().hex)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='DatabaseIdentity',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token', models.CharField(max_length=32)),
            ],
        ),
        migrations.CreateModel(
            name='IndexChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=1)),
                ('product_id', models.BigIntegerField(null=True)),
                ('brand_id', models.BigIntegerField(null=True)),
                ('company_id', models.BigIntegerField(null=True)),
                ('sku', models.CharField(max_length=100, null=True)),
                ('old_nnbs', models.CharField(max_length=255, null=True)),
                ('old_barcode', models.CharField(max_length=13, null=True)),
                ('old_variations', models.JSONField(null=True)),
            ],
        ),
        migrations.RunPython(create_identity, migrations.RunPython.noop),
        migrations.RunPython(_run({"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}),
                             _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP})),
    ]
