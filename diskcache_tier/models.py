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
    # Every log id up to here has been deleted (consumed by every registered index): an index whose
    # watermark is below it has lost the rows it needed.
    pruned_through = models.BigIntegerField(default=0)

    class Meta:
        db_table = "catalog_databaseidentity"


class LogConsumer(models.Model):
    """An index that follows the change log (one per index folder and host), registered in the database.

    Log rows are pruned only past every registered consumer's watermark, so a second index (another
    path, another host) still sees the first one's writes. ``generation`` advances with every file the
    consumer's update commits and at every start, in the database and in the index's meta together: a
    database restored from an older backup shows an older generation than the index, an index folder
    restored from an older backup an older confirmed one than the database, and either way the index is
    rebuilt.
    A consumer not seen for ``INDEX_CONSUMER_STALE_HOURS`` is dropped (its rows no longer hold the log
    back) and rebuilds when it returns.
    """

    consumer = models.CharField(max_length=32, unique=True)
    watermark = models.BigIntegerField(default=0)
    generation = models.BigIntegerField(default=0)
    # The last generation whose index commit is known to have landed (recorded just after it): a database
    # ahead of the index by generations past this one saw a crash between its commit and the index's,
    # whose rows are still in the log for a catch-up; ahead by a confirmed one, the index is older.
    confirmed = models.BigIntegerField(default=0)
    last_seen = models.DateTimeField()
    location = models.CharField(max_length=1000, blank=True)

    class Meta:
        db_table = "diskcache_tier_logconsumer"
