"""Products and meters: the building blocks plans price. Lists for everyone; pricing admins can add
them here (``product_create`` / ``meter_create``, the same services as the API)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from billing.catalog import services as catalog
from billing.catalog.forms.errors import apply_errors
from billing.catalog.forms.products import MeterForm, ProductForm, products_and_meters
from billing.models import Meter
from billing.views.catalog import _base
from revops.core.ui import require_area
from revops.errors import ValidationFailed
from revops.parties.models import Product
from revops.parties.services.products import product_create

FORMS = {"product": ProductForm, "meter": MeterForm}


def item_create(kind: str, data, *, actor, prefix: str):
    """Create a product or a meter from posted ``data`` (``product_create`` / ``meter_create``, the
    API's services): ``(created, form)``, ``created`` None with the form's errors when refused."""
    form = FORMS[kind](data, prefix=prefix)
    if not form.is_valid():
        return None, form
    try:
        if kind == "product":
            return product_create(actor=actor, **form.cleaned_data), form
        return catalog.meter_create(actor=actor, **form.service_kwargs()), form
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return None, form


@login_required
@require_area("catalog")
def products_meters(request: HttpRequest) -> HttpResponse:
    """GET for every role; POST (writes) is refused with 403 by ``require_area`` unless pricing/admin."""
    product_form = ProductForm(prefix="product")
    meter_form = MeterForm(prefix="meter")
    status = 200
    if request.method == "POST":
        kind = request.POST.get("kind")
        if kind in FORMS:
            created, form = item_create(kind, request.POST, actor=request.user, prefix=kind)
            if created is not None:
                messages.success(request, f"{kind.capitalize()} {created.code} created.")
                return redirect("pricing-catalog")
            product_form, meter_form = (form, meter_form) if kind == "product" else (product_form, form)
        status = 400
    products = Product.objects.annotate(n_charges=Count("charges")).order_by("code")
    meters = Meter.objects.annotate(n_charges=Count("charges")).order_by("code")
    return render(
        request,
        "billing/catalog/products_meters.html",
        _base(
            request,
            products=products,
            meters=meters,
            product_form=product_form,
            meter_form=meter_form,
            open_form=request.POST.get("kind") if status == 400 else None,
        ),
        status=status,
    )


@login_required
@require_area("catalog", write=True)
def inline_create(request: HttpRequest, kind: str) -> HttpResponse:
    """The charge editor's "new product" / "new meter" panel (HTMX): create it where the charge is
    edited; the panel comes back with the errors, or closed with the new item chosen in its select."""
    if kind not in FORMS or request.method != "POST":
        return HttpResponse(status=404 if kind not in FORMS else 405)
    created, form = item_create(kind, request.POST, actor=request.user, prefix=f"new{kind}")
    products, meters = products_and_meters()
    items = products if kind == "product" else meters
    context = {
        "kind": kind,
        "form": form if created is None else FORMS[kind](prefix=f"new{kind}"),
        "created": created,
        "choices": [(i.code, f"{i.name} ({i.code})") for i in items],
    }
    # 200 either way: the panel (with its errors) is what htmx swaps in; nothing was created on an error
    return render(request, "billing/catalog/_inline_create.html", context)
