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
from billing.catalog.forms.products import MeterForm, ProductForm
from billing.models import Meter
from billing.views.catalog import _base
from revops.core.ui import require_area
from revops.errors import ValidationFailed
from revops.parties.models import Product
from revops.parties.services.products import product_create


@login_required
@require_area("catalog")
def products_meters(request: HttpRequest) -> HttpResponse:
    """GET for every role; POST (writes) is refused with 403 by ``require_area`` unless pricing/admin."""
    product_form = ProductForm(prefix="product")
    meter_form = MeterForm(prefix="meter")
    status = 200
    if request.method == "POST":
        kind = request.POST.get("kind")
        if kind == "product":
            product_form = ProductForm(request.POST, prefix="product")
            if product_form.is_valid():
                try:
                    product = product_create(actor=request.user, **product_form.cleaned_data)
                except ValidationFailed as exc:
                    apply_errors(product_form, exc.errors)
                else:
                    messages.success(request, f"Product {product.code} created.")
                    return redirect("pricing-catalog")
        elif kind == "meter":
            meter_form = MeterForm(request.POST, prefix="meter")
            if meter_form.is_valid():
                try:
                    meter = catalog.meter_create(actor=request.user, **meter_form.service_kwargs())
                except ValidationFailed as exc:
                    apply_errors(meter_form, exc.errors)
                else:
                    messages.success(request, f"Meter {meter.code} created.")
                    return redirect("pricing-catalog")
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
