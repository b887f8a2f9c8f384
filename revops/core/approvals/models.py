"""The approvals engine's record: one maker-checker request and its decision.

The table keeps its original name (``compliance_approval``): it moved into the kernel from the
compliance app without copying a row (migrations ``core.0004``, ``compliance.0007``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Approval(models.Model):
    """Maker-checker: one request, one decision by someone else. Generic: it references the object by
    type and id; the owning app registers what approving or rejecting does (revops.core.approvals)."""

    # How events and requests name records of this model (``object_type``): fixed when the model lived
    # in the compliance app. The keyed hash covers it, so it never changes with the model's app label.
    REFERENCE_TYPE = "compliance.approval"

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
    # What approving applies, bound at request time (revops.core.approvals): the kind, object, payload and
    # the kind's content, and the SHA-256 of its canonical JSON. Recomputed and compared when decided.
    content = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64, blank=True, default="")
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )

    class Meta:
        db_table = "compliance_approval"
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
