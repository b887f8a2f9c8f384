"""Billing settings of the organization, versioned: each change appends a new version (who, when,
why), the latest one is in force, and none is edited in place (house style: append, reverse,
version). ``billing.invoicing.auto_finalize`` reads the auto-finalization grace period from it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from revops.parties.models.customers import MAX_GRACE_HOURS


class BillingSettings(models.Model):
    """One version of the organization's billing settings. ``auto_finalize_grace_hours``: how long a
    draft invoice stays open for review after it was created before it finalizes itself; empty = drafts
    never finalize themselves (the default, as in Lago without a grace period), 0 = at the next
    auto-finalization pass. A customer's own grace period (Customer.auto_finalize_grace_hours) wins."""

    version = models.PositiveIntegerField(unique=True)
    auto_finalize_grace_hours = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by_label = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        verbose_name_plural = "billing settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(auto_finalize_grace_hours__isnull=True)
                | Q(auto_finalize_grace_hours__lte=MAX_GRACE_HOURS),
                name="billing_settings_grace_at_most_a_year",
            )
        ]

    def __str__(self) -> str:
        return f"Billing settings v{self.version}"
