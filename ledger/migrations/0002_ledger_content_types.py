"""The ledger's content types follow its models from ``update`` to ``ledger``, with what points at them.

Staff permissions (``update.view_updaterun`` becomes ``ledger.view_updaterun``, same rows) and the
admin's log entries refer to a model through its content type; renaming the type's app keeps them,
where a new type (what migrate would create for the ledger) would leave them on a stale one. A fresh
database has no content types yet (migrate creates them after the plan): nothing to do. Backward, the
types go back to ``update``.
"""
from django.db import migrations

MODELS = ("updaterun", "runfile")


def relabel(old: str, new: str):
    def run(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        for model in MODELS:
            # If the new app already has its type (a migrate that ran before this one), the old one stays.
            if not ContentType.objects.using(db).filter(app_label=new, model=model).exists():
                ContentType.objects.using(db).filter(app_label=old, model=model).update(app_label=new)
        ContentType.objects.clear_cache()
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(relabel("update", "ledger"), relabel("ledger", "update")),
    ]
