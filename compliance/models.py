"""Compliance records: check runs and the exceptions (control failures) they open. The audit trail
and the approvals engine are kernel services (revops.core.audit, revops.core.approvals)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


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
    # The audit chain's head (last sequence number committed) when the run started: every audited
    # change after it is one the run may not have seen (the close checklist asks for a fresh run).
    audit_seq = models.PositiveBigIntegerField(null=True, blank=True)

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
