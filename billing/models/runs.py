"""Billing runs: a run is a set of work items (one per contract and billing date) that workers claim
with SELECT … FOR UPDATE SKIP LOCKED. The row lock *is* the claim: a killed worker's transaction
rolls back and the item is simply pending again."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class BillingRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    as_of = models.DateField()
    customers = models.JSONField(default=list, blank=True, help_text="external ids; empty = all")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    job = models.OneToOneField("core.Job", on_delete=models.PROTECT, related_name="billing_run")
    invoices_created = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Billing run #{self.pk} as of {self.as_of}"


class BillingRunItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Nothing to bill"
        FAILED = "failed", "Failed (parked)"

    run = models.ForeignKey(BillingRun, on_delete=models.CASCADE, related_name="items")
    customer = models.ForeignKey("contracts.Customer", on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey("contracts.Contract", on_delete=models.PROTECT, related_name="+")
    billing_date = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["billing_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "contract", "billing_date"], name="billing_run_item_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["run", "status"], name="billing_run_item_status_idx"),
            # The workers' claim (``status = pending ORDER BY billing_date, id LIMIT 1 FOR UPDATE SKIP
            # LOCKED``) walks this index in order and stops at the first unlocked row, instead of
            # sorting every pending item of the run for each claim.
            models.Index(
                fields=["run", "billing_date", "id"],
                condition=models.Q(status="pending"),
                name="billing_run_item_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id}: contract {self.contract_id} @ {self.billing_date}"
