"""Discount and credit levers (docs/api.md: Discounts and credits): prepaid credit grants per customer
and coupons. Every credit grant (purchased or goodwill) and any coupon creation or change open an approval request (202 with
``approval``); nothing takes effect until an approver other than the requester approves it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.contracts.models import Contract
from billing.invoicing.coupons import coupon_request, pending_coupon_request
from billing.invoicing.credits import credit_grant_request
from billing.models import Coupon, CreditGrant
from revops.core.api.fields import BoundedDateField, DecimalStringField, MoneyField
from revops.core.api.serializers import ApprovalRefOut, InputSerializer
from revops.core.api.views import ApiGenericView, ApiView
from revops.errors import ValidationFailed
from revops.parties.services.customers import customer_by_ref

ZERO = 0

# --- prepaid credit grants --------------------------------------------------------------------------


class CreditGrantIn(InputSerializer):
    kind = serializers.ChoiceField(
        choices=CreditGrant.Kind.values,
        default=CreditGrant.Kind.PURCHASED,
        help_text="purchased (paid for: Dr cash; needs payment_reference) or goodwill (a concession: "
        "Dr 4910); either waits for an approver",
    )
    payment_reference = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="purchased: the payment or receipt that backs the credit (the approver verifies it)",
    )
    amount = DecimalStringField()
    granted_on = BoundedDateField()
    expires_on = BoundedDateField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    contract = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)


@dataclass(frozen=True)
class GrantBalance:
    """A credit grant with what was used of it and what expired."""

    grant: CreditGrant
    used: Decimal
    expired: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.grant.amount - self.used - self.expired

    @property
    def currency(self) -> str:
        return self.grant.currency


def grant_balance(grant: CreditGrant) -> GrantBalance:
    used = grant.applications.aggregate(s=Sum("amount"))["s"] or ZERO
    expired = grant.expiries.aggregate(s=Sum("amount"))["s"] or ZERO
    return GrantBalance(grant=grant, used=used, expired=expired)


class CreditGrantOut(serializers.Serializer):
    id = serializers.IntegerField(source="grant.pk")
    customer = serializers.CharField(source="grant.customer.external_id")
    contract = serializers.IntegerField(source="grant.contract_id", allow_null=True)
    kind = serializers.ChoiceField(source="grant.kind", choices=CreditGrant.Kind.values)
    currency = serializers.CharField()
    amount = MoneyField(source="grant.amount")
    granted_on = serializers.DateField(source="grant.granted_on")
    expires_on = serializers.DateField(source="grant.expires_on", allow_null=True)
    reason = serializers.CharField(source="grant.reason", allow_blank=True)
    used = MoneyField()
    expired = MoneyField()
    remaining = MoneyField()
    payment_reference = serializers.CharField(source="grant.payment_reference", allow_blank=True)
    approval = serializers.IntegerField(source="grant.approval_id", allow_null=True)


class ApprovalPendingOut(serializers.Serializer):
    approval = ApprovalRefOut()


class CreditGrantListView(ApiGenericView):
    area = "billing"
    list_view = True

    @extend_schema(responses=CreditGrantOut)
    def get(self, request, ref):
        customer = customer_by_ref(ref)
        qs = CreditGrant.objects.filter(customer=customer).select_related("customer").order_by("id")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(CreditGrantOut([grant_balance(g) for g in page], many=True).data)

    @extend_schema(request=CreditGrantIn, responses={202: ApprovalPendingOut})
    def post(self, request, ref):
        customer = customer_by_ref(ref)
        data = CreditGrantIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        contract = None
        if v["contract"] is not None:
            contract = Contract.objects.filter(pk=v["contract"], customer=customer).first()
            if contract is None:
                raise ValidationFailed("No such contract of this customer.", field="contract")
        args = {
            "customer": customer,
            "contract": contract,
            "amount": v["amount"],
            "granted_on": v["granted_on"],
            "expires_on": v["expires_on"],
            "reason": v["reason"],
            "kind": v["kind"],
            "payment_reference": v["payment_reference"],
            "actor": request.user,
        }
        # Every grant is a money lever: it waits for an approver other than the requester.
        approval = credit_grant_request(**args)
        return Response(ApprovalPendingOut({"approval": approval}).data, status=202)


# --- coupons -----------------------------------------------------------------------------------------


class CouponTermsIn(InputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=Coupon.Kind.values, required=False)
    value = DecimalStringField(required=False, min_value=0)
    currency = serializers.CharField(max_length=3, required=False, allow_null=True)
    duration = serializers.ChoiceField(choices=Coupon.Duration.values, required=False)
    duration_periods = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1200)
    active = serializers.BooleanField(required=False)


class CouponIn(CouponTermsIn):
    code = serializers.SlugField(max_length=64)


class CouponOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Coupon.Kind.values)
    value = DecimalStringField(help_text="percent (0–100), or a fixed amount of currency")
    currency = serializers.CharField(allow_null=True)
    duration = serializers.ChoiceField(choices=Coupon.Duration.values)
    duration_periods = serializers.IntegerField(allow_null=True)
    active = serializers.BooleanField()
    version = serializers.IntegerField()
    pending_approval = serializers.SerializerMethodField()

    def get_pending_approval(self, coupon: Coupon) -> int | None:
        pending = pending_coupon_request(coupon.code)
        return pending.pk if pending else None


class CouponPendingOut(CouponOut):
    approval = ApprovalRefOut()


def _terms(validated: dict) -> dict:
    return {k: (str(v) if k == "value" else v) for k, v in validated.items() if k != "code"}


class CouponListView(ApiGenericView):
    area = "catalog"
    list_view = True
    queryset = Coupon.objects.order_by("code")

    @extend_schema(responses=CouponOut)
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CouponOut(page, many=True).data)

    @extend_schema(request=CouponIn, responses={202: ApprovalPendingOut})
    def post(self, request):
        data = CouponIn(data=request.data)
        data.is_valid(raise_exception=True)
        code = data.validated_data["code"]
        if Coupon.objects.filter(code=code).exists():
            raise ValidationFailed(f"Coupon {code} exists; change it with PATCH.", field="code")
        approval = coupon_request(code=code, changes=_terms(data.validated_data), actor=request.user)
        return Response(ApprovalPendingOut({"approval": approval}).data, status=202)


class CouponDetailView(ApiView):
    area = "catalog"

    @extend_schema(responses=CouponOut)
    def get(self, request, code):
        return Response(CouponOut(get_object_or_404(Coupon, code=code)).data)

    @extend_schema(request=CouponTermsIn, responses={202: CouponPendingOut})
    def patch(self, request, code):
        coupon = get_object_or_404(Coupon, code=code)
        data = CouponTermsIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        approval = coupon_request(code=coupon.code, changes=_terms(data.validated_data), actor=request.user)
        coupon.approval = approval
        return Response(CouponPendingOut(coupon).data, status=202)
