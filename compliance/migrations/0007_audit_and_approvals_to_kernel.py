"""The audit trail and approvals now belong to the kernel (core.0004): drop them from compliance's state
only. Their tables stay, under the same names, owned by the core app's models."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0010_approval_in_kernel'),
        ('core', '0004_audit_and_approvals_from_compliance'),
        ('compliance', '0006_keyed_audit_chain'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='approval',
                    name='decided_by',
                ),
                migrations.RemoveField(
                    model_name='approval',
                    name='requested_by',
                ),
                migrations.RemoveField(
                    model_name='approval',
                    name='supersedes',
                ),
                migrations.DeleteModel(
                    name='AuditChainHead',
                ),
                migrations.DeleteModel(
                    name='AuditCheckpoint',
                ),
                migrations.RemoveField(
                    model_name='auditevent',
                    name='actor',
                ),
                migrations.DeleteModel(
                    name='Approval',
                ),
                migrations.DeleteModel(
                    name='AuditEvent',
                ),
            ],
            database_operations=[],
        ),
    ]
