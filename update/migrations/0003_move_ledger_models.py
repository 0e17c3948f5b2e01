"""The run ledger now belongs to the ledger app: update forgets UpdateRun and RunFile, state only.

The tables (update_updaterun, update_runfile), their rows, indexes and constraints stay.
"""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("update", "0002_link_run_files_to_stores"),
        ("ledger", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="RunFile"),
                migrations.DeleteModel(name="UpdateRun"),
            ],
            database_operations=[],
        ),
    ]
