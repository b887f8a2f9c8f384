"""Variable-consideration estimates and the costs behind input-method progress (accounting.md §10a).
Both are append-only: a re-estimate or a cost correction is a new row, never an edit."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from revops.fields import AmountField, CurrencyField


class VariableEstimate(models.Model):
    """One (re-)estimate of a contract line's variable consideration (IFRS 15.50–59): how it was
    estimated, the estimate, the constrained amount included in the transaction price, and how the
    change was allocated (15.87–90) — who recorded it, when, and as of which date."""

    class Method(models.TextChoices):
        EXPECTED_VALUE = "expected_value", "Expected value"
        MOST_LIKELY = "most_likely_amount", "Most likely amount"

    contract = models.ForeignKey("contracts.Contract", on_delete=models.PROTECT, related_name="estimates")
    line_key = models.SlugField(max_length=64)
    sequence = models.PositiveIntegerField(help_text="1 = the estimate at inception, then each re-estimate")
    method = models.CharField(max_length=20, choices=Method.choices)
    estimate = AmountField()
    constrained = AmountField(help_text="Included in the transaction price (highly probable not to reverse)")
    previous_constrained = AmountField(default=0)
    change = AmountField(default=0)
    currency = CurrencyField()
    as_of = models.DateField()
    period = models.CharField(max_length=7, help_text="The period the estimate was (re-)assessed for")
    reason = models.TextField(blank=True, default="")
    allocation = models.JSONField(
        default=list, help_text="[{po, share, basis, catch_up}] — the change allocated per obligation"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract", "line_key", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "line_key", "sequence"], name="variable_estimate_sequence_unique"
            ),
            models.CheckConstraint(
                condition=Q(constrained__gte=0) & Q(constrained__lte=models.F("estimate")),
                name="variable_estimate_constrained_within_estimate",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id}/{self.line_key} estimate #{self.sequence}"


class ObligationCost(models.Model):
    """Costs behind input-method progress (IFRS 15.B18–B19): the total expected costs of satisfying the
    obligation (the latest record is the current expectation) and the costs incurred in each period
    (a correction is a further row, possibly negative)."""

    class Kind(models.TextChoices):
        EXPECTED_TOTAL = "expected_total", "Total expected costs"
        INCURRED = "incurred", "Costs incurred in the period"

    obligation = models.ForeignKey(
        "revrec.PerformanceObligation", on_delete=models.PROTECT, related_name="costs"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    period = models.CharField(max_length=7)
    amount = AmountField()
    currency = CurrencyField()
    note = models.TextField(blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["obligation", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="expected_total") | Q(amount__gt=0), name="expected_cost_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.obligation_id} {self.kind} {self.period}: {self.amount}"
