"""The audit trail's records: events hash-chained under a key, the chain's head and signed checkpoints.

Generic: an event references its object by type and id; this module imports no app. The tables keep
their original names (``compliance_*``): they moved into the kernel from the compliance app without
copying a row (migrations ``core.0004``, ``compliance.0007``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from revops.errors import AppendOnlyError


class AuditEvent(models.Model):
    """One state change, hash-chained to the one before it.

    ``hash`` = HMAC-SHA256 (scheme 2), under a key from the environment, over the canonical JSON of every
    field that identifies the event (actor id and username, action, object, changes, time, sequence) and
    ``prev_hash``; changing or deleting any row breaks the chain from that row on, ``verify`` names the
    first bad row, and without the key nobody can recompute it. Events written before the chain was
    keyed keep their unkeyed SHA-256 (scheme 1) — see revops.core.audit.chain."""

    # How events and requests name records of this model (``object_type``): fixed when the model lived
    # in the compliance app. The keyed hash covers it, so it never changes with the model's app label.
    REFERENCE_TYPE = "compliance.auditevent"

    scheme = models.PositiveSmallIntegerField(default=2)
    seq = models.PositiveBigIntegerField(unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        db_table = "compliance_auditevent"
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are append-only.")


class AuditChainHead(models.Model):
    """A single row holding the chain's tip. Writers lock it, so events get consecutive sequence
    numbers and each links to the true previous hash even with many concurrent writers; verifying it
    also detects deletion of the newest events."""

    # How events and requests name records of this model (``object_type``): fixed when the model lived
    # in the compliance app. The keyed hash covers it, so it never changes with the model's app label.
    REFERENCE_TYPE = "compliance.auditchainhead"

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    # HMAC of (last_seq, last_hash) under the chain key: moving the head back is detected.
    mac = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        db_table = "compliance_auditchainhead"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_singleton")]

    def __str__(self) -> str:
        return f"audit chain head #{self.last_seq}"


class AuditCheckpoint(models.Model):
    """A signed record of the chain head at a moment (``audit_anchor``, each period close): the signature
    is an HMAC under the chain key over (seq, head hash, time, source). Append-only. Exported copies kept
    outside the database detect a later rewrite of the chain, even one made with the key."""

    # How events and requests name records of this model (``object_type``): fixed when the model lived
    # in the compliance app. The keyed hash covers it, so it never changes with the model's app label.
    REFERENCE_TYPE = "compliance.auditcheckpoint"

    seq = models.PositiveBigIntegerField()
    head_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    source = models.CharField(max_length=100)
    signature = models.CharField(max_length=64)

    class Meta:
        db_table = "compliance_auditcheckpoint"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"audit checkpoint #{self.seq} ({self.source})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Audit checkpoints are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit checkpoints are append-only.")
