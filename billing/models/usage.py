"""Usage metering records: events, their forever-unique keys, the ingestion log and the quarantine.

On PostgreSQL ``billing_usageevent`` is RANGE-partitioned by ``timestamp`` (monthly partitions plus a
DEFAULT one, primary key ``(id, timestamp)``; see ``billing/usage/partitions.py`` and docs/usage.md).
A partitioned table cannot hold a unique index on ``transaction_id`` alone, so :class:`EventKey` is
the forever-unique key table, written in the same transaction as the events. SQLite keeps one
ordinary table. Rows are written by ``billing.usage.ingest`` with bulk statements, never ``save()``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class UsageEvent(models.Model):
    """One accepted usage event. Append-only; ``received_at`` (set by the server) sits next to
    ``timestamp`` (when it happened) so invoicing can find late events."""

    id = models.BigAutoField(primary_key=True)
    transaction_id = models.CharField(max_length=255)
    customer = models.ForeignKey("contracts.Customer", on_delete=models.PROTECT, related_name="+")
    meter = models.ForeignKey("billing.Meter", on_delete=models.PROTECT, related_name="+")
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()
    properties = models.JSONField(default=dict)
    # The meter field's numeric value, extracted at ingestion (sum / max / latest).
    value = models.DecimalField(max_digits=38, decimal_places=12, null=True)
    # The meter field's value as a string, extracted at ingestion (unique_count).
    dim = models.CharField(max_length=255, null=True)

    class Meta:
        indexes = [
            models.Index(fields=["customer", "meter", "timestamp"], name="usage_event_period_idx"),
            models.Index(fields=["customer", "meter", "received_at"], name="usage_event_late_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} @ {self.timestamp:%Y-%m-%d %H:%M:%S}"


class EventKey(models.Model):
    """The forever-unique ``transaction_id`` (primary key). Its insert decides whether an event is new
    (``INSERT … ON CONFLICT DO NOTHING``); written in the same transaction as the event row."""

    transaction_id = models.CharField(max_length=255, primary_key=True)
    # No database constraint or index: the key table is the hot path of every ingestion and the
    # customer was checked in the same transaction (the event row itself carries the real FK).
    customer = models.ForeignKey(
        "contracts.Customer",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.transaction_id


class IngestionBatch(models.Model):
    """Append-only log: one row per ingestion call (API request, import chunk, replay)."""

    class Source(models.TextChoices):
        API = "api", "API"
        IMPORT = "import", "Import"
        REPLAY = "replay", "Quarantine replay"
        DEMO = "demo", "Demo data"

    received_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "ingestion batches"

    def __str__(self) -> str:
        return f"{self.source} batch #{self.pk}: {self.accepted}/{self.duplicates}/{self.rejected}"


class QuarantinedEvent(models.Model):
    """An event that could not be accepted, kept exactly as received with its reasons, until it is
    replayed (re-validated and ingested through the same path) or discarded. Nothing is lost."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        REPLAYED = "replayed", "Replayed"
        DISCARDED = "discarded", "Discarded"

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        DUPLICATE = "duplicate", "Already counted (duplicate)"

    batch = models.ForeignKey(
        IngestionBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    index = models.PositiveIntegerField(help_text="Position of the event in its batch")
    transaction_id = models.CharField(max_length=255, null=True, blank=True, db_index=True)
    customer_ref = models.CharField(max_length=255, blank=True, default="", help_text="customer as sent")
    meter_code = models.CharField(max_length=255, blank=True, default="", help_text="code as sent")
    payload = models.JSONField(help_text="The event exactly as received")
    errors = models.JSONField(default=list, help_text='[{"field", "message"}]')
    received_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "customer_ref", "meter_code"], name="usage_quarantine_open_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="open", resolved_at__isnull=True)
                | (~models.Q(status="open") & models.Q(resolved_at__isnull=False)),
                name="quarantine_resolved_iff_closed",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="replayed") | ~models.Q(outcome=""),
                name="quarantine_replayed_has_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"quarantined #{self.pk} ({self.transaction_id or 'no transaction_id'})"

    @property
    def reasons(self) -> str:
        return "; ".join(
            f"{e.get('field')}: {e.get('message')}" if e.get("field") else str(e.get("message"))
            for e in self.errors or []
        )
