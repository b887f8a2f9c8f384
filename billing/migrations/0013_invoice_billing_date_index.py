from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0012_finalization_runs"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(fields=["billing_date", "status"], name="invoice_billing_date_idx"),
        ),
    ]
