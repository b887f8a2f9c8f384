"""Open and edit a product or a meter (issue 16 §6), through the same services as the API:
``product_update_requested`` (a new revenue account or recognition method for a product that already
has postings is not applied: it waits for a second person's approval) and ``meter_update`` (how a
meter counts cannot change once a charge prices it: a form error says so). Every change is audited."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from billing.catalog import services as catalog
from billing.catalog.forms.errors import apply_errors
from billing.catalog.forms.products import MeterEditForm, ProductEditForm
from billing.models import Charge, Meter
from billing.views.catalog import _base
from revops.books import product_has_postings
from revops.core.audit.selectors import audit_event_list
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.parties.models import Product
from revops.parties.services.products import product_update_requested
from revops.roles import can_write


def _refused(form, exc: DomainError) -> None:
    apply_errors(form, exc.errors)
    form.add_error(None, exc.detail)


def _charges(**where) -> list[Charge]:
    return list(
        Charge.objects.filter(**where)
        .select_related("version__plan")
        .order_by("version__plan__code", "version__number", "position")
    )


def _page(request, template_context: dict, *, obj, status: int) -> HttpResponse:
    if not can_write(request.user, "catalog"):  # readers see the fields, not an editable form
        for field in template_context["form"].fields.values():
            field.disabled = True
    history = audit_event_list(object_type=obj._meta.label_lower, object_id=str(obj.pk))[:20]
    return render(
        request,
        "billing/catalog/item_edit.html",
        _base(request, history=list(history), **template_context),
        status=status,
    )


@login_required
@require_area("catalog")
def product_edit(request: HttpRequest, code: str) -> HttpResponse:
    product = get_object_or_404(Product.objects.annotate(n_charges=Count("charges")), code=code)
    form = ProductEditForm.of(product, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                done = product_update_requested(product=product, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                _refused(form, exc)
                status = exc.status
            else:
                if done.approval is not None:
                    messages.warning(
                        request,
                        f"Product {product.code}: the other changes are saved; the "
                        f"{done.approval.kind.replace('_', ' ')} waits for a second person in the approval "
                        f"queue (request #{done.approval.pk}) because revenue is already posted to it.",
                    )
                else:
                    messages.success(request, f"Product {product.code} ({done.product.name}) saved.")
                return redirect("pricing-product", code=product.code)
    context = {
        "kind": "product",
        "item": product,
        "form": form,
        "charges": _charges(product=product),
        "has_postings": product_has_postings(product),
    }
    return _page(request, context, obj=product, status=status)


@login_required
@require_area("catalog")
def meter_edit(request: HttpRequest, code: str) -> HttpResponse:
    meter = get_object_or_404(Meter, code=code)
    form = MeterEditForm.of(meter, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                meter = catalog.meter_update(meter=meter, actor=request.user, **form.service_kwargs())
            except DomainError as exc:
                _refused(form, exc)
                status = exc.status
            else:
                messages.success(request, f"Meter {meter.code} ({meter.name}) saved.")
                return redirect("pricing-meter", code=meter.code)
    charges = _charges(meter=meter)
    context = {"kind": "meter", "item": meter, "form": form, "charges": charges, "locked": bool(charges)}
    return _page(request, context, obj=meter, status=status)
