from django.urls import re_path

from compliance.api import month_end, views_controls

urlpatterns = [
    re_path(r"^compliance/runs/?$", views_controls.ComplianceRunView.as_view(), name="api-compliance-runs"),
    re_path(
        r"^compliance/exceptions/?$",
        views_controls.ExceptionListView.as_view(),
        name="api-compliance-exceptions",
    ),
    re_path(
        r"^compliance/exceptions/(?P<pk>[0-9]+)/resolve/?$",
        views_controls.ExceptionResolveView.as_view(),
        name="api-exception-resolve",
    ),
    re_path(
        r"^compliance/exceptions/(?P<pk>[0-9]+)/waive/?$",
        views_controls.ExceptionWaiveView.as_view(),
        name="api-exception-waive",
    ),
    re_path(
        r"^periods/(?P<period>[0-9]{4}-[0-9]{2})/close/?$",
        views_controls.PeriodCloseView.as_view(),
        name="api-period-close",
    ),
    re_path(
        r"^periods/(?P<period>[0-9]{4}-[0-9]{2})/reopen/?$",
        views_controls.PeriodReopenView.as_view(),
        name="api-period-reopen",
    ),
    re_path(
        r"^periods/(?P<period>[0-9]{4}-[0-9]{2})/month-end/?$",
        month_end.MonthEndView.as_view(),
        name="api-period-month-end",
    ),
    re_path(r"^evidence/?$", views_controls.EvidenceView.as_view(), name="api-evidence"),
]
