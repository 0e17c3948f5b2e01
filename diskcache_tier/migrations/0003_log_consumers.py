"""The database remembers who follows its change log and how far it was consumed.

``LogConsumer`` registers every index (its watermark and generation); ``pruned_through`` records the
last log id deleted. Both start empty: every index built before this migration is rebuilt after it
anyway (the schema changed), and registers then.
"""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("diskcache_tier", "0002_log_writer_and_slim_columns"),
    ]

    operations = [
        migrations.AddField(
            model_name="databaseidentity",
            name="pruned_through",
            field=models.BigIntegerField(default=0),
        ),
        migrations.CreateModel(
            name="LogConsumer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("consumer", models.CharField(max_length=32, unique=True)),
                ("watermark", models.BigIntegerField(default=0)),
                ("generation", models.BigIntegerField(default=0)),
                ("confirmed", models.BigIntegerField(default=0)),
                ("last_seen", models.DateTimeField()),
                ("location", models.CharField(blank=True, max_length=1000)),
            ],
            options={"db_table": "diskcache_tier_logconsumer"},
        ),
    ]
