"""Renewals (issue 17 §1): a contract's renewal policy and the renewals it has had.

A contract renews on its term's end date (``Contract.end_date``, exclusive: the first day of the new
term): ``termed`` for ``term_months`` at a time, ``evergreen`` for one billing interval at a time, until
it is cancelled or the policy is set to ``none`` at least ``notice_days`` before the term ends. Each
renewal is a new contract version whose lines are new lines (keys ``<key>-r<n>``) priced with the
policy's uplift, so revenue recognition sees a new contract at its own prices (accounting.md §11).
``ContractRenewal`` records each term renewed — applied, or waiting for an approver — once: the
(contract, term_start) pair is unique, which is what makes the daily step idempotent."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from billing.contracts.models.contracts import Contract
from revops.fields import AmountField


class RenewalPolicy(models.Model):
    class Policy(models.TextChoices):
        NONE = "none", "Does not renew"
        TERMED = "termed", "Auto-renews for a term"
        EVERGREEN = "evergreen", "Evergreen (renews each billing interval)"

    contract = models.OneToOneField(Contract, on_delete=models.PROTECT, related_name="renewal_policy")
    policy = models.CharField(max_length=12, choices=Policy.choices, default=Policy.NONE)
    term_months = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Termed renewals only")
    notice_days = models.PositiveSmallIntegerField(default=0)
    uplift_percent = models.DecimalField(max_digits=6, decimal_places=2, default=0)
    uplift_to_list = models.BooleanField(
        default=False, help_text="Renew at the list price of the plan version in force on the renewal date"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "contracts"

    def __str__(self) -> str:
        return f"{self.contract_id}: {self.policy}"


class ContractRenewal(models.Model):
    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Waiting for approval"
        APPLIED = "applied", "Renewed"
        REJECTED = "rejected", "Rejected (not renewed)"

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="renewals")
    sequence = models.PositiveIntegerField()
    term_start = models.DateField()
    term_end = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices)
    policy = models.CharField(max_length=12)
    uplift_percent = models.DecimalField(max_digits=6, decimal_places=2, default=0)
    uplift_to_list = models.BooleanField(default=False)
    reasons = models.JSONField(default=list, help_text="Why it needs an approver (empty: it did not)")
    lines = models.JSONField(default=list, help_text="The lines renewed: renews, key, prices from → to")
    contract_version = models.PositiveIntegerField(null=True, blank=True)
    term_price = AmountField(null=True, blank=True, help_text="Fixed consideration of the renewal term")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "contracts"
        ordering = ["contract", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "term_start"], name="contract_renewal_once_per_term"),
            models.UniqueConstraint(fields=["contract", "sequence"], name="contract_renewal_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} renewal {self.sequence} ({self.term_start})"
