from django.db import migrations


def create_head(apps, schema_editor):
    head_model = apps.get_model("compliance", "AuditChainHead")
    head_model.objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]
    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
