"""The charge editor of a draft version, and its HTMX fragments: the model's properties fieldset,
a new tier row, a new per-dimension row, and the live preview (``preview_charge``, nothing saved).

Saving a charge rebuilds the draft's full list of charge payloads and calls
``plan_version_update_draft`` — the same service as the API — so the same rules give the same
errors, placed next to the inputs they are about."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from billing.catalog.forms.charge_editor import ChargeEditor
from billing.catalog.forms.products import MeterForm, ProductForm, products_and_meters
from billing.catalog.simulator import preview_charge
from billing.views.catalog import _base, charge_payloads, get_version, update_draft
from billing.views.catalog_display import price, properties_summary, quantity
from revops.core.ui import require_area
from revops.errors import InvalidTransition, ValidationFailed
from revops.formatting import money

TEMPLATE = "billing/catalog/charge_edit.html"


def _editor_from_post(request: HttpRequest) -> ChargeEditor:
    products, meters = products_and_meters()
    return ChargeEditor.from_post(request.POST, products=products, meters=meters)


@login_required
@require_area("catalog", write=True)
def charge_edit(request: HttpRequest, code: str, number: int, index: int | None = None) -> HttpResponse:
    """Add (``index`` None) or edit the charge at ``index`` of a draft version."""
    version = get_version(code, number)
    if version.is_published:
        messages.info(
            request, f"Version {number} is published and can no longer change; create a new version instead."
        )
        return redirect("pricing-version", code=code, number=number)
    payloads = charge_payloads(version)
    if index is not None and not 0 <= index < len(payloads):
        messages.error(request, "That charge no longer exists; the list below is current.")
        return redirect("pricing-version-edit", code=code, number=number)
    products, meters = products_and_meters()
    status = 200
    if request.method == "POST":
        editor = ChargeEditor.from_post(request.POST, products=products, meters=meters)
        payload = editor.payload()
        position = len(payloads) if index is None else index
        if editor.shape_ok:
            changed = (
                [*payloads, payload]
                if index is None
                else [payload if i == index else p for i, p in enumerate(payloads)]
            )
            try:
                update_draft(request, version, changed)
            except ValidationFailed as exc:
                editor.add_errors(exc.errors, prefix=f"charges[{position}]", index=position)
            except InvalidTransition as exc:
                messages.error(request, exc.detail)
                return redirect("pricing-version", code=code, number=number)
            else:
                messages.success(request, f"Charge {payload['code']} saved to draft version {number}.")
                return redirect("pricing-version-edit", code=code, number=number)
        editor.add_local_errors()
        status = 400
    elif index is None:
        editor = ChargeEditor.from_payload(
            {"model": "standard", "timing": "in_arrears", "properties": {}}, products=products, meters=meters
        )
    else:
        editor = ChargeEditor.from_payload(payloads[index], products=products, meters=meters)
    return render(
        request,
        TEMPLATE,
        _base(
            request,
            plan=version.plan,
            version=version,
            editor=editor,
            index=index,
            is_new=index is None,
            new_product=ProductForm(prefix="newproduct"),
            new_meter=MeterForm(prefix="newmeter"),
        ),
        status=status,
    )


def _fragment_context(request, code, number, editor, **extra) -> dict:
    version = get_version(code, number)
    return {"plan": version.plan, "version": version, "editor": editor, **extra}


@login_required
@require_area("catalog", write=True)
@require_POST
def charge_properties(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """The model-dependent part of the form, re-rendered for the chosen model (values kept)."""
    editor = _editor_from_post(request)
    response = render(
        request, f"{TEMPLATE}#model-swap", _fragment_context(request, code, number, editor, oob=True)
    )
    return trigger_client_event(response, "pricing-changed", after="settle")


@login_required
@require_area("catalog", write=True)
@require_POST
def tier_row(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """A new, empty tier row. It goes above an open-ended ("and above") last tier, else at the end."""
    editor = _editor_from_post(request)
    response = render(
        request,
        f"{TEMPLATE}#tier-row",
        _fragment_context(request, code, number, editor, row=editor.new_tier()),
    )
    if editor.tiers and not editor.tiers[-1].up_to:
        reswap(retarget(response, "#tier-rows > tr:last-child"), "beforebegin")
    return trigger_client_event(response, "pricing-changed", after="settle")


@login_required
@require_area("catalog", write=True)
@require_POST
def filter_row(request: HttpRequest, code: str, number: int) -> HttpResponse:
    editor = _editor_from_post(request)
    return render(
        request,
        f"{TEMPLATE}#filter-row",
        _fragment_context(request, code, number, editor, row=editor.new_filter()),
    )


@login_required
@require_area("pricing")
@require_POST
def charge_preview(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """Rate what is typed, nothing saved: the amount and the tier-by-tier breakdown, or the errors."""
    version = get_version(code, number)
    editor = _editor_from_post(request)
    meter_field = editor.meter.field if editor.meter else ""
    args = editor.preview_request(meter_field=meter_field)
    hint = args.pop("hint", None)
    if editor.untouched and not editor.preview_group:
        return render(
            request,
            f"{TEMPLATE}#preview",
            {
                "plan": version.plan,
                "editor": editor,
                "hint": "Type the prices, then a quantity, to see the amount.",
            },
        )
    result = None
    group = editor.preview_group
    if not editor.local_errors:
        try:
            result = preview_charge(currency=version.plan.currency, **args)
        except ValidationFailed as exc:
            prefix = "charge"
            if group.isdigit():  # a dimension's prices: point the errors at that dimension's row
                exc_errors = [
                    type(e)(
                        e.field.replace("charge.properties", f"charge.filters[{group}].properties", 1),
                        e.message,
                    )
                    for e in exc.errors
                ]
            else:
                exc_errors = exc.errors
            editor.add_errors(exc_errors, prefix=prefix)
    editor.add_local_errors()
    if editor.summary or hint is not None:
        result = None
    context = {
        "plan": version.plan,
        "editor": editor,
        "hint": None if editor.summary else hint,
        "result": None,
    }
    if result is not None:
        currency = result["currency"]
        context.update(
            result=result,
            amount_shown=money(result["amount"], currency),
            rows=[
                {
                    "description": b["description"],
                    "units": quantity(b["units"]) if "units" in b else "",
                    "unit_amount": price(b["unit_amount"], currency) if "unit_amount" in b else "",
                    "flat_amount": price(b["flat_amount"], currency) if "flat_amount" in b else "",
                    "amount": price(b["amount"], currency),
                }
                for b in result["breakdown"]
            ],
            subject=(
                f"{len(args['events'])} event{'s' if len(args['events']) != 1 else ''}"
                if "events" in args
                else f"a quantity of {quantity(args.get('quantity', 1))}"
            ),
            summary_line=properties_summary(
                editor.model, args["properties"], field_name=args.get("field") or "", currency=currency
            ),
        )
    return render(request, f"{TEMPLATE}#preview", context)
