"""The folded company name becomes required and unique (filled by 0005, in its own transaction so
PostgreSQL alters the table with no row changes pending)."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0005_company_folded_name'),
    ]

    operations = [
        migrations.AlterField(
            model_name='company',
            name='folded_name',
            field=models.CharField(editable=False, max_length=100, unique=True),
        ),
    ]
