"""``/api/v1/reports/...`` (api.md: Revenue recognition → Reports)."""

from django.urls import re_path

from revrec.api import reports as views

urlpatterns = [
    re_path(r"^reports/waterfall/?$", views.WaterfallReportView.as_view(), name="api-report-waterfall"),
    re_path(
        r"^reports/deferred-revenue/?$", views.DeferredRevenueReportView.as_view(), name="api-report-deferred"
    ),
    re_path(r"^reports/unbilled/?$", views.UnbilledReportView.as_view(), name="api-report-unbilled"),
    re_path(r"^reports/rpo/?$", views.RPOReportView.as_view(), name="api-report-rpo"),
    re_path(r"^reports/revenue/?$", views.RevenueReportView.as_view(), name="api-report-revenue"),
    re_path(
        r"^reports/trial-balance/?$", views.TrialBalanceReportView.as_view(), name="api-report-trial-balance"
    ),
    re_path(
        r"^reports/subscription-metrics/?$",
        views.SubscriptionMetricsReportView.as_view(),
        name="api-report-subscription-metrics",
    ),
    re_path(r"^reports/journal-entries/?$", views.JournalExportView.as_view(), name="api-report-journal"),
]
