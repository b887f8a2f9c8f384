"""The billing settings page: the organization's grace period before drafts finalize themselves (a
versioned, audited setting: billing.billing_settings), its history, the customers with their own, the
drafts a control holds past their grace period and the last auto-finalization runs. Finance and
admin change it; everyone who reads billing sees it."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from billing.billing_settings import (
    billing_settings_current,
    billing_settings_history,
    billing_settings_update,
    hours_text,
)
from billing.invoicing.auto_finalize import TRIGGER, drafts_held, held_reason
from billing.models import FinalizationRun
from revops.core.forms import apply_errors
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.parties.models import Customer
from revops.parties.models.customers import MAX_GRACE_HOURS
from revops.roles import can_write


class BillingSettingsForm(forms.Form):
    auto_finalize_grace_hours = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_GRACE_HOURS,
        label="Grace period (hours)",
        help_text="How long a draft stays open for review after the billing run created it. Empty: "
        "drafts never finalize themselves. 0: at the next pass. 72 = three days (Lago's grace period "
        "in days × 24); 1 = Stripe's one-hour draft window.",
        widget=forms.NumberInput(attrs={"class": "num"}),
    )
    reason = forms.CharField(
        max_length=300,
        required=False,
        label="Why",
        help_text="Kept with the version and in the audit trail.",
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


def _context(request: HttpRequest, form: BillingSettingsForm | None = None) -> dict:
    current = billing_settings_current()
    own = Customer.objects.filter(auto_finalize_grace_hours__isnull=False).order_by("name", "id")
    runs = list(FinalizationRun.objects.filter(trigger=TRIGGER).select_related("job").order_by("-id")[:5])
    held = list(drafts_held()[:50])
    return {
        "current": current,
        "current_text": hours_text(current.auto_finalize_grace_hours),
        "form": form
        or BillingSettingsForm(
            initial={
                "auto_finalize_grace_hours": current.auto_finalize_grace_hours,
                "expected_version": current.version,
            }
        ),
        "history": [(v, hours_text(v.auto_finalize_grace_hours)) for v in billing_settings_history()],
        "own_count": own.count(),
        "own": [(c, hours_text(c.auto_finalize_grace_hours)) for c in own[:20]],
        "held": [(invoice, held_reason(invoice)) for invoice in held],
        "runs": runs,
        "can_edit": can_write(request.user, "billing"),
    }


@login_required
@require_area("billing")
def billing_settings_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "billing/settings.html", _context(request))
    form = BillingSettingsForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            version = billing_settings_update(
                actor=request.user,
                auto_finalize_grace_hours=data["auto_finalize_grace_hours"],
                reason=data["reason"],
                expected_version=data["expected_version"],
            )
        except DomainError as exc:
            apply_errors(form, exc.errors)
            if not exc.errors:
                form.add_error(None, exc.detail)
        else:
            if version.version == data["expected_version"]:
                messages.info(request, "Nothing changed: that is the grace period in force.")
                return redirect("billing-settings")
            messages.success(
                request,
                f"Billing settings version {version.version}: drafts finalize themselves — "
                f"{hours_text(version.auto_finalize_grace_hours).lower()}."
                if version.auto_finalize_grace_hours is not None
                else f"Billing settings version {version.version}: drafts no longer finalize themselves "
                "(except those of customers with their own grace period).",
            )
            return redirect("billing-settings")
    return render(request, "billing/settings.html", _context(request, form), status=400)
