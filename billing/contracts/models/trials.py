"""Trials (issue 17, accounting.md §11): a line (or every line of a contract) starts with N trial days,
free or at a trial price, and converts to paid on its own unless the contract is cancelled first.

A trial is stored as what it does to the contract's lines — the paid line's service starts on the
conversion date, and a priced trial is a one-time line of its own recognized over the trial days — so
billing and revenue recognition read the trial through the line ranges they already read. This record
keeps the trial's terms and its state (trialing → converted, or canceled)."""

from __future__ import annotations

from django.db import models

from revops.fields import AmountField


class ContractTrial(models.Model):
    class Status(models.TextChoices):
        TRIALING = "trialing", "In trial"
        CONVERTED = "converted", "Converted to paid"
        CANCELED = "canceled", "Canceled during the trial"

    contract = models.ForeignKey("contracts.Contract", on_delete=models.PROTECT, related_name="trials")
    line_key = models.SlugField(
        max_length=64, blank=True, default="", help_text="The paid line on trial; blank: the whole contract"
    )
    trial_line_key = models.SlugField(
        max_length=64,
        blank=True,
        default="",
        help_text="The line billing the trial price; blank: a free trial",
    )
    days = models.PositiveIntegerField()
    price = AmountField(null=True, blank=True, help_text="Blank: a free trial")
    starts_on = models.DateField()
    converts_on = models.DateField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRIALING, db_index=True)
    ending_notified_on = models.DateField(
        null=True, blank=True, help_text="When contract.trial_ending was published"
    )
    decided_on = models.DateField(null=True, blank=True, help_text="Converted or canceled on")

    class Meta:
        app_label = "contracts"
        ordering = ["contract", "converts_on", "line_key"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "line_key"], name="contract_trial_line_unique"),
            models.CheckConstraint(condition=models.Q(days__gt=0), name="contract_trial_days_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} trial {self.line_key or '(contract)'}"

    @property
    def free(self) -> bool:
        return self.price is None
