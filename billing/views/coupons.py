"""Coupons: the list (with any change waiting for approval) and the request forms. Creating a coupon
or changing one only opens a ``coupon_change`` request (billing.invoicing.coupons.coupon_request, the
same service as the API); it takes effect when an approver other than the requester approves it."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from billing.catalog.forms.errors import apply_errors
from billing.invoicing.coupons import coupon_request, coupon_terms, pending_coupon_request
from billing.models import Coupon
from billing.views.catalog import _base
from revops.core.approvals.models import Approval
from revops.core.ui import require_area
from revops.errors import DomainError


class CouponForm(forms.Form):
    code = forms.SlugField(max_length=64)
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Coupon.Kind.choices)
    value = forms.DecimalField(
        min_value=0, max_digits=16, decimal_places=4, help_text="Percent or amount off"
    )
    currency = forms.CharField(max_length=3, required=False, help_text="Fixed-amount coupons only")
    duration = forms.ChoiceField(choices=Coupon.Duration.choices)
    duration_periods = forms.IntegerField(min_value=1, max_value=1200, required=False, label="Periods")
    active = forms.BooleanField(required=False, initial=True)

    def terms(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "kind": data["kind"],
            "value": str(data["value"]),
            "currency": (data.get("currency") or "").upper() or None,
            "duration": data["duration"],
            "duration_periods": data.get("duration_periods"),
            "active": bool(data.get("active")),
        }


def _request(request: HttpRequest, form: CouponForm, code: str):
    try:
        approval = coupon_request(code=code, changes=form.terms(), actor=request.user)
    except DomainError as exc:
        apply_errors(form, exc.errors)
        if not exc.errors:
            form.add_error(None, exc.detail)
        return None
    messages.warning(
        request,
        f"Coupon {code}: the request waits for approval (#{approval.pk}) — {approval.summary}. Nothing "
        "changes until an approver other than you approves it.",
    )
    return redirect("pricing-coupons")


@login_required
@require_area("catalog")
def coupon_list(request: HttpRequest) -> HttpResponse:
    form, status = CouponForm(initial={"active": True}), 200
    if request.method == "POST":
        form = CouponForm(request.POST)
        if form.is_valid():
            if Coupon.objects.filter(code=form.cleaned_data["code"]).exists():
                form.add_error("code", "This coupon exists; change it from its own page.")
            elif done := _request(request, form, form.cleaned_data["code"]):
                return done
        status = 400
    pending = Approval.objects.filter(kind="coupon_change", status=Approval.Status.PENDING).order_by("id")
    return render(
        request,
        "billing/catalog/coupons.html",
        _base(
            request,
            coupons=Coupon.objects.order_by("code"),
            pending=pending,
            form=form,
            open_form=status == 400,
        ),
        status=status,
    )


@login_required
@require_area("catalog")
def coupon_detail(request: HttpRequest, code: str) -> HttpResponse:
    coupon = get_object_or_404(Coupon, code=code)
    form, status = CouponForm(initial={"code": coupon.code, **coupon_terms(coupon)}), 200
    if request.method == "POST":
        form = CouponForm({**request.POST.dict(), "code": coupon.code})
        if form.is_valid() and (done := _request(request, form, coupon.code)):
            return done
        status = 400
    return render(
        request,
        "billing/catalog/coupon.html",
        _base(request, coupon=coupon, form=form, pending=pending_coupon_request(coupon.code)),
        status=status,
    )
