"""Bring stored barcodes to their canonical 13-digit GTIN form (catalog.gtin).

Only 8- and 12-digit barcodes change: a 13-digit one is already canonical. A barcode whose canonical
form another product already holds stays as it is, since the column is unique: those pairs are
duplicates of one item, left for `manage.py reconcile` to merge. A stored barcode that is not a valid
GTIN is left alone too (the update never matches a line to it, since it drops such barcodes).
The index learns the new spellings through the change-log triggers, and is rebuilt after migrate anyway.
"""
from django.db import migrations
from django.db.models.functions import Length

# Products per keyset batch: one read, one existence query and one bulk update each.
BATCH = 2_000


def _check_digit(body: str) -> int:
    # Frozen copy of catalog.gtin.check_digit: a migration must not change when the library does.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def _canonical(code: str):
    if not (code.isascii() and code.isdigit() and len(code) in (8, 12)):
        return None
    if _check_digit(code[:-1]) != int(code[-1]):
        return None
    return code.zfill(13)


def canonicalize(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    db = schema_editor.connection.alias
    short = (Product.objects.using(db).annotate(barcode_length=Length("barcode"))
             .filter(barcode_length__in=[8, 12]).order_by("id"))
    last = 0
    while True:
        rows = list(short.filter(id__gt=last).values_list("id", "barcode")[:BATCH])
        if not rows:
            return
        last = rows[-1][0]
        wanted = {pid: _canonical(code) for pid, code in rows}
        wanted = {pid: code for pid, code in wanted.items() if code}
        taken = set(Product.objects.using(db).filter(barcode__in=list(wanted.values()))
                    .values_list("barcode", flat=True))
        changed = []
        for pid, code in wanted.items():
            if code not in taken:
                taken.add(code)
                changed.append(Product(id=pid, barcode=code))
        Product.objects.using(db).bulk_update(changed, ["barcode"], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0003_move_index_models'),
    ]

    operations = [
        migrations.RunPython(canonicalize, migrations.RunPython.noop),
    ]
