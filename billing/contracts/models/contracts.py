"""Contracts, their lines (revisions) and versions: the one model that billing and revenue recognition
both read.

The models keep the ``contracts`` app label they were created under (``Meta.app_label``): their tables
(``contracts_contract``, ...), their migrations (in the parties app, ``revops/parties/migrations``,
which owns that label) and the object types recorded about them (``contracts.contract`` in audit
events, approvals, exceptions and outbox events) are unchanged."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from revops.fields import AmountField, CurrencyField, QuantityField, UnitPriceField
from revops.parties.models import RecognitionMethod


class Contract(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        ACTIVE = "active", "Active"
        TERMINATED = "terminated", "Terminated"
        EXPIRED = "expired", "Expired"

    class BillingAnchor(models.TextChoices):
        CALENDAR = "calendar", "Calendar (1st of the month)"
        ANNIVERSARY = "anniversary", "Anniversary (contract start day)"

    number = models.CharField(max_length=32, unique=True)
    customer = models.ForeignKey("contracts.Customer", on_delete=models.PROTECT, related_name="contracts")
    currency = CurrencyField()
    start_date = models.DateField()
    end_date = models.DateField()
    billing_anchor = models.CharField(
        max_length=16, choices=BillingAnchor.choices, default=BillingAnchor.CALENDAR
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    version = models.PositiveIntegerField(default=1)
    transaction_price = AmountField(default=0)
    terminated_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "contracts"
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gt=models.F("start_date")), name="contract_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class ContractLine(models.Model):
    class Billing(models.TextChoices):
        RECURRING = "recurring", "Recurring"
        ONE_TIME = "one_time", "One-time"
        USAGE = "usage", "Usage"

    class VariableMethod(models.TextChoices):
        NONE = "", "No variable consideration"
        EXPECTED_VALUE = "expected_value", "Expected value"
        MOST_LIKELY = "most_likely_amount", "Most likely amount"

    class VariableAllocation(models.TextChoices):
        RELATIVE = "relative", "Relative SSP"
        SPECIFIC = "specific", "This obligation alone (IFRS 15.85)"

    class ProgressMeasure(models.TextChoices):
        OUTPUT = "output", "Output (time elapsed)"
        INPUT = "input", "Input (costs incurred ÷ total expected costs)"

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="lines")
    key = models.SlugField(max_length=64)
    product = models.ForeignKey("contracts.Product", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(
        "billing.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="contract_lines"
    )
    billing = models.CharField(max_length=12, choices=Billing.choices, default=Billing.RECURRING)
    quantity = QuantityField(default=1)
    unit_price = UnitPriceField(null=True, blank=True, help_text="Override of the plan's list price")
    amount = AmountField(null=True, blank=True, help_text="Fixed amount (one-time items, commits)")
    ssp = AmountField(null=True, blank=True, help_text="Standalone selling price override")
    ssp_reason = models.CharField(max_length=200, blank=True, default="")
    recognition = models.CharField(max_length=20, choices=RecognitionMethod.choices, blank=True, default="")
    series = models.BooleanField(
        null=True,
        blank=True,
        help_text="A series of distinct, substantially similar periods (IFRS 15.22(b)); "
        "unset: recurring lines recognized over time are a series, others are not",
    )
    service_start = models.DateField(null=True, blank=True)
    service_end = models.DateField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    revision = models.PositiveIntegerField(
        default=1, help_text="Amendments end a line and add the next revision"
    )
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    created_in_version = models.PositiveIntegerField(default=1)
    # Variable consideration (IFRS 15.50–59, accounting.md §10a): the current estimate and the
    # constrained amount included in the transaction price; re-estimates are appended as
    # revrec.VariableEstimate records (history, who/when/as of) and update these current values.
    variable_method = models.CharField(
        max_length=20, choices=VariableMethod.choices, blank=True, default=VariableMethod.NONE
    )
    variable_estimate = AmountField(null=True, blank=True, help_text="Estimate before the constraint")
    variable_constrained = AmountField(
        null=True, blank=True, help_text="Included in the transaction price: highly probable not to reverse"
    )
    variable_allocation = models.CharField(
        max_length=10, choices=VariableAllocation.choices, default=VariableAllocation.RELATIVE
    )
    relates_specifically = models.BooleanField(default=False, help_text="IFRS 15.85(a), asserted by the user")
    consistent_with_objective = models.BooleanField(
        default=False, help_text="IFRS 15.85(b), asserted by the user"
    )
    progress_measure = models.CharField(
        max_length=8, choices=ProgressMeasure.choices, default=ProgressMeasure.OUTPUT
    )
    progress_places = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Decimals of the progress percentage (blank: exact, §1)"
    )
    # Ramp deal (issue 17, accounting.md §5a): the line's price steps over its service period —
    # [{"from": "YYYY-MM-DD", "unit_price": "…"} | {"from": …, "amount": "…"}], ascending, the first
    # step on the line's start; decimal strings as validated (billing.contracts.ramp reads them as
    # Decimal). Empty: the line is priced by unit_price / its plan throughout.
    ramp = models.JSONField(default=list, blank=True)

    class Meta:
        app_label = "contracts"
        ordering = ["contract", "position", "revision", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "key", "revision"], name="contract_line_key_revision_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract.number}/{self.key}"


class ContractVersion(models.Model):
    """Append-only history: every amendment records the contract as it became, the change, and who made it."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    effective_date = models.DateField()
    kind = models.CharField(max_length=32)  # created, amendment, termination
    changes = models.JSONField(default=list)
    snapshot = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "contracts"
        ordering = ["contract", "version"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "version"], name="contract_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} v{self.version}"
