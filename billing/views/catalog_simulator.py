"""The price simulator page: rate usage under any version (drafts included) with ``simulate_version``.
Nothing is saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from billing.catalog.forms.simulator import (
    SimulatorForm,
    event_error_label,
    parse_events_text,
    parse_quantities,
    parse_when,
    quantity_fields,
)
from billing.catalog.simulator import charge_quote, quote_charges, simulate_version
from billing.catalog.ui_support import in_force, sample_events
from billing.models import PlanVersion
from billing.views.catalog_display import price, quantity
from revops.core.ui import require_area
from revops.errors import ValidationFailed
from revops.formatting import money

TEMPLATE = "billing/catalog/simulator.html"


def _versions() -> list[PlanVersion]:
    return list(PlanVersion.objects.select_related("plan").order_by("plan__code", "-number"))


def _pick(versions: list[PlanVersion], key: str | None) -> PlanVersion | None:
    """The version named ``plan:number``; for a bare plan code its version in force today."""
    if not versions:
        return None
    if key and ":" in key:
        code, _, number = key.partition(":")
        return next((v for v in versions if v.plan.code == code and str(v.number) == number), None)
    code = key or versions[0].plan.code
    of_plan = [v for v in versions if v.plan.code == code] or [
        v for v in versions if v.plan.code == versions[0].plan.code
    ]
    return in_force(of_plan, timezone.localdate()) or of_plan[0]


def _window_default() -> tuple[str, str]:
    today = timezone.localdate()
    first = today.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return f"{first:%Y-%m-%d}T00:00", f"{nxt:%Y-%m-%d}T00:00"


def _charges(version: PlanVersion | None):
    if version is None:
        return []
    return list(version.charges.select_related("meter").order_by("position", "id"))


@login_required
@require_area("pricing")
def simulator(request: HttpRequest) -> HttpResponse:
    versions = _versions()
    data = request.POST if request.method == "POST" else None
    chosen = _pick(versions, (data or request.GET).get("version") or request.GET.get("plan"))
    if request.GET.get("plan") and request.GET.get("version"):
        chosen = _pick(versions, f"{request.GET['plan']}:{request.GET['version']}") or chosen
    start, end = _window_default()
    form = SimulatorForm(
        data,
        versions=versions,
        initial={
            "version": f"{chosen.plan.code}:{chosen.number}" if chosen else "",
            "start": start,
            "end": end,
        },
    )
    qty_fields = quantity_fields(_charges(chosen))
    for q in qty_fields:
        q["value"] = (data or {}).get(q["name"], "")
    context = {
        "quote": _quote(chosen, request.GET),
        "form": form,
        "version": chosen,
        "qty_fields": qty_fields,
        "result": None,
        "event_errors": [],
        "qty_errors": {},
    }
    if data is not None:
        context.update(_run(form, chosen, data, qty_fields))
    if request.htmx and request.htmx.target == "sim-results":
        return render(request, f"{TEMPLATE}#results-htmx", {**context, "oob": True})
    return render(request, TEMPLATE, context, status=400 if context.get("failed") else 200)


def _run(form: SimulatorForm, version: PlanVersion | None, data, qty_fields) -> dict:
    out: dict = {"failed": True}
    events, lines, event_errors = parse_events_text(data.get("events", ""))
    quantities, qty_errors = parse_quantities(data, qty_fields)
    out.update(event_errors=event_errors, qty_errors=qty_errors)
    if not form.is_valid() or version is None or event_errors or qty_errors:
        return out
    try:
        result = simulate_version(
            version=version,
            start=form.cleaned_data["start"],
            end=form.cleaned_data["end"],
            events=events,
            quantities=quantities,
        )
    except ValidationFailed as exc:
        for error in exc.errors:
            if error.field in ("start", "end"):
                form.add_error(error.field, error.message)
            elif error.field.startswith("events"):
                out["event_errors"].append(f"{event_error_label(error.field, lines)}: {error.message}")
            else:
                form.add_error(None, f"{error.field}: {error.message}" if error.field else error.message)
        return out
    currency = version.plan.currency
    for line in result["lines"]:
        line["quantity_shown"] = quantity(line["quantity"])
        line["unit_shown"] = price(line["unit_amount"], currency) if line["unit_amount"] is not None else ""
        for b in line["breakdown"]:
            b["units_shown"] = quantity(b["units"]) if b.get("units") is not None else ""
            b["unit_shown"] = price(b["unit_amount"], currency) if b.get("unit_amount") is not None else ""
            b["amount_shown"] = price(b["amount"], currency)
    out.update(failed=False, result=result, event_count=len(events))
    return out


@login_required
@require_area("pricing")
def simulator_quantities(request: HttpRequest) -> HttpResponse:
    """The quantity inputs of the chosen version's charges without a meter (HTMX, on version change)."""
    version = _pick(_versions(), request.GET.get("version"))
    return render(
        request,
        f"{TEMPLATE}#quantities",
        {"qty_fields": quantity_fields(_charges(version)), "version": version, "qty_errors": {}},
    )


@login_required
@require_area("pricing")
def simulator_sample(request: HttpRequest) -> HttpResponse:
    """A few sample events for the chosen version's meters, dated inside the window."""
    version = _pick(_versions(), request.GET.get("version"))
    try:
        start = parse_when(request.GET.get("start") or "")
    except ValueError:
        start = datetime.combine(timezone.localdate().replace(day=1), datetime.min.time(), tzinfo=UTC)
    text = sample_events(version, start=start) if version else ""
    form = SimulatorForm(initial={"events": text}, versions=[])
    return render(
        request, f"{TEMPLATE}#events-field", {"form": form, "event_errors": [], "sampled": bool(text)}
    )


def _quote(version: PlanVersion | None, params) -> dict:
    """The quick quote: what N units of one of the version's charges cost (or why it cannot say)."""
    if version is None:
        return {"charges": []}
    charges = quote_charges(version)
    code = params.get("charge") or next(
        (c.code for c in charges if c.meter_id), charges[0].code if charges else ""
    )
    raw = (params.get("quantity") or "").strip().replace(",", "")
    out = {"charges": charges, "code": code, "raw": raw, "version": version}
    if not raw or not charges:
        return out
    try:
        amount = Decimal(raw)
        if not amount.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        return out | {"error": f"'{raw[:40]}' is not a number."}
    try:
        result = charge_quote(version=version, charge_code=code, quantity=amount)
    except ValidationFailed as exc:
        return out | {"error": "; ".join(e.message for e in exc.errors) or exc.detail}
    currency = version.plan.currency
    for b in result["breakdown"]:
        b["units_shown"] = quantity(b["units"]) if b.get("units") is not None else ""
        b["unit_shown"] = price(b["unit_amount"], currency) if b.get("unit_amount") is not None else ""
        b["amount_shown"] = price(b["amount"], currency)
    result["amount_shown"] = money(Decimal(result["amount"]), currency)
    result["quantity_shown"] = quantity(result["quantity"])
    result["per_unit_shown"] = price(result["per_unit"], currency) if result["per_unit"] is not None else ""
    return out | {"result": result}


@login_required
@require_area("pricing")
def simulator_quote(request: HttpRequest) -> HttpResponse:
    """What quantity N of a charge costs (HTMX: the quote card only)."""
    version = _pick(_versions(), request.GET.get("version"))
    return render(request, f"{TEMPLATE}#quote", {"quote": _quote(version, request.GET), "version": version})
