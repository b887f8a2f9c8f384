from django.urls import re_path

from compliance.api import views

urlpatterns = [
    re_path(r"^audit-events/?$", views.AuditEventListView.as_view(), name="api-audit-events"),
    re_path(r"^audit-events/verify/?$", views.AuditVerifyView.as_view(), name="api-audit-verify"),
]
