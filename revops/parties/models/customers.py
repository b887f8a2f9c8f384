from __future__ import annotations

from django.db import models

from revops.fields import CurrencyField

# The longest grace period a draft invoice may wait before it finalizes itself: a year (Lago caps its
# invoice grace period at 365 days); longer is a typo, not a policy.
MAX_GRACE_HOURS = 365 * 24


class LegalEntity(models.Model):
    """The company that issues invoices. Invoice numbers are gapless per legal entity."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    currency = CurrencyField()
    invoice_prefix = models.CharField(max_length=16, default="INV")
    address = models.TextField(blank=True, default="")
    tax_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "legal entities"

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    external_id = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=200)
    currency = CurrencyField()
    timezone = models.CharField(
        max_length=64, default="UTC", help_text="IANA time zone used for billing periods"
    )
    email = models.EmailField(blank=True, default="")
    tax_rate = models.DecimalField(
        max_digits=7, decimal_places=4, default=0, help_text="Exclusive tax rate, percent"
    )
    legal_entity = models.ForeignKey(
        LegalEntity, on_delete=models.PROTECT, related_name="customers", null=True, blank=True
    )
    address = models.TextField(blank=True, default="")
    auto_finalize_grace_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Hours a draft invoice stays open before it finalizes itself; empty = the "
        "organization's grace period (billing settings), 0 = at once",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tax_rate__gte=0, tax_rate__lte=100), name="customer_tax_rate_0_100"
            ),
            models.CheckConstraint(
                condition=models.Q(auto_finalize_grace_hours__isnull=True)
                | models.Q(auto_finalize_grace_hours__lte=MAX_GRACE_HOURS),
                name="customer_grace_at_most_a_year",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"
