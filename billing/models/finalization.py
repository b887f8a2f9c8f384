"""Finalization runs (issue 15 §1): many drafts finalized as one job, claimed in batches by workers."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FinalizationRun(models.Model):
    """Finalizing a set of drafts (ids, or the invoice list's filters) as a job. Its items are the drafts;
    workers claim them in batches (``SELECT … FOR UPDATE SKIP LOCKED``) and finalize each batch in one
    transaction (billing.invoicing.finalization)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    trigger = models.CharField(max_length=32, default="manual", help_text="manual, api, auto_finalize…")
    invoice_ids = models.JSONField(default=list, blank=True, help_text="The drafts asked for; empty: filters")
    filters = models.JSONField(default=dict, blank=True, help_text="The invoice list's filters, as given")
    job = models.OneToOneField("core.Job", on_delete=models.PROTECT, related_name="finalization_run")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    finalized = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Finalization run #{self.pk}"


class FinalizationItem(models.Model):
    """One draft of a run: pending until a worker's batch finalizes it (done), parks it with its error
    (failed), or finds it no longer a draft (skipped)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Finalized"
        FAILED = "failed", "Failed (parked)"
        SKIPPED = "skipped", "Not a draft any more"

    run = models.ForeignKey(FinalizationRun, on_delete=models.CASCADE, related_name="items")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "invoice"], name="finalization_item_unique"),
        ]
        indexes = [
            models.Index(fields=["run", "status"], name="finalization_item_status_idx"),
            # The workers' claim (pending items of the run in id order — the drafts' billing-date
            # order, as planned — LIMIT n FOR UPDATE SKIP LOCKED) walks this index.
            models.Index(
                fields=["run", "id"],
                condition=models.Q(status="pending"),
                name="finalization_item_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"finalization {self.run_id}: invoice {self.invoice_id} ({self.status})"
