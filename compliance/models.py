"""Compliance records. The audit trail is generic: it references objects by type and id and
imports no other app."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AppendOnlyError(RuntimeError):
    pass


class AuditEvent(models.Model):
    """One state change, hash-chained to the one before it.

    ``hash`` = HMAC-SHA256 (scheme 2), under a key from the environment, over the canonical JSON of every
    field that identifies the event (actor id and username, action, object, changes, time, sequence) and
    ``prev_hash``; changing or deleting any row breaks the chain from that row on, ``verify`` names the
    first bad row, and without the key nobody can recompute it. Events written before the chain was
    keyed keep their unkeyed SHA-256 (scheme 1) — see compliance.audit."""

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

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    # HMAC of (last_seq, last_hash) under the chain key: moving the head back is detected.
    mac = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_singleton")]

    def __str__(self) -> str:
        return f"audit chain head #{self.last_seq}"


class AuditCheckpoint(models.Model):
    """A signed record of the chain head at a moment (``audit_anchor``, each period close): the signature
    is an HMAC under the chain key over (seq, head hash, time, source). Append-only. Exported copies kept
    outside the database detect a later rewrite of the chain, even one made with the key."""

    seq = models.PositiveBigIntegerField()
    head_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    source = models.CharField(max_length=100)
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"audit checkpoint #{self.seq} ({self.source})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Audit checkpoints are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit checkpoints are append-only.")


class Approval(models.Model):
    """Maker-checker: one request, one decision by someone else. Generic: it references the object by
    type and id; the owning app registers what approving or rejecting does (compliance.approvals)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"
        # Voided before a decision because what approving would apply changed; a new request replaced it.
        SUPERSEDED = "superseded", "Superseded"

    kind = models.CharField(max_length=40, db_index=True)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    summary = models.CharField(max_length=300)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True, default="")
    # What approving applies, bound at request time (compliance.approvals): the kind, object, payload and
    # the kind's content, and the SHA-256 of its canonical JSON. Recomputed and compared when decided.
    content = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64, blank=True, default="")
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_type", "object_id"],
                condition=models.Q(status="pending"),
                name="one_pending_approval_per_object",
            ),
        ]
        indexes = [models.Index(fields=["object_type", "object_id"], name="approval_object_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_type}:{self.object_id} ({self.status})"


class CheckRun(models.Model):
    trigger = models.CharField(max_length=40)  # manual, nightly, billing_run, revenue_run, amendment
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(
        default=dict, blank=True
    )  # {check_code: {"findings": n, "status": "pass"|"fail"}}
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Check run #{self.pk} ({self.trigger})"


class ComplianceException(models.Model):
    """A control failure: what, where, how bad, who owns it — until it is resolved (with the fix) or
    waived (with an approver's sign-off)."""

    class Severity(models.TextChoices):
        CRITICAL = "critical", "Critical"
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        WAIVED = "waived", "Waived"

    check_code = models.CharField(max_length=60, db_index=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    explanation = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_run = models.ForeignKey(CheckRun, on_delete=models.PROTECT, related_name="+")
    last_seen_run = models.ForeignKey(CheckRun, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["check_code", "object_type", "object_id"],
                condition=models.Q(status="open"),
                name="one_open_exception_per_check_object",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.check_code} {self.object_type}:{self.object_id} ({self.status})"
