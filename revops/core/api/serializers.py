"""Request serializers that know every field they accept (api.md "Conventions").

A field the endpoint does not declare is a 400 problem naming it, as Stripe answers, instead of being
dropped silently: a client that misspells ``billing_anchor`` or sends a field from a newer version
learns at once. Every request serializer of the API derives from :class:`InputSerializer` (or
:class:`InputModelSerializer`); nested ones check their own level, so ``lines[1].colour`` is named
with its path. The OpenAPI schema says the same (``additionalProperties: false`` on request bodies,
``revops.core.api.schema.AutoSchema``), so a fuzzer's extra properties are rejected where the schema
says they will be."""

from __future__ import annotations

from rest_framework import serializers

UNKNOWN_FIELD = "Unknown field."
READ_ONLY_FIELD = "This field is read-only."


def unknown_fields(data, writable, read_only=()) -> dict[str, list[str]]:
    """``{key: [message]}`` for each key of ``data`` (a JSON object) not in ``writable``."""
    if not isinstance(data, dict):
        return {}
    return {
        str(key): [READ_ONLY_FIELD if key in read_only else UNKNOWN_FIELD]
        for key in data
        if key not in writable
    }


def refuse_unknown(data, serializer_class: type[serializers.Serializer]) -> None:
    """For a view that reads its body itself (usage ingestion): the same 400 as a serializer's."""
    extra = unknown_fields(data, {f.field_name for f in serializer_class()._writable_fields})
    if extra:
        raise serializers.ValidationError(extra)


class StrictFieldsMixin:
    """Refuses keys the serializer does not accept: unknown ones, and read-only ones (``id``)."""

    strict_fields = True

    def to_internal_value(self, data):
        writable = {field.field_name for field in self._writable_fields}
        extra = unknown_fields(data, writable, read_only=self.fields.keys())
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if extra and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**extra, **exc.detail}) from None
            raise
        if extra:
            raise serializers.ValidationError(extra)
        return value


class InputSerializer(StrictFieldsMixin, serializers.Serializer):
    """A request body (or one object nested in it)."""


class InputModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A request body mapped on a model (the model's own constraints as the schema's)."""


class CommentIn(InputSerializer):
    """The body of a decision (approve, reject): an optional comment."""

    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ApprovalRefOut(serializers.Serializer):
    """An approval request a response points to (202: nothing changed yet); ``GET /approvals`` has
    the rest. ``payload`` is exactly what approving applies; its shape depends on ``kind``."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    summary = serializers.CharField(allow_blank=True)
    payload = serializers.JSONField(help_text="what approving applies; shaped by kind")


class OmitNullMixin:
    """Keys in ``omit_null`` are left out when null, as api.md writes them with ``?``."""

    omit_null: tuple[str, ...] = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for key in self.omit_null:
            if data.get(key) is None:
                data.pop(key, None)
        return data
