"""Coupons and credit grants point at the kernel's Approval (same table, compliance_approval): state only,
the foreign keys and their constraints stay as they are."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0009_credit_grant_payment_reference'),
        ('core', '0004_audit_and_approvals_from_compliance'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='coupon',
                    name='approval',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.approval'),
                ),
                migrations.AlterField(
                    model_name='creditgrant',
                    name='approval',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.approval'),
                ),
            ],
            database_operations=[],
        ),
    ]
