"""Mounted at ``billing/webhooks/`` (the page is ``/billing/webhooks/``, URL name ``webhooks``)."""

from django.urls import path

from billing.views import webhooks as views

urlpatterns = [
    path("", views.webhooks, name="webhooks"),
    path("endpoints/", views.endpoint_create, name="webhook-endpoint-create"),
    path("endpoints/<int:pk>/rotate-secret/", views.endpoint_rotate_secret, name="webhook-endpoint-rotate"),
    path("endpoints/<int:pk>/deactivate/", views.endpoint_deactivate, name="webhook-endpoint-deactivate"),
    path("endpoints/<int:pk>/activate/", views.endpoint_activate, name="webhook-endpoint-activate"),
    path("deliveries/<int:pk>/retry/", views.delivery_retry, name="webhook-delivery-retry"),
]
