"""The catalog: meters, plans, immutable price versions and their charges, coupons.

Charge properties are stored as JSON with every number as a decimal *string*, so a price such as
0.000002 per token survives storage exactly; ``billing.rating.parse_charge`` turns them back into
Decimals. Published versions never change: a price change is a new version with an effective date."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from revops.fields import AmountField, CurrencyField


class Meter(models.Model):
    class Aggregation(models.TextChoices):
        COUNT = "count", "Count of events"
        SUM = "sum", "Sum of a property"
        MAX = "max", "Maximum of a property"
        UNIQUE_COUNT = "unique_count", "Count of unique values"
        LATEST = "latest", "Latest value"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    aggregation = models.CharField(max_length=16, choices=Aggregation.choices)
    field = models.CharField(max_length=64, blank=True, default="", help_text="Event property aggregated")
    filters = models.JSONField(default=dict, blank=True, help_text='{"property": ["allowed", "values"]}')
    group_by = models.JSONField(default=list, blank=True, help_text='["property", ...]')
    allow_negative = models.BooleanField(
        default=False,
        help_text="Whether an event may carry a negative value (e.g. a correction). Off: such an event is "
        "quarantined at ingestion, and never reaches an invoice.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(aggregation="count") | ~models.Q(field=""),
                name="meter_field_required_unless_count",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def aggregation_label(self) -> str:
        """What the meter measures, in words: "Sum of tokens", "Count of events", "Maximum of seats",
        "Unique user ids", "Latest seats" (the property's own name, never "a property")."""
        field = self.field.replace("_", " ")
        return {
            self.Aggregation.COUNT: "Count of events",
            self.Aggregation.SUM: f"Sum of {field}",
            self.Aggregation.MAX: f"Maximum of {field}",
            self.Aggregation.UNIQUE_COUNT: f"Unique {field} values",
            self.Aggregation.LATEST: f"Latest {field}",
        }.get(self.aggregation, self.get_aggregation_display())


class Plan(models.Model):
    class Interval(models.TextChoices):
        MONTH = "month", "Monthly"
        QUARTER = "quarter", "Quarterly"
        YEAR = "year", "Yearly"

    class VersionPolicy(models.TextChoices):
        ON_EFFECTIVE_DATE = "on_effective_date", "Move contracts on the effective date"
        AT_RENEWAL = "at_renewal", "Move contracts at renewal"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    currency = CurrencyField()
    interval = models.CharField(max_length=8, choices=Interval.choices, default=Interval.MONTH)
    version_policy = models.CharField(
        max_length=20, choices=VersionPolicy.choices, default=VersionPolicy.ON_EFFECTIVE_DATE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PlanVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    effective_from = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    minimum_amount = AmountField(null=True, blank=True, help_text="Minimum commitment per period (true-up)")
    notes = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_number_unique"),
            models.UniqueConstraint(
                fields=["plan", "effective_from"],
                condition=models.Q(status="published"),
                name="plan_version_one_published_per_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.code} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class Charge(models.Model):
    class Model(models.TextChoices):
        FLAT = "flat", "Flat fee"
        STANDARD = "standard", "Per unit"
        GRADUATED = "graduated", "Graduated tiers"
        VOLUME = "volume", "Volume tiers"
        PACKAGE = "package", "Package"
        PERCENTAGE = "percentage", "Percentage"
        GRADUATED_PERCENTAGE = "graduated_percentage", "Graduated percentage"
        DYNAMIC = "dynamic", "Dynamic (price in the event)"

    class Timing(models.TextChoices):
        IN_ADVANCE = "in_advance", "In advance"
        IN_ARREARS = "in_arrears", "In arrears"

    version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="charges")
    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=200, blank=True, default="")
    product = models.ForeignKey(
        "contracts.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    meter = models.ForeignKey(Meter, null=True, blank=True, on_delete=models.PROTECT, related_name="charges")
    model = models.CharField(max_length=24, choices=Model.choices)
    properties = models.JSONField(default=dict)
    field = models.CharField(
        max_length=64, blank=True, default="", help_text="Event amount property (percentage/dynamic)"
    )
    timing = models.CharField(max_length=12, choices=Timing.choices, default=Timing.IN_ARREARS)
    filters = models.JSONField(default=list, blank=True, help_text='[{"match": {...}, "properties": {...}}]')
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["version", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="charge_code_unique_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.version} / {self.code}"


class Coupon(models.Model):
    """A discount contracts can redeem. Created and changed only by an approved ``coupon_change``
    request (billing.invoicing.coupons): ``version`` counts the approved changes, ``approval`` is the
    one that set the current terms, and each change is an audit event with its before and after."""

    class Kind(models.TextChoices):
        PERCENT = "percent", "Percent off"
        FIXED = "fixed", "Fixed amount off"

    class Duration(models.TextChoices):
        ONCE = "once", "Once"
        REPEATING = "repeating", "For a number of periods"
        FOREVER = "forever", "Forever"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = AmountField(help_text="Percent (0–100) or fixed amount")
    currency = CurrencyField(null=True, blank=True, default=None)
    duration = models.CharField(max_length=10, choices=Duration.choices, default=Duration.ONCE)
    duration_periods = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    approval = models.ForeignKey(
        "core.Approval", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(value__gte=0), name="coupon_value_not_negative"),
            models.CheckConstraint(
                condition=~models.Q(kind="percent") | models.Q(value__lte=100), name="coupon_percent_max_100"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="fixed") | models.Q(currency__isnull=False),
                name="coupon_fixed_has_currency",
            ),
        ]

    def __str__(self) -> str:
        return self.code
