from django.conf import settings
from django.db import models


class RevenueRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    period = models.CharField(max_length=7)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    job = models.OneToOneField("core.Job", on_delete=models.PROTECT, related_name="revenue_run")
    entries_created = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Revenue run {self.period} #{self.pk}"


class RevenueRunItem(models.Model):
    """One contract of a revenue run: planned pending, claimed by a worker in a batch (``SELECT … FOR
    UPDATE SKIP LOCKED``) and finished in that batch's transaction — done (an entry posted), skipped
    (nothing new to recognize) or failed (parked with its error; the run goes on)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Nothing to recognize"
        FAILED = "failed", "Failed (parked)"

    run = models.ForeignKey(RevenueRun, on_delete=models.CASCADE, related_name="items")
    contract = models.ForeignKey("contracts.Contract", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    entry = models.ForeignKey(
        "revrec.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "contract"], name="revenue_run_item_unique")]
        indexes = [
            models.Index(fields=["run", "status"], name="revenue_run_item_status_idx"),
            # The workers' claim (pending, in id order, LIMIT n FOR UPDATE SKIP LOCKED) walks this index.
            models.Index(
                fields=["run", "id"],
                condition=models.Q(status="pending"),
                name="revenue_run_item_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"revenue run {self.run_id}: contract {self.contract_id}"
