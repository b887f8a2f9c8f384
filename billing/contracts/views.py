"""Contract pages: the list, the contract editor (header + spreadsheet-like line rows added and
removed with HTMX row partials), the contract page (lifecycle, lines with their revisions, version
history, invoices) and the amendment form with its live proration preview.

Function views calling the same services as the API (billing.contracts.services): contract_create,
contract_submit, contract_activate, contract_amend, contract_terminate and proration_preview (which
runs the real amendment in a transaction that is always rolled back)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.contracts import selectors, services
from billing.contracts.confirmations import (
    activation_confirmation,
    cancellation_confirmation,
    termination_confirmation,
    trial_cancel_confirmation,
)
from billing.contracts.extensions import contract_panels
from billing.contracts.filters import ContractFilter
from billing.contracts.forms import (
    Amendment,
    ContractForm,
    LineRow,
    StepRow,
    TerminateForm,
    line_rows_from,
    lines_with_ramps,
    place_line_errors,
    place_step_errors,
    step_rows_from,
)
from billing.contracts.guards import plan_warnings, usage_billed_plans
from billing.contracts.models import Contract, ContractLine, ContractTrial, ScheduledChange
from billing.contracts.ramp import is_ramp
from billing.contracts.renewal_views import renewal_context
from billing.contracts.services import scheduled
from billing.contracts.services.trials import trial_cancel_date
from billing.contracts.terms import line_range
from billing.contracts.value import ramp_step_values
from billing.display import decorate_invoices
from billing.models import Invoice, Plan
from revops.core.confirm import confirm_page, is_confirmed
from revops.core.filters import filter_page
from revops.core.forms import apply_errors, error_text
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.formatting import day, money, quantity, unit_price
from revops.money import round_money
from revops.parties.forms import COMMON_CURRENCIES
from revops.parties.models import Customer, Product
from revops.roles import can_write

PAGE_SIZE = 50


def _choices() -> dict:
    """Products and plans for the line selects (plans carry their currency and interval)."""
    return {
        "products": list(Product.objects.order_by("name").only("code", "name")),
        "plans": list(Plan.objects.order_by("code").only("code", "name", "currency", "interval")),
        "billings": ContractLine.Billing.choices,
    }


# --- list ------------------------------------------------------------------------------------------


@login_required
@require_area("contracts")
def contract_list(request: HttpRequest) -> HttpResponse:
    listed = filter_page(
        ContractFilter,
        request.GET,
        Contract.objects.select_related("customer").annotate(n_invoices=Count("invoices", distinct=True)),
    )
    status, customer_ref = request.GET.get("status") or "", request.GET.get("customer") or ""
    qs = listed.qs
    page = Paginator(qs.order_by("-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for contract in rows:
        contract.m_price = money(contract.transaction_price, contract.currency)
    context = {
        "page": page,
        "contracts": rows,
        "status": status,
        "customer_ref": customer_ref,
        "filter_errors": listed.errors,
        "statuses": Contract.Status.choices,
        "customers": Customer.objects.order_by("name").only("external_id", "name")[:1000],
        "can_edit": can_write(request.user, "contracts"),
        "query": urlencode({k: v for k, v in (("status", status), ("customer", customer_ref)) if v}),
    }
    if request.htmx:
        return render(request, "billing/contracts/list.html#results", context)
    return render(request, "billing/contracts/list.html", context)


# --- editor ----------------------------------------------------------------------------------------


@login_required
@require_area("contracts", write=True)
def contract_create_view(request: HttpRequest) -> HttpResponse:
    customers = list(Customer.objects.order_by("name").only("external_id", "name", "currency")[:2000])
    if request.method == "POST":
        form = ContractForm(request.POST, customers=customers)
        rows = line_rows_from(request.POST)
        typed = [row for row in rows if not row.is_blank]
        steps = step_rows_from(request.POST)
        payloads, where = lines_with_ramps(typed, steps)
        if form.is_valid() and not any(step.has_errors for step in steps):
            try:
                contract = services.contract_create(
                    **form.service_kwargs(), lines=payloads, actor=request.user
                )
            except DomainError as exc:
                rest = place_line_errors(place_step_errors(exc.errors, where), typed)
                apply_errors(form, rest)
                if not exc.errors:
                    form.add_error(None, exc.detail)
            else:
                messages.success(
                    request,
                    f"Contract {contract.number} of {contract.customer.name} created as a draft "
                    f"({money(contract.transaction_price, contract.currency)} fixed consideration). "
                    "Submit it for approval or activate it.",
                )
                return redirect("contract", pk=contract.pk)
        rows = typed or [LineRow.blank()]
    else:
        steps = []
        start = timezone.localdate().replace(day=1)
        form = ContractForm(
            initial={
                "customer": request.GET.get("customer", ""),
                "start_date": start,
                "end_date": start.replace(year=start.year + 1),
            },
            customers=customers,
        )
        rows = [LineRow.blank()]
    context = {
        "form": form,
        "rows": rows,
        "steps": steps,
        "row_errors": sum(1 for row in [*rows, *steps] if row.has_errors),
        "currencies": COMMON_CURRENCIES,
        "prefix": "line",
        **_choices(),
    }
    return render(
        request, "billing/contracts/create.html", context, status=400 if request.method == "POST" else 200
    )


@login_required
@require_area("contracts", write=True)
def contract_line_row(request: HttpRequest) -> HttpResponse:
    """A blank spreadsheet row (the 'Add line' button appends it)."""
    prefix = "add" if request.GET.get("prefix") == "add" else "line"
    return render(
        request,
        "billing/contracts/create.html#line-row",
        {"row": LineRow.blank(), "prefix": prefix, **_choices()},
    )


@login_required
@require_area("contracts", write=True)
def contract_step_row(request: HttpRequest) -> HttpResponse:
    """A blank ramp step row (the 'Add ramp step' button appends it)."""
    return render(request, "billing/contracts/create.html#step-row", {"step": StepRow.blank()})


# --- contract page ---------------------------------------------------------------------------------


def describe_change(change: dict) -> str:
    """A ContractVersion change entry as a sentence."""
    if "renewal" in change:
        return (
            f"Renewal {change['renewal']} ({change.get('policy', '')}): new term "
            f"{_day(change['term_start'])} – {_day(change['term_end'])}"
        )
    if "renews" in change:
        price = change.get("unit_price") or {}
        moved = (
            f", unit price {unit_price(price['from']) if price.get('from') else 'plan price'} → "
            f"{unit_price(price['to']) if price.get('to') else 'plan price'}"
            if price.get("from") != price.get("to")
            else ""
        )
        return f"Line {change['key']} renews {change['renews']}{moved}"
    if "end_date" in change and isinstance(change["end_date"], dict):
        return f"Term end {_day(change['end_date']['from'])} → {_day(change['end_date']['to'])}"
    if "added" in change:
        return f"Added line {change['added']} ({change.get('product', '')})"
    if "terminated_on" in change:
        try:
            return f"Terminated on {day(date.fromisoformat(str(change['terminated_on'])))}"
        except ValueError:
            return f"Terminated on {change['terminated_on']}"
    key = change.get("line", "?")
    if change.get("removed"):
        return f"Removed line {key}"
    parts = []
    for name, label in (("quantity", "quantity"), ("plan", "plan"), ("unit_price", "unit price")):
        if name in change:
            value = change[name]
            parts.append(f"{label} → {quantity(value) if name != 'plan' else value}")
    revisions = (
        f" (revision {change['from_revision']} → {change['to_revision']})" if "to_revision" in change else ""
    )
    return f"Line {key}: {', '.join(parts) or 'changed'}{revisions}"


def describe_request(change: dict) -> str:
    """A change as the amend endpoint takes it (a scheduled amendment's ``changes``) as a sentence."""
    if isinstance(change.get("add"), dict):
        add = change["add"]
        return f"Add line {add.get('key', '?')} ({add.get('product', '')})"
    if "remove" in change:
        return f"Remove line {change['remove']}"
    parts = []
    for name, label in (
        ("quantity", "quantity"),
        ("plan", "plan"),
        ("unit_price", "unit price"),
        ("amount", "amount"),
        ("end", "service end"),
    ):
        if name in change:
            value = change[name]
            parts.append(f"{label} → {quantity(value) if name in ('quantity', 'unit_price') else value}")
    return f"Line {change.get('line', '?')}: {', '.join(parts) or 'changed'}"


def _day(value) -> str:
    try:
        return day(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _contract_context(request: HttpRequest, contract: Contract, *, terminate_form=None) -> dict:
    c = contract.currency
    lines = list(contract.lines.select_related("product", "plan").order_by("position", "key", "revision"))
    superseded = {ln.supersedes_id for ln in lines if ln.supersedes_id}
    today = timezone.localdate()
    for line in lines:
        start, end = line_range(line, contract)
        line.range_start, line.range_end = start, end
        line.is_superseded = line.pk in superseded
        line.has_ended = not line.is_superseded and end <= today and end < contract.end_date
        line.m_quantity = quantity(line.quantity)
        line.m_unit = (
            unit_price(line.unit_price, c)
            if line.unit_price is not None
            else ("plan price" if line.plan_id else "")
        )
        line.m_amount = money(line.amount, c) if line.amount is not None else ""
        line.m_ramp = []
        if is_ramp(line):
            line.m_unit = "ramp"
            line.m_ramp = [
                {
                    "from": lo,
                    "days": (hi - lo).days,
                    "price": f"{unit_price(step.unit_price, c)} per unit"
                    if step.unit_price is not None
                    else f"{money(step.amount, c)} per period",
                    "billing": money(total, c),
                }
                for step, lo, hi, total in ramp_step_values(line, contract)
            ]
    current = [line for line in lines if not line.is_superseded]
    metered = usage_billed_plans(line.plan_id for line in current if line.plan_id)
    for line in lines:
        line.usage_billed = line.plan_id in metered
    versions = list(contract.versions.select_related("created_by").order_by("-version"))
    for version in versions:
        version.sentences = [describe_change(ch) for ch in version.changes if isinstance(ch, dict)]
    invoices = decorate_invoices(
        Invoice.objects.filter(contract=contract).select_related("customer").order_by("-billing_date", "-id")
    )
    editable = can_write(request.user, "contracts")
    status = contract.status
    changes = list(contract.scheduled_changes.select_related("approval", "created_by", "decided_by"))
    for change in changes:
        change.sentences = [describe_request(ch) for ch in change.changes if isinstance(ch, dict)]
        change.last_day = change.effective_date - timedelta(days=1)
    can_cancel = editable and status == Contract.Status.ACTIVE
    trials = list(contract.trials.all())
    trialing = [t for t in trials if t.status == ContractTrial.Status.TRIALING]
    for trial in trials:
        trial.m_price = money(trial.price, c) if trial.price is not None else "free"
    try:
        trial_ends_on = trial_cancel_date(contract, today=today) if trialing else None
    except DomainError:
        trial_ends_on = None
    return {
        "contract": contract,
        "lines": lines,
        "versions": versions,
        "invoices": invoices,
        "m_price": money(contract.transaction_price, c),
        "can_edit": editable,
        "can_submit": editable and status == Contract.Status.DRAFT,
        "can_activate": editable and status in (Contract.Status.DRAFT, Contract.Status.PENDING_APPROVAL),
        "can_amend": editable and status == Contract.Status.ACTIVE,
        "can_terminate": editable and status == Contract.Status.ACTIVE,
        "terminate_form": terminate_form or TerminateForm(),
        "open_terminate": terminate_form is not None,
        "pending_override": selectors.pending_override(contract),
        "scheduled_changes": changes,
        "can_cancel": can_cancel,
        "cancel_options": _cancel_options(contract) if can_cancel else [],
        "can_schedule": can_cancel,
        "trials": trials,
        "in_trial": bool(trialing) and status == Contract.Status.ACTIVE,
        "converts_on": min((t.converts_on for t in trialing), default=None),
        "can_cancel_trial": editable and trial_ends_on is not None,
        "plan_warnings": plan_warnings(current) if status != Contract.Status.TERMINATED else [],
        **renewal_context(request, contract),
        "panels": contract_panels(contract),
    }


def _cancel_options(contract: Contract) -> list[dict]:
    """The three ways to cancel, each with its date and what it credits (the select's labels)."""
    options = []
    for at in scheduled.AT:
        preview = scheduled.cancellation_preview(contract=contract, at=at)
        effective, credit = preview["effective_date"], preview["credit"]
        if at == "now":
            label = f"Now — credit {money(-credit if credit else 0, contract.currency)}"
        elif at == "period_end":
            label = f"Period end — last day {day(effective - timedelta(days=1))}"
        else:
            label = f"Term end — last day {day(effective - timedelta(days=1))}"
        options.append(
            {"value": at, "label": label, "disabled": at != "now" and effective <= timezone.localdate()}
        )
    return options


def _contract(pk: int) -> Contract:
    return get_object_or_404(Contract.objects.select_related("customer", "created_by"), pk=pk)


@login_required
@require_area("contracts")
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "billing/contracts/detail.html", _contract_context(request, _contract(pk)))


def _lifecycle(request: HttpRequest, pk: int, action, done: str) -> HttpResponse:
    contract = _contract(pk)
    try:
        contract = action(contract)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        approval = getattr(contract, "override_approval", None)
        if approval is not None:
            messages.warning(request, _waiting(approval))
        else:
            messages.success(request, done.format(contract=contract))
    return redirect("contract", pk=pk)


def _waiting(approval) -> str:
    return (
        f"Price override waits for approval (request #{approval.pk}): {approval.summary}. Nothing "
        "takes effect until an approver other than you approves it in the approval queue."
    )


@login_required
@require_area("contracts", write=True)
@require_POST
def contract_submit_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _lifecycle(
        request,
        pk,
        lambda c: services.contract_submit(contract=c, actor=request.user),
        "Contract {contract.number} of {contract.customer.name} submitted for approval.",
    )


@login_required
@require_area("contracts", write=True)
@require_POST
def contract_activate_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(pk)
    if not is_confirmed(request) and contract.status in (
        Contract.Status.DRAFT,
        Contract.Status.PENDING_APPROVAL,
    ):
        return confirm_page(request, activation_confirmation(contract))
    return _lifecycle(
        request,
        pk,
        lambda c: services.contract_activate(contract=c, actor=request.user),
        "Contract {contract.number} of {contract.customer.name} is active; the next billing run bills what is due.",
    )


@login_required
@require_area("contracts", write=True)
@require_POST
def contract_terminate_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(pk)
    form = TerminateForm(request.POST)
    if form.is_valid():
        if not is_confirmed(request):
            return confirm_page(
                request, termination_confirmation(contract, form.cleaned_data["effective_date"])
            )
        try:
            contract = services.contract_terminate(
                contract=contract, effective_date=form.cleaned_data["effective_date"], actor=request.user
            )
        except DomainError as exc:
            apply_errors(form, exc.errors)
            if not exc.errors:
                form.add_error(None, exc.detail)
        else:
            messages.success(
                request,
                f"Contract {contract.number} of {contract.customer.name} terminated on {day(contract.terminated_on)} "
                f"(version {contract.version}). Fees billed in advance past that date are credited on "
                "the next invoice.",
            )
            return redirect("contract", pk=pk)
    context = _contract_context(request, contract, terminate_form=form)
    return render(request, "billing/contracts/detail.html", context, status=400)


@login_required
@require_area("contracts", write=True)
@require_POST
def contract_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel now, at the end of the billing period or at the end of the term; the confirmation step
    states the date and the credit (scheduled.cancellation_preview) before anything changes."""
    contract = _contract(pk)
    at = request.POST.get("at", "")
    try:
        if not is_confirmed(request):
            preview = scheduled.cancellation_preview(contract=contract, at=at)
            return confirm_page(request, cancellation_confirmation(contract, preview))
        contract = scheduled.contract_cancel(contract=contract, at=at, actor=request.user)
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("contract", pk=pk)
    pending = getattr(contract, "scheduled_cancellation", None)
    if pending is not None:
        messages.success(
            request,
            f"{contract.number} of {contract.customer.name} is scheduled to cancel on {day(pending.effective_date)} "
            f"(last day served {day(pending.effective_date - timedelta(days=1))}). You can withdraw it until then.",
        )
    else:
        messages.success(
            request,
            f"{contract.number} of {contract.customer.name} is canceled: terminated on {day(contract.terminated_on)} "
            f"(version {contract.version}). Fees billed in advance past that date are credited on the next invoice.",
        )
    return redirect("contract", pk=pk)


@login_required
@require_area("contracts", write=True)
@require_POST
def scheduled_change_withdraw_view(request: HttpRequest, pk: int, sid: int) -> HttpResponse:
    change = get_object_or_404(ScheduledChange.objects.filter(contract=_contract(pk)), pk=sid)
    try:
        change = scheduled.scheduled_change_withdraw(change=change, actor=request.user)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(
            request,
            f"The {change.get_kind_display().lower()} scheduled for {day(change.effective_date)} is withdrawn; "
            "it will not apply.",
        )
    return redirect("contract", pk=pk)


@login_required
@require_area("contracts", write=True)
@require_POST
def contract_trial_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(pk)
    if not is_confirmed(request):
        try:
            ends_on = trial_cancel_date(contract, today=timezone.localdate())
        except DomainError as exc:
            messages.error(request, error_text(exc))
            return redirect("contract", pk=pk)
        trials = list(contract.trials.filter(status=ContractTrial.Status.TRIALING))
        return confirm_page(request, trial_cancel_confirmation(contract, ends_on, trials))
    return _lifecycle(
        request,
        pk,
        lambda c: services.contract_trial_cancel(contract=c, actor=request.user),
        "Contract {contract.number} of {contract.customer.name} canceled during its trial: it ends on "
        "{contract.terminated_on:%-d %b %Y} and the paid period is never billed.",
    )


# --- amendments ------------------------------------------------------------------------------------


def _current(contract: Contract) -> list[ContractLine]:
    """The latest revision of every line (what an amendment can change). Whether a line is still in
    service on the chosen effective date is the service's call, not the page's."""
    lines = []
    for line in selectors.current_lines(contract).values():
        start, end = line_range(line, contract)
        if end > start:
            lines.append(line)
    return sorted(lines, key=lambda ln: (ln.position, ln.key))


def _amend_context(contract: Contract, amendment: Amendment, *, preview=None, errors=()) -> dict:
    c = contract.currency
    for item in amendment.lines:
        line = item.line
        item.m_quantity = quantity(line.quantity)
        item.m_unit = (
            unit_price(line.unit_price, c)
            if line.unit_price is not None
            else (f"{line.plan.code} price" if line.plan_id else "—")
        )
        item.range_start, item.range_end = line_range(line, contract)
        item.ended = item.range_end <= timezone.localdate() and item.range_end < contract.end_date
    return {
        "contract": contract,
        "amendment": amendment,
        "preview": preview,
        "errors": list(errors),
        "prefix": "add",
        "rows": amendment.added,
        "m_price": money(contract.transaction_price, c),
        **_choices(),
    }


def _default_effective(contract: Contract):
    today = timezone.localdate()
    return min(max(today, contract.start_date), contract.end_date)


def _preview_payload(contract: Contract, result: dict) -> dict:
    """proration_preview's answer for the page: amounts stay Decimals, the template formats them in the
    contract's currency (``{% load formatting %}``)."""
    c = contract.currency
    credits = result["credits"]
    new_lines = []
    for item in result["new_lines"]:
        period = item.get("first_period")
        new_lines.append(
            {
                "line": item["line"],
                "revision": item["revision"],
                "starts": item["starts"],
                "period_start": period[0] if period else None,
                "period_end": period[1] if period else None,
                "days": item.get("first_period_days"),
                "amount": item["first_period_amount"],
            }
        )
    net = result["net_first_period"]
    return {
        "credits": credits,
        "new_lines": new_lines,
        "currency": c,
        "net": net,
        "net_sign": "pos" if net > 0 else ("neg" if net < 0 else ""),
        "price_from": result["transaction_price"]["from"],
        "price_to": result["transaction_price"]["to"],
        "price_changed": round_money(result["transaction_price"]["from"], c)
        != round_money(result["transaction_price"]["to"], c),
    }


@login_required
@require_area("contracts", write=True)
def contract_amend_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(pk)
    if contract.status != Contract.Status.ACTIVE:
        messages.error(
            request, f"Only an active contract can be amended; {contract.number} is {contract.status}."
        )
        return redirect("contract", pk=pk)
    current = _current(contract)
    if request.method != "POST":
        amendment = Amendment.initial(current, _default_effective(contract))
        return render(request, "billing/contracts/amend.html", _amend_context(contract, amendment))
    amendment = Amendment.from_request(request.POST, current)
    errors = []
    effective = amendment.effective_date()
    if effective and not amendment.changes and not amendment.end_date():
        errors.append(
            "Change a quantity, plan, unit price, amount or end, remove a line, add one or extend the term."
        )
    elif effective and request.POST.get("schedule"):
        if amendment.end_date():
            errors.append("Extending the term cannot be scheduled; apply it as an amendment.")
        else:
            try:
                change = scheduled.scheduled_change_create(
                    contract=contract, effective_date=effective, changes=amendment.changes, actor=request.user
                )
            except DomainError as exc:
                rest = amendment.place_errors(exc.errors)
                errors = [f"{e.field}: {e.message}" if e.field else e.message for e in rest]
                if not exc.errors:
                    errors.append(exc.detail)
            else:
                messages.success(
                    request,
                    f"Amendment of {contract.number} scheduled for {day(change.effective_date)}: it applies itself "
                    "on that date (as if amended then) and can be withdrawn from the contract page until then.",
                )
                return redirect("contract", pk=pk)
    elif effective:
        try:
            contract = services.contract_amend(
                contract=contract,
                effective_date=effective,
                changes=amendment.changes,
                end_date=amendment.end_date(),
                actor=request.user,
            )
        except DomainError as exc:
            rest = amendment.place_errors(exc.errors)
            errors = [f"{e.field}: {e.message}" if e.field else e.message for e in rest]
            if not exc.errors:
                errors.append(exc.detail)
        else:
            approval = getattr(contract, "override_approval", None)
            if approval is not None:
                messages.warning(request, _waiting(approval))
                return redirect("contract", pk=pk)
            messages.success(
                request,
                f"Amendment applied: {contract.number} of {contract.customer.name} is now at version {contract.version}, effective "
                f"{day(effective)}. Prorations go on the next invoice.",
            )
            return redirect("contract", pk=pk)
    context = _amend_context(contract, amendment, errors=errors)
    return render(request, "billing/contracts/amend.html", context, status=400)


@login_required
@require_area("contracts", write=True)
@require_POST
def contract_amend_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The live preview: what the amendment would bill, computed by proration_preview (saves nothing)."""
    contract = _contract(pk)
    amendment = Amendment.from_request(request.POST, _current(contract))
    effective = amendment.effective_date()
    context = {"contract": contract, "preview": None, "problems": [], "hint": ""}
    if effective is None:
        context["hint"] = "Pick the effective date of the amendment."
    elif not amendment.changes and not amendment.end_date():
        context["hint"] = (
            "Change a quantity, a plan or a unit price, remove a line or add one to see what it bills."
        )
    else:
        try:
            result = services.proration_preview(
                contract=contract,
                effective_date=effective,
                changes=amendment.changes,
                end_date=amendment.end_date(),
            )
        except DomainError as exc:
            labelled = []
            for error in exc.errors or []:
                origin = _origin_label(amendment, error.field)
                labelled.append(f"{origin}{error.message}")
            context["problems"] = labelled or [exc.detail]
        else:
            context["preview"] = _preview_payload(contract, result)
            context["effective"] = effective
    return render(request, "billing/contracts/amend.html#preview", context)


def _origin_label(amendment: Amendment, path: str) -> str:
    match = re.match(r"^changes\[(\d+)\]", path)
    if match and int(match.group(1)) < len(amendment.origins):
        origin = amendment.origins[int(match.group(1))]
        key = getattr(origin, "key", None) or getattr(origin, "values", {}).get("key") or "new line"
        return f"{key}: "
    return f"{path}: " if path else ""
