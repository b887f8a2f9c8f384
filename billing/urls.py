from django.urls import include, path

urlpatterns = [
    path("pricing/", include("billing.views.catalog_urls")),
    path("usage/", include("billing.views.usage_urls")),
    path("billing/webhooks/", include("billing.views.webhook_urls")),
    path("", include("billing.contracts.urls")),
    path("", include("billing.views.billing_urls")),
]
