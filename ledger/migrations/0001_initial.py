"""The ledger takes over the update's run ledger: state only.

update migration 0001 created both tables (update_updaterun, update_runfile) and 0002 linked their rows
to stores; their names stay as they are, so a ledger written by the previous release keeps its rows.
update migration 0003 drops the two models from update's state in the same plan.
"""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("catalog", "0006_company_folded_name_unique"),
        ("update", "0002_link_run_files_to_stores"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="UpdateRun",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("started_at", models.DateTimeField(db_index=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("status", models.CharField(choices=[
                            ("running", "running"), ("finished", "finished"), ("failed", "failed"),
                            ("interrupted", "interrupted"), ("died", "died")],
                            default="running", max_length=20)),
                        ("exit_status", models.SmallIntegerField(blank=True, null=True)),
                        ("version", models.CharField(max_length=50)),
                        ("hostname", models.CharField(blank=True, max_length=255)),
                        ("pid", models.IntegerField(blank=True, null=True)),
                        ("dry_run", models.BooleanField(default=False)),
                        ("index_backend", models.CharField(blank=True, max_length=50)),
                        ("peak_anon_bytes", models.BigIntegerField(default=0)),
                        ("peak_rss_bytes", models.BigIntegerField(default=0)),
                        ("totals", models.JSONField(blank=True, default=dict)),
                        ("reason", models.TextField(blank=True)),
                        ("report_path", models.CharField(blank=True, max_length=1000)),
                    ],
                    options={
                        "db_table": "update_updaterun",
                        "ordering": ["-started_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="RunFile",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("name", models.CharField(max_length=255)),
                        ("size", models.BigIntegerField(blank=True, null=True)),
                        ("sha256", models.CharField(blank=True, db_index=True, max_length=64)),
                        ("company", models.CharField(blank=True, max_length=100)),
                        ("store_code", models.CharField(blank=True, max_length=100)),
                        ("scraped_date", models.DateField(blank=True, null=True)),
                        ("status", models.CharField(choices=[
                            ("processed", "processed"), ("rejected", "rejected"), ("failed", "failed"),
                            ("skipped", "skipped"), ("already applied", "already applied"),
                            ("would process", "would process"), ("would reject", "would reject"),
                            ("interrupted", "interrupted")], db_index=True, max_length=20)),
                        ("reason", models.TextField(blank=True)),
                        ("counts", models.JSONField(blank=True, default=dict)),
                        ("moved_to", models.CharField(blank=True, max_length=1000)),
                        ("rejects_file", models.CharField(blank=True, max_length=1000)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("retried_at", models.DateTimeField(blank=True, null=True)),
                        ("store", models.ForeignKey(blank=True, null=True,
                                                    on_delete=django.db.models.deletion.SET_NULL,
                                                    related_name="run_files", to="catalog.store")),
                        ("run", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                  related_name="files", to="ledger.updaterun")),
                    ],
                    options={
                        "db_table": "update_runfile",
                        "ordering": ["run_id", "id"],
                        "indexes": [models.Index(fields=["status", "name"], name="runfile_status_name")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
