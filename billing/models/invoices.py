"""Invoices and what hangs off them: lines, claims, counters, credit notes, payments, credits.

Rules kept by the database, not only by code:
- ``BillingClaim`` (contract line, period start, kind) is unique: a period of a line is billed once,
  whatever retries, crashes or overlapping runs happen (house style §5).
- One invoice per (contract, billing date).
- Finalized numbers are unique per legal entity; they come from a locked ``DocumentCounter`` row at
  finalization, so they are gapless.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from revops.fields import AmountField, CurrencyField, QuantityField, UnitPriceField
from revops.formatting import plain_money

DRAFT_PREFIX = "D-"


def draft_reference(pk: int | None) -> str:
    return f"{DRAFT_PREFIX}{pk:06d}" if pk else "D-(unsaved)"


class DocumentCounter(models.Model):
    """The next number of a document series (invoices, credit notes) of one legal entity. Locked
    with SELECT … FOR UPDATE when a number is taken, in the finalizing transaction."""

    legal_entity = models.ForeignKey("contracts.LegalEntity", on_delete=models.PROTECT, related_name="+")
    series = models.CharField(max_length=16)  # invoice | credit_note
    next_number = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "series"], name="document_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.legal_entity_id}/{self.series} → {self.next_number}"


class Invoice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        FINALIZED = "finalized", "Finalized"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    customer = models.ForeignKey("contracts.Customer", on_delete=models.PROTECT, related_name="invoices")
    contract = models.ForeignKey("contracts.Contract", on_delete=models.PROTECT, related_name="invoices")
    legal_entity = models.ForeignKey(
        "contracts.LegalEntity", on_delete=models.PROTECT, related_name="invoices"
    )
    currency = CurrencyField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    number = models.CharField(max_length=32, null=True, blank=True)
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    billing_date = models.DateField(help_text="The period boundary this invoice bills at")
    period_start = models.DateField()
    period_end = models.DateField()
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    subtotal = AmountField(default=0)
    discount = AmountField(default=0)
    tax = AmountField(default=0)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    credits_applied = AmountField(default=0)
    total = AmountField(default=0)
    amount_paid = AmountField(default=0)
    amount_credited = AmountField(default=0)
    billing_run = models.ForeignKey(
        "billing.BillingRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    usage_watermark = models.DateTimeField(
        null=True, blank=True, help_text="Usage received up to this instant is billed"
    )
    pdf_path = models.CharField(max_length=300, blank=True, default="")
    pdf_sha256 = models.CharField(max_length=64, blank=True, default="")
    pdf_size = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Bytes of the stored PDF (empty for documents stored before it was kept)",
    )
    # Who the invoice is from and to, copied from the legal entity and the customer when it is finalized:
    # its document prints these, never the live rows (editable later). Empty on drafts.
    issuer_name = models.CharField(max_length=200, blank=True, default="")
    issuer_address = models.TextField(blank=True, default="")
    issuer_tax_id = models.CharField(max_length=64, blank=True, default="")
    bill_to_name = models.CharField(max_length=200, blank=True, default="")
    bill_to_address = models.TextField(blank=True, default="")
    bill_to_email = models.CharField(max_length=254, blank=True, default="")
    bill_to_external_id = models.CharField(max_length=128, blank=True, default="")
    finalized_at = models.DateTimeField(null=True, blank=True)
    finalized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-billing_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "billing_date"], name="invoice_one_per_contract_billing_date"
            ),
            models.UniqueConstraint(
                fields=["legal_entity", "number"],
                condition=Q(number__isnull=False),
                name="invoice_number_unique_per_entity",
            ),
            models.UniqueConstraint(
                fields=["legal_entity", "sequence"],
                condition=Q(sequence__isnull=False),
                name="invoice_sequence_unique_per_entity",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False), name="invoice_number_when_final"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "status"], name="invoice_customer_status_idx"),
            # A period's invoices by billing date (the month-end page's counts, the list's
            # billing_date_from/to) without reading every invoice ever issued.
            models.Index(fields=["billing_date", "status"], name="invoice_billing_date_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def draft_reference(self) -> str:
        """The draft's own reference, "D-000352": never an invoice number (those carry the legal
        entity's prefix and are taken only at finalization), kept after finalization."""
        return draft_reference(self.pk)

    @property
    def reference(self) -> str:
        """What people call the invoice: its number once finalized, its draft reference before."""
        return self.number or self.draft_reference

    @property
    def balance_due(self):
        return self.total - self.amount_paid - self.amount_credited


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        FEE = "fee", "Fee"
        USAGE = "usage", "Usage"
        ONE_TIME = "one_time", "One-time"
        TRUE_UP = "true_up", "Minimum true-up"
        PRORATION = "proration", "Proration"
        USAGE_ADJUSTMENT = "usage_adjustment", "Late usage adjustment"
        DISCOUNT = "discount", "Discount"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    contract_line = models.ForeignKey(
        "contracts.ContractLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoice_lines",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    product = models.ForeignKey(
        "contracts.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    charge_code = models.CharField(max_length=64, blank=True, default="")
    price_version = models.ForeignKey(
        "billing.PlanVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    description = models.CharField(max_length=300)
    dimension = models.JSONField(default=dict, blank=True)
    quantity = QuantityField(default=0)
    unit_amount = UnitPriceField(null=True, blank=True)
    amount = AmountField()
    exact_amount = models.DecimalField(max_digits=40, decimal_places=20, null=True, blank=True)
    taxable = models.BooleanField(default=True)
    service_start = models.DateField()
    service_end = models.DateField()
    breakdown = models.JSONField(default=list, blank=True)
    # Usage lines: exactly which events this line covers (re-rating gives the same number).
    meter = models.ForeignKey(
        "billing.Meter", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    usage_start = models.DateTimeField(null=True, blank=True)
    usage_end = models.DateTimeField(null=True, blank=True)
    received_after = models.DateTimeField(null=True, blank=True)
    received_through = models.DateTimeField(null=True, blank=True)
    event_match = models.JSONField(default=dict, blank=True)
    event_exclude = models.JSONField(default=list, blank=True)
    event_count = models.PositiveBigIntegerField(null=True, blank=True)
    event_hash = models.CharField(max_length=64, blank=True, default="")
    adjusts = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments"
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["invoice", "position", "id"]

    def __str__(self) -> str:
        return self.description


class BillingClaim(models.Model):
    """What has been billed: one row per (contract line, period, kind), unique. Written in the same
    transaction as the invoice that bills it; deleted only when a *draft* invoice is discarded."""

    class Kind(models.TextChoices):
        FEE_ADVANCE = "fee_advance", "Fees billed in advance"
        FEE_ARREARS = "fee_arrears", "Fees billed in arrears"
        USAGE = "usage", "Usage"
        ONE_TIME = "one_time", "One-time"

    contract_line = models.ForeignKey(
        "contracts.ContractLine", on_delete=models.PROTECT, related_name="claims"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="claims")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract_line", "period_start", "kind"], name="billing_claim_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_line_id} {self.period_start} {self.kind}"


class PendingCharge(models.Model):
    """A one-off amount waiting for the contract's next invoice (amendment prorations, credits)."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="pending_charges"
    )
    contract_line = models.ForeignKey(
        "contracts.ContractLine", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contract_version = models.PositiveIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=20, default="proration")
    description = models.CharField(max_length=300)
    amount = AmountField()
    exact_amount = models.DecimalField(max_digits=40, decimal_places=20, null=True, blank=True)
    service_start = models.DateField()
    service_end = models.DateField()
    invoice_line = models.OneToOneField(
        InvoiceLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="pending_charge"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description


class CreditNote(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(max_length=32, unique=True)
    currency = CurrencyField()
    reason = models.CharField(max_length=300)
    subtotal = AmountField()
    tax = AmountField(default=0)
    total = AmountField()
    issue_date = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(models.Model):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, related_name="credit_note_lines")
    amount = AmountField()
    tax = AmountField(default=0)

    def __str__(self) -> str:
        return f"{self.credit_note} / {self.invoice_line_id}"


class Payment(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = AmountField()
    currency = CurrencyField()
    date = models.DateField()
    reference = models.CharField(max_length=100, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive")]

    def __str__(self) -> str:
        return f"{plain_money(self.amount, self.currency)} {self.currency} on {self.date}"


class PaymentReversal(models.Model):
    """A recorded payment taken back (bounced, recorded on the wrong invoice): an appended record, the
    payment itself stays as it was. At most one per payment; the ledger posts the reversing entry
    (Dr AR / Cr Cash) and the invoice's balance is due again."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="reversal")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payment_reversals")
    amount = AmountField()
    currency = CurrencyField()
    date = models.DateField()
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_reversal_positive")]

    def __str__(self) -> str:
        return f"Reversal of payment {self.payment_id}: {plain_money(self.amount, self.currency)} {self.currency} on {self.date}"


class CreditGrant(models.Model):
    """Prepaid credits (or a prepaid commit) a customer can draw down, oldest expiry first.

    Every grant exists only once an approver other than the requester signed off its request
    (``purchased_credit`` or ``goodwill_credit``).
    ``purchased``: money the customer paid ahead, named by ``payment_reference`` (the grant posts
    Dr cash, Cr prepaid credits);
    ``goodwill``: a concession nobody paid for — it exists only once an approver signed off the
    ``goodwill_credit`` request, and posts Dr goodwill credits (contra revenue), Cr prepaid credits."""

    class Kind(models.TextChoices):
        PURCHASED = "purchased", "Purchased (prepaid)"
        GOODWILL = "goodwill", "Goodwill (concession)"

    customer = models.ForeignKey("contracts.Customer", on_delete=models.PROTECT, related_name="credit_grants")
    contract = models.ForeignKey(
        "contracts.Contract", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_grants"
    )
    currency = CurrencyField()
    amount = AmountField()
    granted_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True, default="")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PURCHASED)
    # The payment or receipt that backs a purchased credit (verified by the approver); empty for goodwill.
    payment_reference = models.CharField(max_length=100, blank=True, default="")
    approval = models.ForeignKey(
        "core.Approval", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["granted_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_grant_positive"),
            models.CheckConstraint(
                condition=~Q(kind="goodwill") | Q(approval__isnull=False),
                name="credit_grant_goodwill_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{plain_money(self.amount, self.currency)} {self.currency} credit for {self.customer_id}"


class CreditApplication(models.Model):
    """Append-only: a draw on a grant by an invoice (a negative row reverses it, e.g. on void)."""

    grant = models.ForeignKey(CreditGrant, on_delete=models.PROTECT, related_name="applications")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="credit_applications")
    amount = AmountField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.amount} from grant {self.grant_id}"


class CreditExpiry(models.Model):
    """Append-only: the part of a grant still unused when it expired (breakage). Released from the
    prepaid-credits liability to revenue on the expiry date; a later return to the grant (a voided
    invoice's draw) expires in a further row."""

    grant = models.ForeignKey(CreditGrant, on_delete=models.PROTECT, related_name="expiries")
    amount = AmountField()
    expired_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["expired_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="credit_expiry_positive")]

    def __str__(self) -> str:
        return f"{self.amount} of grant {self.grant_id} expired on {self.expired_on}"


class CouponRedemption(models.Model):
    coupon = models.ForeignKey("billing.Coupon", on_delete=models.PROTECT, related_name="redemptions")
    contract = models.ForeignKey("contracts.Contract", on_delete=models.PROTECT, related_name="coupons")
    applied_from = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["coupon", "contract"], name="coupon_once_per_contract")
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id} on {self.contract_id}"
