from rest_framework import serializers

from revops.core.audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)
    timestamp = serializers.DateTimeField(source="occurred_at", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "seq",
            "timestamp",
            "actor",
            "action",
            "object_type",
            "object_id",
            "changes",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields


class ChainVerificationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_bad = serializers.IntegerField(required=False, allow_null=True)
    first_bad_seq = serializers.IntegerField(required=False, allow_null=True)
    reason = serializers.CharField(required=False)
