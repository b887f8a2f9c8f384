from django.urls import re_path

from billing.api.settings import BillingSettingsView

urlpatterns = [
    re_path(r"^billing-settings/?$", BillingSettingsView.as_view(), name="api-billing-settings"),
]
