"""Step 4–5 records: the SSP book, performance obligations and their versioned revenue schedules."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from revops.fields import AmountField, CurrencyField
from revops.parties.models import RecognitionMethod


class SSPEntry(models.Model):
    """One version of a product's standalone selling price in one currency (the SSP book).
    Effective-dated; a point or a range; changes take effect only once approved."""

    class Method(models.TextChoices):
        OBSERVABLE = "observable", "Observable price"
        ADJUSTED_MARKET = "adjusted_market", "Adjusted market assessment"
        COST_PLUS = "cost_plus", "Expected cost plus margin"
        RESIDUAL = "residual", "Residual approach"

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    product = models.ForeignKey("contracts.Product", on_delete=models.PROTECT, related_name="ssp_entries")
    currency = CurrencyField()
    version = models.PositiveIntegerField()
    effective_from = models.DateField()
    ssp = AmountField(null=True, blank=True)
    ssp_low = AmountField(null=True, blank=True)
    ssp_high = AmountField(null=True, blank=True)
    method = models.CharField(max_length=20, choices=Method.choices)
    evidence = models.TextField(blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_APPROVAL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["product", "currency", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["product", "currency", "version"], name="ssp_version_unique"),
            models.CheckConstraint(
                condition=Q(ssp__isnull=False)
                | (Q(ssp_low__isnull=False) & Q(ssp_high__isnull=False))
                | Q(method="residual"),
                name="ssp_point_or_range",
            ),
        ]

    def __str__(self) -> str:
        return f"SSP {self.product_id} {self.currency} v{self.version}"


class PerformanceObligation(models.Model):
    """A promise in a contract, created from its lines at activation (one per distinct line unless
    lines are combined). ``variable`` POs carry usage consideration, allocated to themselves alone."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUPERSEDED = "superseded", "Superseded"

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="performance_obligations"
    )
    contract_version = models.PositiveIntegerField()
    key = models.SlugField(max_length=64)
    lines = models.ManyToManyField("contracts.ContractLine", related_name="performance_obligations")
    product = models.ForeignKey("contracts.Product", on_delete=models.PROTECT, related_name="+")
    currency = CurrencyField()
    recognition = models.CharField(max_length=20, choices=RecognitionMethod.choices)
    start = models.DateField()
    end = models.DateField()
    ssp = AmountField(default=0)
    ssp_source = models.CharField(max_length=200, blank=True, default="")
    ssp_entry = models.ForeignKey(SSPEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    fixed_price = AmountField(default=0, help_text="Fixed consideration on these lines (before allocation)")
    allocated_amount = AmountField(default=0)
    variable = models.BooleanField(
        default=False, help_text="Usage (variable) consideration, recognized as invoiced"
    )
    series = models.BooleanField(
        default=False,
        help_text="A series of distinct periods (IFRS 15.22(b)): a modification treats the remaining "
        "periods as distinct (prospective, 15.21(a))",
    )
    ssp_as_of = models.DateField(
        null=True, blank=True, help_text="The date whose SSP book entries the allocation used"
    )
    variable_consideration = AmountField(
        default=0, help_text="Constrained variable consideration estimated on these lines (before allocation)"
    )
    inception_ssp = AmountField(
        null=True, blank=True, help_text="SSP used when the obligation entered the contract (IFRS 15.88)"
    )
    progress_measure = models.CharField(
        max_length=8,
        choices=[("output", "Output (time elapsed)"), ("input", "Input (costs incurred ÷ expected)")],
        default="output",
    )
    progress_places = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    supersedes = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "contract_version", "key"], name="po_key_per_contract_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id}/{self.key} v{self.contract_version}"


class RevenueSchedule(models.Model):
    """A versioned schedule: draft → pending approval → approved → (superseded). Only approved lines post."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded"

    class Treatment(models.TextChoices):
        INITIAL = "initial", "Initial schedule"
        SEPARATE = "separate_contract", "Separate contract"
        PROSPECTIVE = "prospective", "Prospective"
        CATCH_UP = "cumulative_catch_up", "Cumulative catch-up"

    obligation = models.ForeignKey(PerformanceObligation, on_delete=models.PROTECT, related_name="schedules")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    treatment = models.CharField(max_length=24, choices=Treatment.choices, default=Treatment.INITIAL)
    treatment_note = models.TextField(blank=True, default="")
    method = models.CharField(max_length=20, choices=RecognitionMethod.choices)
    amount = AmountField()
    currency = CurrencyField()
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["obligation", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["obligation", "version"], name="schedule_version_unique"),
            models.UniqueConstraint(
                fields=["obligation"], condition=Q(status="approved"), name="one_approved_schedule_per_po"
            ),
        ]

    def __str__(self) -> str:
        return f"Schedule {self.obligation_id} v{self.version} ({self.status})"


class ScheduleLine(models.Model):
    schedule = models.ForeignKey(RevenueSchedule, on_delete=models.CASCADE, related_name="lines")
    period = models.CharField(max_length=7)  # YYYY-MM
    start = models.DateField()
    end = models.DateField()
    amount = AmountField()
    posted_entry = models.ForeignKey(
        "revrec.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["schedule", "period"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "period"], name="schedule_line_period_unique")
        ]

    def __str__(self) -> str:
        return f"{self.period}: {self.amount}"


class RecognizedUsage(models.Model):
    """A billed usage line whose revenue has been recognized (unique: recognized once)."""

    invoice_line = models.OneToOneField(
        "billing.InvoiceLine", on_delete=models.PROTECT, related_name="recognition"
    )
    entry = models.ForeignKey("revrec.JournalEntry", on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"usage line {self.invoice_line_id} → JE {self.entry_id}"


class ContractModification(models.Model):
    """A contract amendment seen by revenue recognition (ASC 606-10-25-12/13): classified, each
    treatment's effect previewed side by side, applied only once an approver signs it off."""

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"

    contract = models.ForeignKey("contracts.Contract", on_delete=models.PROTECT, related_name="modifications")
    contract_version = models.PositiveIntegerField()
    effective_date = models.DateField()
    proposed_treatment = models.CharField(max_length=24, choices=RevenueSchedule.Treatment.choices)
    chosen_treatment = models.CharField(max_length=24, choices=RevenueSchedule.Treatment.choices)
    reason = models.TextField(blank=True, default="")
    analysis = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_APPROVAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "contract_version"], name="one_modification_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"Modification of {self.contract_id} v{self.contract_version}"
