"""The ledger: accounts, accounting periods, append-only balanced journal entries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from revops.fields import AmountField, CurrencyField


class Account(models.Model):
    class Type(models.TextChoices):
        ASSET = "asset", "Asset"
        LIABILITY = "liability", "Liability"
        REVENUE = "revenue", "Revenue"
        CONTRA_REVENUE = "contra_revenue", "Contra revenue"
        EXPENSE = "expense", "Expense"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=16, choices=Type.choices)
    role = models.CharField(
        max_length=32, blank=True, default="", help_text="cash, ar, unbilled, deferred, tax, revenue, contra"
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=["asset", "liability", "revenue", "contra_revenue", "expense"]),
                name="account_type_known",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class AccountingPeriod(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    period = models.CharField(max_length=7, unique=True)  # YYYY-MM
    start = models.DateField()
    end = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["period"]

    def __str__(self) -> str:
        return f"{self.period} ({self.status})"


class PeriodCloseSnapshot(models.Model):
    """The ledger as it stood when a period closed (append-only; one per close, a re-close after an
    approved reopen appends another). ``balances`` holds the cumulative debits and credits per currency
    and account through the period (by entry period and by entry date); ``digest`` hashes the same
    totals broken down by contract, obligation and product. The control
    ``nothing_posted_in_closed_periods`` and ``reperform --period`` recompute both and compare."""

    period = models.ForeignKey(AccountingPeriod, on_delete=models.PROTECT, related_name="snapshots")
    closed_at = models.DateTimeField()
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    balances = models.JSONField(default=dict)
    digest = models.CharField(max_length=64)
    lines = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["period", "-id"]

    def __str__(self) -> str:
        return f"Close of {self.period_id} at {self.closed_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            from revops.errors import AppendOnlyError

            raise AppendOnlyError("Close snapshots are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        from revops.errors import AppendOnlyError

        raise AppendOnlyError("Close snapshots are append-only.")


class JournalEntry(models.Model):
    """One business event, balanced per currency. Append-only: a correction is a reversing entry."""

    class Source(models.TextChoices):
        INVOICE = "invoice", "Invoice finalized"
        INVOICE_VOID = "invoice_void", "Invoice voided"
        CREDIT_NOTE = "credit_note", "Credit note"
        PAYMENT = "payment", "Payment"
        CREDIT_GRANT = "credit_grant", "Prepaid credits received"
        CREDIT_EXPIRY = "credit_expiry", "Prepaid credits expired (breakage)"
        RECOGNITION = "recognition", "Revenue recognized"
        CORRECTION = "correction", "Correction"
        REVERSAL = "reversal", "Reversal"

    date = models.DateField()
    period = models.CharField(max_length=7, db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices, db_index=True)
    source_type = models.CharField(max_length=64)
    source_id = models.CharField(max_length=64)
    source_key = models.CharField(max_length=120, help_text="Idempotency key of the posting")
    memo = models.CharField(max_length=300)
    currency = CurrencyField()
    contract = models.ForeignKey(
        "contracts.Contract", null=True, blank=True, on_delete=models.PROTECT, related_name="journal_entries"
    )
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    correction_for_period = models.CharField(max_length=7, blank=True, default="")
    business_date = models.DateField(
        null=True,
        blank=True,
        help_text="The date of the business event; differs from ``date`` when the event fell on or "
        "before the latest closed period and was posted into the first open period as a correction",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["source_key"], name="journal_entry_posted_once")]
        indexes = [models.Index(fields=["source_type", "source_id"], name="journal_source_idx")]

    def __str__(self) -> str:
        return f"JE {self.pk} {self.period} {self.source}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            from revops.errors import AppendOnlyError

            raise AppendOnlyError("Journal entries are append-only; post a reversing entry instead.")
        super().save(*args, **kwargs)


class JournalLine(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    debit = AmountField(default=0)
    credit = AmountField(default=0)
    contract = models.ForeignKey(
        "contracts.Contract", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    obligation = models.ForeignKey(
        "revrec.PerformanceObligation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="journal_lines",
    )
    product = models.ForeignKey(
        "contracts.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    memo = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["entry", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(debit__gte=0) & Q(credit__gte=0), name="journal_line_non_negative"
            ),
            models.CheckConstraint(condition=Q(debit=0) | Q(credit=0), name="journal_line_one_side"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} Dr {self.debit} Cr {self.credit}"
