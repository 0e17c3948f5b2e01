"""What keeps tier 1 true to the catalog: the change log the triggers fill, and the database's identity.

Both tables were created by catalog migration 0002 and keep their names; this app owns them since its
migration 0001 (state only: nothing in the database changed).
"""
from django.db import models

# Spelled out rather than imported from catalog: this app imports neither catalog nor update.
NNBS_MAX_LENGTH = 255


class IndexChange(models.Model):
    """A change to the index keys or slim record of a product, an SKU or a brand, written by triggers.

    Triggers rather than Django signals, so an admin edit, a raw SQL delete or a merge script is logged
    exactly like the update's own writes. Old keys travel with the row because a deleted product can no
    longer be read back. The index applies these rows at the start of a run and then deletes them: see
    ``diskcache_tier.catchup``. ``writer_txid`` is the writing transaction on PostgreSQL (NULL on SQLite,
    where a file's transaction is the only writer), so a file can tell its own rows from another's.
    """

    PRODUCT, SKU, BRAND, REBUILD = "p", "s", "b", "r"

    kind = models.CharField(max_length=1)
    # Plain integers, not foreign keys: the row they name may already be gone.
    product_id = models.BigIntegerField(null=True)
    brand_id = models.BigIntegerField(null=True)
    company_id = models.BigIntegerField(null=True)
    sku = models.CharField(max_length=100, null=True)
    old_nnbs = models.CharField(max_length=NNBS_MAX_LENGTH, null=True)
    old_barcode = models.CharField(max_length=13, null=True)
    old_variations = models.JSONField(null=True)
    writer_txid = models.BigIntegerField(null=True)

    class Meta:
        db_table = "catalog_indexchange"


class DatabaseIdentity(models.Model):
    """One row: a random token naming this database, so an index built from another one is rebuilt.

    A token stored in the database survives a new host name, port or file path, which a connection
    string would not.
    """

    token = models.CharField(max_length=32)

    class Meta:
        db_table = "catalog_databaseidentity"
