from django.urls import include, path

urlpatterns = [
    path("", include("billing.api.catalog_urls")),
    path("", include("billing.api.impact_urls")),
    path("", include("billing.api.usage_urls")),
    path("", include("billing.api.billing_urls")),
    path("", include("billing.api.settings_urls")),
    path("", include("billing.contracts.api_urls")),
    path("", include("billing.api.webhook_urls")),
]
