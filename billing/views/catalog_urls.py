"""Pricing-admin UI, mounted at /pricing/."""

from django.urls import path

from billing.views import (
    catalog,
    catalog_charges,
    catalog_edit,
    catalog_impact,
    catalog_products,
    catalog_simulator,
    catalog_versions,
    coupons,
)

V = "plans/<slug:code>/versions/<int:number>/"

urlpatterns = [
    path("plans/", catalog.plan_list, name="pricing-plans"),
    path("plans/new/", catalog.plan_create, name="pricing-plan-create"),
    path("plans/<slug:code>/", catalog.plan_detail, name="pricing-plan"),
    path("plans/<slug:code>/details", catalog.plan_details_update, name="pricing-plan-details"),
    path("plans/<slug:code>/diff", catalog_versions.version_diff, name="pricing-diff"),
    path("plans/<slug:code>/versions/new", catalog_versions.version_create, name="pricing-version-create"),
    path(V, catalog_versions.version_detail, name="pricing-version"),
    path(V + "edit", catalog_versions.version_edit, name="pricing-version-edit"),
    path(V + "publish", catalog_versions.version_publish, name="pricing-version-publish"),
    path(V + "impact", catalog_impact.version_impact_view, name="pricing-version-impact"),
    path(V + "discard", catalog_versions.version_discard, name="pricing-version-discard"),
    path(V + "charges/new", catalog_charges.charge_edit, name="pricing-charge-create"),
    path(V + "charges/<int:index>/", catalog_charges.charge_edit, name="pricing-charge-edit"),
    path(V + "charges/<int:index>/remove", catalog_versions.charge_remove, name="pricing-charge-remove"),
    path(V + "charges/<int:index>/move", catalog_versions.charge_move, name="pricing-charge-move"),
    path(V + "charges/_properties", catalog_charges.charge_properties, name="pricing-charge-properties"),
    path(V + "charges/_tier-row", catalog_charges.tier_row, name="pricing-tier-row"),
    path(V + "charges/_filter-row", catalog_charges.filter_row, name="pricing-filter-row"),
    path(V + "charges/_preview", catalog_charges.charge_preview, name="pricing-charge-preview"),
    path("coupons/", coupons.coupon_list, name="pricing-coupons"),
    path("coupons/<slug:code>/", coupons.coupon_detail, name="pricing-coupon"),
    path("simulator/", catalog_simulator.simulator, name="pricing-simulator"),
    path("simulator/quantities", catalog_simulator.simulator_quantities, name="pricing-simulator-quantities"),
    path("simulator/quote", catalog_simulator.simulator_quote, name="pricing-simulator-quote"),
    path("simulator/sample", catalog_simulator.simulator_sample, name="pricing-simulator-sample"),
    path("catalog/", catalog_products.products_meters, name="pricing-catalog"),
    path("catalog/_new/<slug:kind>", catalog_products.inline_create, name="pricing-inline-create"),
    path("catalog/products/<slug:code>/", catalog_edit.product_edit, name="pricing-product"),
    path("catalog/meters/<slug:code>/", catalog_edit.meter_edit, name="pricing-meter"),
]
