"""Variable consideration (estimate history, re-estimate form) and input-method costs (cost records,
progress) on the contract's revenue page — HTMX function views calling the same services as the API
(revrec.services.estimates / progress)."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from billing.contracts.models import Contract
from billing.contracts.variable import variable_terms
from revops.core.approvals.models import Approval
from revops.core.ui import require_area
from revops.errors import DomainError, FieldError
from revops.roles import can_write
from revrec.models import PerformanceObligation, VariableEstimate
from revrec.services.estimates import ESTIMATE, estimate_request
from revrec.services.input_progress import progress_of
from revrec.services.progress import EXPECTED_COSTS, obligation_cost_request, percent


def variable_context(contract: Contract, user) -> dict:
    """What the contract page shows about variable consideration and input-method progress."""
    by_key: dict[str, list] = {}
    for line in contract.lines.order_by("key", "revision"):
        by_key.setdefault(line.key, []).append(line)
    variable_lines = [t for t in (variable_terms(revs) for revs in by_key.values()) if t is not None]
    fixed_keys = sorted(k for k, revs in by_key.items() if revs[-1].billing != "usage")
    estimates = list(
        VariableEstimate.objects.filter(contract=contract).select_related("recorded_by").order_by("-id")
    )
    pending_estimates = list(
        Approval.objects.filter(
            kind=ESTIMATE,
            object_type=f"{contract._meta.app_label}.{contract._meta.model_name}",
            object_id=str(contract.pk),
            status=Approval.Status.PENDING,
        )
        .select_related("requested_by")
        .order_by("-id")
    )
    input_pos = []
    for po in PerformanceObligation.objects.filter(
        contract=contract,
        status=PerformanceObligation.Status.ACTIVE,
        variable=False,
        progress_measure="input",
    ).order_by("id"):
        progress = progress_of(po)
        input_pos.append(
            {
                "po": po,
                "progress": progress,
                "percent": percent(progress.measure(po.progress_places)),
                "costs": list(po.costs.select_related("recorded_by").order_by("-id")),
                "pending": Approval.objects.filter(
                    kind=EXPECTED_COSTS,
                    object_type=f"{po._meta.app_label}.{po._meta.model_name}",
                    object_id=str(po.pk),
                    status=Approval.Status.PENDING,
                )
                .select_related("requested_by")
                .first(),
            }
        )
    return {
        "contract": contract,
        "variable_lines": variable_lines,
        "estimate_keys": fixed_keys,
        "estimates": estimates,
        "pending_estimates": pending_estimates,
        "input_pos": input_pos,
        "can_estimate": can_write(user, "revenue") and contract.status == Contract.Status.ACTIVE,
        "estimate_methods": VariableEstimate.Method.choices,
    }


def _errors(exc: DomainError) -> list[FieldError]:
    return list(exc.errors) or [FieldError(None, exc.detail)]


def _date(value: str):
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return value  # the service names the field


@login_required
@require_area("revenue", write=True)
@require_POST
def contract_estimate_record(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(Contract.objects.select_related("customer"), pk=pk)
    form = {
        k: request.POST.get(k, "").strip()
        for k in ("line", "method", "estimate", "constrained", "as_of", "reason")
    }
    errors, notice = [], None
    try:
        approval = estimate_request(
            contract=contract,
            line=form["line"],
            method=form["method"],
            estimate=form["estimate"],
            constrained=form["constrained"],
            as_of=_date(form["as_of"]),
            reason=form["reason"],
            actor=request.user,
        )
    except DomainError as exc:
        errors = _errors(exc)
    else:
        notice = (
            f"Re-estimate of '{approval.payload['line']}' submitted for approval (request #{approval.pk}): "
            "nothing changes until another person with the approver role approves it."
        )
        form = {}
    if not request.htmx:
        if errors:
            messages.error(request, "; ".join(e.message for e in errors))
        else:
            messages.success(request, notice)
        return redirect("revenue-contract", pk=contract.pk)
    contract.refresh_from_db()
    context = {
        **variable_context(contract, request.user),
        "currency": contract.currency,
        "estimate_errors": errors,
        "estimate_form": form,
        "estimate_notice": notice,
    }
    return render(request, "revrec/contract.html#estimates", context)


@login_required
@require_area("revenue", write=True)
@require_POST
def obligation_cost_record_view(request: HttpRequest, pk: int) -> HttpResponse:
    po = get_object_or_404(PerformanceObligation.objects.select_related("contract"), pk=pk)
    form = {k: request.POST.get(k, "").strip() for k in ("kind", "period", "amount", "note")}
    errors, notice = [], None
    try:
        cost = obligation_cost_request(
            obligation=po,
            kind=form["kind"],
            period=form["period"],
            amount=form["amount"],
            note=form["note"],
            actor=request.user,
        )
    except DomainError as exc:
        errors = _errors(exc)
    else:
        if isinstance(cost, Approval):
            notice = (
                f"Total expected costs {cost.payload['amount']} submitted for approval (request #{cost.pk}): "
                "the schedule changes when another person with the approver role approves them."
            )
        else:
            notice = (
                f"{cost.get_kind_display()} {cost.amount} for {cost.period} recorded; the schedule follows."
            )
        form = {}
    if not request.htmx:
        if errors:
            messages.error(request, "; ".join(e.message for e in errors))
        else:
            messages.success(request, notice)
        return redirect("revenue-contract", pk=po.contract_id)
    context = {
        **variable_context(po.contract, request.user),
        "currency": po.contract.currency,
        "cost_errors": errors,
        "cost_form": form,
        "cost_po": po.pk,
        "cost_notice": notice,
    }
    return render(request, "revrec/contract.html#costs", context)
