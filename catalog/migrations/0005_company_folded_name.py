"""Companies are matched on their case- and whitespace-folded name, unique; the display name stays.

A catalog holding two spellings of one company ("IGA" and "iga") can't be carried forward by a
column fill: their stores, SKUs and categories would have to be merged, and which store of one is
which of the other is the operator's call. The migration refuses, naming the spellings, and changes
nothing; rename or merge them (the admin, or SQL) and migrate again.
"""
from django.db import migrations, models


def fold(name: str) -> str:
    # Frozen copy of catalog.models.fold_company_name.
    return "".join(name.split()).casefold()


def fill_folded_names(apps, schema_editor):
    Company = apps.get_model("catalog", "Company")
    db = schema_editor.connection.alias
    # Companies are a handful of retailers: reading them all is fine.
    spellings: dict[str, list[str]] = {}
    companies = list(Company.objects.using(db).order_by("id"))
    for company in companies:
        spellings.setdefault(fold(company.name), []).append(company.name)
    clashes = [names for names in spellings.values() if len(names) > 1]
    if clashes:
        listed = "; ".join(" and ".join(repr(n) for n in names) for names in clashes)
        raise RuntimeError(f"companies differ only in case or spaces: {listed}; merge or rename them, then "
                           f"migrate again")
    for company in companies:
        company.folded_name = fold(company.name)
    Company.objects.using(db).bulk_update(companies, ["folded_name"])


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0004_canonical_gtin_barcodes'),
    ]

    operations = [
        migrations.AddField(
            model_name='company',
            name='folded_name',
            field=models.CharField(editable=False, max_length=100, null=True),
        ),
        migrations.RunPython(fill_folded_names, migrations.RunPython.noop),
    ]
