from django.db import migrations

CHART = [
    ("1000", "Cash", "asset", "cash"),
    ("1100", "Accounts receivable", "asset", "ar"),
    ("1200", "Unbilled receivables (contract asset)", "asset", "unbilled"),
    ("2100", "Deferred revenue (contract liability)", "liability", "deferred"),
    ("2200", "Tax payable", "liability", "tax"),
    ("2300", "Prepaid customer credits", "liability", "credits"),
    ("4000", "Revenue", "revenue", "revenue"),
    ("4900", "Contra revenue (credit notes)", "contra_revenue", "contra"),
]


def create_chart(apps, schema_editor):
    account = apps.get_model("revrec", "Account")
    for code, name, kind, role in CHART:
        account.objects.get_or_create(code=code, defaults={"name": name, "type": kind, "role": role})


class Migration(migrations.Migration):
    dependencies = [("revrec", "0001_initial")]
    operations = [migrations.RunPython(create_chart, migrations.RunPython.noop)]
