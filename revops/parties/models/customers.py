from __future__ import annotations

from django.db import models

from revops.fields import CurrencyField


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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tax_rate__gte=0, tax_rate__lte=100), name="customer_tax_rate_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"
