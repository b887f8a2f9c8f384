"""Propose an SSP change from the SSP book (issue 16 §6): ``ssp_propose`` records the new version as
pending and opens an ``ssp_change`` approval; allocation uses it only once someone other than the
proposer approves it in the approval queue."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from revops.core.forms import BoundedDateField, apply_errors, date_input
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.formatting import money
from revops.parties.models import Product
from revrec.models import SSPEntry
from revrec.services.ssp import ssp_propose

AMOUNT = {"max_digits": 20, "decimal_places": 4, "required": False}


class SSPProposalForm(forms.Form):
    product = forms.ChoiceField()
    currency = forms.CharField(max_length=3, initial="USD")
    effective_from = BoundedDateField(widget=date_input(), label="Effective from")
    method = forms.ChoiceField(choices=SSPEntry.Method.choices)
    ssp = forms.DecimalField(label="SSP (a point)", **AMOUNT)
    ssp_low = forms.DecimalField(label="Range from", **AMOUNT)
    ssp_high = forms.DecimalField(label="Range to", **AMOUNT)
    evidence = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the price rests on: observed sales, a market study, cost plus margin…",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [
            (p.code, f"{p.name} ({p.code})") for p in Product.objects.order_by("name").only("code", "name")
        ]


def _initial(params) -> dict:
    """The proposal prefilled from the version it changes (``?product=&currency=``), else today."""
    initial = {"effective_from": timezone.localdate(), "currency": (params.get("currency") or "USD").upper()}
    latest = (
        SSPEntry.objects.filter(product__code=params.get("product") or "", currency=initial["currency"])
        .order_by("-version")
        .first()
    )
    if params.get("product"):
        initial["product"] = params["product"]
    if latest is not None:
        initial |= {
            "method": latest.method,
            "ssp": latest.ssp,
            "ssp_low": latest.ssp_low,
            "ssp_high": latest.ssp_high,
        }
    return initial


@login_required
@require_area("revenue", write=True)
def ssp_propose_view(request: HttpRequest) -> HttpResponse:
    form = SSPProposalForm(request.POST or None, initial=_initial(request.GET))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = ssp_propose(actor=request.user, **{**data, "currency": data["currency"].upper()})
        except DomainError as exc:
            apply_errors(form, exc.errors)
            if not exc.errors:
                form.add_error(None, exc.detail)
        else:
            shown = money(entry.ssp, entry.currency) if entry.ssp is not None else "a range"
            messages.warning(
                request,
                f"SSP {entry.product.code} {entry.currency} v{entry.version} ({shown} from "
                f"{entry.effective_from:%-d %b %Y}) proposed: it applies once an approver other than you "
                "approves it in the approval queue.",
            )
            return redirect(f"{reverse('revenue-ssp')}?product={entry.product.code}")
    return render(request, "revrec/ssp_propose.html", {"form": form}, status=400 if form.is_bound else 200)
