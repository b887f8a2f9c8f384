"""The contract page's renewal card (issue 17 §1): the policy, the next renewal date, the notice
deadline and the renewals so far, and the form that changes the policy — through a confirmation that
states the consequence (issue 16 §2), calling the same service as ``PUT /contracts/{id}/renewal``."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.contracts.models import Contract, RenewalPolicy
from billing.contracts.renewals import policy_of, renewal_outlook
from billing.contracts.services.renewals import KIND, clean_policy, policy_dict, renewal_policy_set
from revops.core.confirm import Confirmation, confirm_page, is_confirmed
from revops.core.forms import apply_errors, error_text
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.formatting import day, money
from revops.roles import can_write


class RenewalForm(forms.Form):
    policy = forms.ChoiceField(choices=RenewalPolicy.Policy.choices, label="Renewal")
    term_months = forms.IntegerField(
        required=False, min_value=1, max_value=120, label="Term (months)", help_text="Termed renewals only."
    )
    notice_days = forms.IntegerField(
        min_value=0,
        max_value=730,
        initial=0,
        label="Notice period (days)",
        help_text="Notice of non-renewal must be given at least this many days before the term ends.",
    )
    uplift_percent = forms.DecimalField(
        required=False, min_value=0, max_value=100, decimal_places=2, label="Price uplift (%)"
    )
    uplift_to_list = forms.BooleanField(required=False, label="Renew at the plan's list price then")

    def renewal(self) -> dict:
        data = self.cleaned_data
        out = {
            "policy": data["policy"],
            "notice_days": data["notice_days"] or 0,
            "uplift_percent": str(data.get("uplift_percent") or Decimal(0)),
            "uplift_to_list": bool(data.get("uplift_to_list")),
        }
        if data["policy"] == RenewalPolicy.Policy.TERMED:
            out["term_months"] = data.get("term_months")
        return out


def renewal_context(request: HttpRequest, contract: Contract, *, form: RenewalForm | None = None) -> dict:
    """What the renewal card shows (``billing/contracts/_renewal.html``)."""
    from revops.core.approvals.models import Approval

    policy = policy_of(contract)
    outlook = renewal_outlook(contract)
    renewals = list(contract.renewals.order_by("-sequence"))
    for r in renewals:
        r.m_price = money(r.term_price, contract.currency) if r.term_price is not None else ""
    pending = Approval.objects.filter(
        kind=KIND,
        object_type="contracts.contract",
        object_id=str(contract.pk),
        status=Approval.Status.PENDING,
    ).first()
    live = contract.status != Contract.Status.TERMINATED and contract.status != Contract.Status.EXPIRED
    return {
        "renewal": policy_dict(policy),
        "renewal_label": (policy.get_policy_display() if policy else RenewalPolicy.Policy.NONE.label),
        "renewal_outlook": outlook,
        "renewals": renewals,
        "renewal_pending": pending,
        "can_change_renewal": can_write(request.user, "contracts")
        and live
        and contract.terminated_on is None,
        "renewal_form": form or RenewalForm(initial=policy_dict(policy)),
        "open_renewal": form is not None,
    }


def _describe(renewal: dict) -> str:
    if renewal["policy"] == "none":
        return "does not renew"
    term = (
        f"for {renewal['term_months']} months" if renewal["policy"] == "termed" else "each billing interval"
    )
    price = (
        "at the plan's list price then"
        if renewal["uplift_to_list"]
        else (
            f"with a {renewal['uplift_percent']}% price uplift"
            if Decimal(renewal["uplift_percent"])
            else "at the same prices"
        )
    )
    return f"renews {term} {price}, notice {renewal['notice_days']} days"


def renewal_confirmation(contract: Contract, renewal: dict) -> Confirmation:
    outlook = renewal_outlook(contract)
    before = policy_dict(policy_of(contract))
    if renewal["policy"] == "none":
        consequence = (
            f"{contract.number} will not renew: it ends on {day(contract.end_date)} (its last day served is the "
            "day before) and nothing is billed or recognized after it. This is the customer's or your notice of "
            "non-renewal; it is on time only until the notice deadline."
        )
    else:
        consequence = (
            f"On {day(contract.end_date)} {contract.number} renews as a new contract version: its recurring and "
            "usage lines are renewed as new lines at the renewed prices, billed from that day, with their own "
            "performance obligations, allocation and revenue schedules (an approver signs the schedules off). "
            "A renewal priced beyond the price-override threshold below list, or one that changes the term's "
            "length, waits for an approver and does not renew until approved."
        )
    facts = [
        ("Customer", contract.customer.name),
        ("Term ends", day(contract.end_date)),
        ("Now", _describe(before)),
        ("After", _describe(renewal)),
    ]
    if outlook.notice_deadline:
        facts.append(("Notice deadline", day(outlook.notice_deadline)))
    return Confirmation(
        title=f"Change the renewal of {contract.number}?",
        subject=contract.number,
        consequence=consequence,
        facts=facts,
        button="Stop renewal" if renewal["policy"] == "none" else "Save renewal policy",
        back=reverse("contract", args=[contract.pk]),
        danger=renewal["policy"] == "none",
    )


@login_required
@require_area("contracts", write=True)
@require_POST
def contract_renewal_view(request: HttpRequest, pk: int) -> HttpResponse:

    contract = get_object_or_404(Contract.objects.select_related("customer", "created_by"), pk=pk)
    form = RenewalForm(request.POST)
    if form.is_valid():
        problems: list = []
        clean_policy(form.renewal(), problems)  # what the service would refuse, before asking to confirm
        apply_errors(form, problems, rename={f"renewal.{name}": name for name in form.fields})
    if form.is_valid():
        if not is_confirmed(request):
            return confirm_page(request, renewal_confirmation(contract, form.renewal()))
        try:
            renewal_policy_set(
                contract=contract, renewal=form.renewal(), actor=request.user, today=timezone.localdate()
            )
        except DomainError as exc:
            messages.error(request, f"Renewal of {contract.number} not changed: {error_text(exc)}")
        else:
            messages.success(request, f"Renewal of {contract.number}: {_describe(form.renewal())}.")
        return redirect("contract", pk=pk)
    problems = "; ".join(
        f"{form.fields[n].label if n in form.fields else n}: {' '.join(e)}" for n, e in form.errors.items()
    )
    messages.error(request, f"Renewal of {contract.number} not changed — {problems}")
    return redirect(f"{reverse('contract', args=[pk])}#renewal")
