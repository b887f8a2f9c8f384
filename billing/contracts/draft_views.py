"""Edit a draft contract (issue 16 §6): the contract editor of the new-contract page, filled with the
draft's terms and lines, saved through ``contract_draft_update`` (audited, a new contract version).
The customer and currency stay; a contract that left the draft state changes by amendment."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from billing.contracts.forms import (
    ContractForm,
    LineRow,
    StepRow,
    line_rows_from,
    lines_with_ramps,
    place_line_errors,
    place_step_errors,
    step_rows_from,
)
from billing.contracts.models import Contract, ContractLine
from billing.contracts.services.draft_edit import contract_draft_update
from billing.contracts.views import _choices
from revops.core.forms import apply_errors
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.formatting import money
from revops.parties.forms import COMMON_CURRENCIES


def _text(value) -> str:
    """A saved value as typed in the editor: dates ISO, decimals plain (10, never 1E+1), none empty."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return format(value.normalize(), "f")


def line_row(line: ContractLine) -> LineRow:
    """A saved line as the editor shows it."""
    return LineRow(
        values={
            "key": line.key,
            "product": line.product.code,
            "plan": line.plan.code if line.plan_id else "",
            "billing": line.billing,
            "quantity": _text(line.quantity),
            "unit_price": _text(line.unit_price),
            "amount": _text(line.amount),
            "service_start": _text(line.service_start),
            "service_end": _text(line.service_end),
        }
    )


def step_row(key: str, step: dict) -> StepRow:
    """A saved ramp step as the editor shows it."""
    return StepRow(
        values={
            "line": key,
            "from": step["from"],
            "unit_price": step.get("unit_price") or "",
            "amount": step.get("amount") or "",
        }
    )


@login_required
@require_area("contracts", write=True)
def contract_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(Contract.objects.select_related("customer"), pk=pk)
    if contract.status != Contract.Status.DRAFT:
        messages.warning(
            request,
            f"{contract.number} is {contract.get_status_display().lower()}: change it by an amendment.",
        )
        return redirect("contract", pk=pk)
    customers = [contract.customer]
    initial = {
        "customer": contract.customer.external_id,
        "currency": contract.currency,
        "start_date": contract.start_date,
        "end_date": contract.end_date,
        "billing_anchor": contract.billing_anchor,
        "notes": contract.notes,
    }
    form = ContractForm(request.POST or None, initial=initial, customers=customers)
    for name in ("customer", "currency"):
        form.fields[name].disabled = True
    status = 200
    if request.method == "POST":
        status = 400
        rows = [row for row in line_rows_from(request.POST) if not row.is_blank]
        steps = step_rows_from(request.POST)
        payloads, where = lines_with_ramps(rows, steps)
        if form.is_valid() and not any(step.has_errors for step in steps):
            terms = form.service_kwargs()
            try:
                contract = contract_draft_update(
                    contract=contract,
                    start_date=terms["start_date"],
                    end_date=terms["end_date"],
                    billing_anchor=terms["billing_anchor"],
                    notes=terms["notes"],
                    lines=payloads,
                    actor=request.user,
                )
            except DomainError as exc:
                apply_errors(form, place_line_errors(place_step_errors(exc.errors, where), rows))
                if not exc.errors:
                    form.add_error(None, exc.detail)
            else:
                messages.success(
                    request,
                    f"Draft contract {contract.number} for {contract.customer.name} saved "
                    f"({money(contract.transaction_price, contract.currency)} fixed consideration).",
                )
                return redirect("contract", pk=contract.pk)
        rows = rows or [LineRow.blank()]
    else:
        saved = list(contract.lines.select_related("product", "plan").order_by("position"))
        rows = [line_row(line) for line in saved]
        steps = [step_row(line.key, step) for line in saved for step in line.ramp or ()]
    context = {
        "form": form,
        "contract": contract,
        "rows": rows,
        "steps": steps,
        "row_errors": sum(1 for row in [*rows, *steps] if row.has_errors),
        "currencies": COMMON_CURRENCIES,
        "prefix": "line",
        **_choices(),
    }
    return render(request, "billing/contracts/create.html", context, status=status)
