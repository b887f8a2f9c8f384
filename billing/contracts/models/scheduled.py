"""Changes a contract will take on a future date (issue 17 §4): an amendment scheduled for its
effective date, or a cancellation at the end of the current billing period or of the term. Each is
scheduled, can be withdrawn until it applies, and applies itself through the due step
(``billing.contracts.services.scheduled.scheduled_changes_apply_due``); one that can no longer apply
is marked failed with the reason, never dropped. Every status change is audited."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ScheduledChange(models.Model):
    class Kind(models.TextChoices):
        AMENDMENT = "amendment", "Amendment"
        CANCELLATION = "cancellation", "Cancellation"

    class CancelAt(models.TextChoices):
        NONE = "", "—"
        PERIOD_END = "period_end", "End of the current billing period"
        TERM_END = "term_end", "End of the term"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        APPLIED = "applied", "Applied"
        AWAITING_APPROVAL = "awaiting_approval", "Applied on its date, waiting for a price-override approval"
        WITHDRAWN = "withdrawn", "Withdrawn"
        FAILED = "failed", "Failed"

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="scheduled_changes"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    cancel_at = models.CharField(max_length=16, choices=CancelAt.choices, blank=True, default="")
    effective_date = models.DateField(
        help_text="The day the change takes effect (a cancellation: the first day not served)"
    )
    changes = models.JSONField(
        default=list, blank=True, help_text="An amendment's changes, as POST /contracts/{id}/amend takes them"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED, db_index=True)
    reason = models.TextField(blank=True, default="", help_text="Why it failed")
    applied_version = models.PositiveIntegerField(null=True, blank=True)
    approval = models.ForeignKey(
        "core.Approval", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(
        null=True, blank=True, help_text="When it applied, failed or was withdrawn"
    )

    class Meta:
        app_label = "contracts"
        ordering = ["effective_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"],
                condition=models.Q(kind="cancellation", status="scheduled"),
                name="one_scheduled_cancellation_per_contract",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="amendment", cancel_at="")
                | models.Q(kind="cancellation", cancel_at__in=["period_end", "term_end"]),
                name="scheduled_change_cancel_at_matches_kind",
            ),
        ]
        indexes = [models.Index(fields=["status", "effective_date"], name="scheduled_change_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of contract {self.contract_id} on {self.effective_date}"
