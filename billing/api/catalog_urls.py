from django.urls import re_path

from billing.api import catalog as views
from billing.api import pricing

CODE = r"(?P<code>[-a-zA-Z0-9_]+)"

urlpatterns = [
    re_path(r"^products/?$", views.ProductListView.as_view(), name="api-products"),
    re_path(rf"^products/{CODE}/?$", views.ProductDetailView.as_view(), name="api-product"),
    re_path(r"^meters/?$", views.MeterListView.as_view(), name="api-meters"),
    re_path(rf"^meters/{CODE}/?$", views.MeterDetailView.as_view(), name="api-meter"),
    re_path(r"^plans/?$", views.PlanListView.as_view(), name="api-plans"),
    re_path(rf"^plans/{CODE}/?$", views.PlanDetailView.as_view(), name="api-plan"),
    re_path(rf"^plans/{CODE}/versions/?$", views.PlanVersionListView.as_view(), name="api-plan-versions"),
    re_path(
        rf"^plans/{CODE}/versions/(?P<number>[0-9]+)/?$",
        views.PlanVersionDetailView.as_view(),
        name="api-plan-version",
    ),
    re_path(
        rf"^plans/{CODE}/versions/(?P<number>[0-9]+)/publish/?$",
        views.PlanVersionPublishView.as_view(),
        name="api-plan-version-publish",
    ),
    re_path(r"^pricing/preview/?$", pricing.PricingPreviewView.as_view(), name="api-pricing-preview"),
    re_path(r"^pricing/simulate/?$", pricing.PricingSimulateView.as_view(), name="api-pricing-simulate"),
]
