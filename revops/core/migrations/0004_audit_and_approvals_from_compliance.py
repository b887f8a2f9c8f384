"""The audit trail (AuditEvent, AuditChainHead, AuditCheckpoint) and the approvals engine (Approval) move
into the kernel (issue 14). State only: the tables stay as they are, under their names (``compliance_*``,
set as ``db_table``), and no row is copied; compliance.0007 drops the models from compliance's state."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('compliance', '0006_keyed_audit_chain'),
        ('core', '0003_identity_grants_sod_exceptions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AuditCheckpoint',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('seq', models.PositiveBigIntegerField()),
                        ('head_hash', models.CharField(max_length=64)),
                        ('created_at', models.DateTimeField()),
                        ('source', models.CharField(max_length=100)),
                        ('signature', models.CharField(max_length=64)),
                    ],
                    options={
                        'db_table': 'compliance_auditcheckpoint',
                        'ordering': ['-id'],
                    },
                ),
                migrations.CreateModel(
                    name='AuditChainHead',
                    fields=[
                        ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                        ('last_seq', models.PositiveBigIntegerField(default=0)),
                        ('last_hash', models.CharField(default='0000000000000000000000000000000000000000000000000000000000000000', max_length=64)),
                        ('mac', models.CharField(blank=True, default='', max_length=64)),
                    ],
                    options={
                        'db_table': 'compliance_auditchainhead',
                        'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='audit_chain_head_singleton')],
                    },
                ),
                migrations.CreateModel(
                    name='Approval',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(db_index=True, max_length=40)),
                        ('object_type', models.CharField(max_length=100)),
                        ('object_id', models.CharField(max_length=64)),
                        ('summary', models.CharField(max_length=300)),
                        ('payload', models.JSONField(blank=True, default=dict)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('cancelled', 'Cancelled'), ('superseded', 'Superseded')], db_index=True, default='pending', max_length=10)),
                        ('requested_at', models.DateTimeField(auto_now_add=True)),
                        ('decided_at', models.DateTimeField(blank=True, null=True)),
                        ('comment', models.TextField(blank=True, default='')),
                        ('content', models.JSONField(blank=True, default=dict)),
                        ('content_hash', models.CharField(blank=True, default='', max_length=64)),
                        ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('supersedes', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='superseded_by', to='core.approval')),
                    ],
                    options={
                        'db_table': 'compliance_approval',
                        'ordering': ['-id'],
                        'indexes': [models.Index(fields=['object_type', 'object_id'], name='approval_object_idx')],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'pending')), fields=('kind', 'object_type', 'object_id'), name='one_pending_approval_per_object')],
                    },
                ),
                migrations.CreateModel(
                    name='AuditEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('scheme', models.PositiveSmallIntegerField(default=2)),
                        ('seq', models.PositiveBigIntegerField(unique=True)),
                        ('occurred_at', models.DateTimeField(db_index=True)),
                        ('actor_label', models.CharField(max_length=150)),
                        ('action', models.CharField(db_index=True, max_length=100)),
                        ('object_type', models.CharField(max_length=100)),
                        ('object_id', models.CharField(max_length=64)),
                        ('changes', models.JSONField(default=dict)),
                        ('prev_hash', models.CharField(max_length=64)),
                        ('hash', models.CharField(max_length=64, unique=True)),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'compliance_auditevent',
                        'ordering': ['-seq'],
                        'indexes': [models.Index(fields=['object_type', 'object_id'], name='audit_object_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
