# Ramp deals (issue 17 §5): a recurring line's price steps, as validated decimal strings.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contracts', '0007_contract_renewals'),
    ]

    operations = [
        migrations.AddField(
            model_name='contractline',
            name='ramp',
            field=models.JSONField(blank=True, default=list),
        ),
    ]
