from __future__ import annotations

from django.db import models


class RecognitionMethod(models.TextChoices):
    RATABLE_DAILY = "ratable_daily", "Ratable (daily)"
    RATABLE_MONTHLY = "ratable_monthly", "Ratable (monthly)"
    POINT_IN_TIME = "point_in_time", "Point in time"
    USAGE = "usage", "As used"
    MILESTONE = "milestone", "Milestone"


class Product(models.Model):
    """Something Concord sells. Its recognition method and revenue account drive revenue (step 5)."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    recognition = models.CharField(
        max_length=20, choices=RecognitionMethod.choices, default=RecognitionMethod.RATABLE_DAILY
    )
    revenue_account = models.CharField(max_length=32, default="4000")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
