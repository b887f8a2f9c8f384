from django.urls import re_path

from billing.api import webhooks as views

PK = r"(?P<pk>[0-9]+)"

urlpatterns = [
    re_path(r"^webhook-endpoints/?$", views.WebhookEndpointListView.as_view(), name="api-webhook-endpoints"),
    re_path(
        rf"^webhook-endpoints/{PK}/?$", views.WebhookEndpointDetailView.as_view(), name="api-webhook-endpoint"
    ),
    re_path(
        rf"^webhook-endpoints/{PK}/rotate-secret/?$",
        views.WebhookEndpointRotateSecretView.as_view(),
        name="api-webhook-endpoint-rotate-secret",
    ),
    re_path(
        r"^webhook-deliveries/?$", views.WebhookDeliveryListView.as_view(), name="api-webhook-deliveries"
    ),
    re_path(
        rf"^webhook-deliveries/{PK}/?$",
        views.WebhookDeliveryDetailView.as_view(),
        name="api-webhook-delivery",
    ),
    re_path(
        rf"^webhook-deliveries/{PK}/retry/?$",
        views.WebhookDeliveryRetryView.as_view(),
        name="api-webhook-delivery-retry",
    ),
]
