"""Revenue pages, mounted at "" by revops/urls.py (every path starts with ``revenue/``)."""

from django.urls import path
from django.views.generic import RedirectView

from revrec import views
from revrec.views.ssp_propose import ssp_propose_view

urlpatterns = [
    path("revenue/", views.overview, name="revenue"),
    path("revenue/contracts/<int:pk>/", views.contract_revenue, name="revenue-contract"),
    path(
        "revenue/contracts/<int:pk>/estimates/",
        views.contract_estimate_record,
        name="revenue-contract-estimate",
    ),
    path(
        "revenue/obligations/<int:pk>/costs/",
        views.obligation_cost_record_view,
        name="revenue-obligation-cost",
    ),
    # The approval queue is one page for every kind (compliance: /approvals/); the old address redirects.
    path("revenue/approvals/", RedirectView.as_view(pattern_name="approvals", query_string=True)),
    path("revenue/reports/", views.reports_index, name="revenue-reports"),
    path("revenue/reports/waterfall/", views.report_waterfall, name="revenue-report-waterfall"),
    path("revenue/reports/deferred-revenue/", views.report_deferred, name="revenue-report-deferred"),
    path("revenue/reports/unbilled/", views.report_unbilled, name="revenue-report-unbilled"),
    path("revenue/reports/rpo/", views.report_rpo, name="revenue-report-rpo"),
    path("revenue/reports/revenue/", views.report_revenue, name="revenue-report-revenue"),
    path(
        "revenue/reports/subscription-metrics/",
        views.report_subscriptions,
        name="revenue-report-subscriptions",
    ),
    path("revenue/reports/journal/", views.report_journal, name="revenue-report-journal"),
    path(
        "revenue/reports/<slug:slug>/download.<slug:fmt>",
        views.report_download,
        name="revenue-report-download",
    ),
    path("revenue/ledger/", views.ledger, name="revenue-ledger"),
    path("revenue/ledger/lines/", views.ledger_lines, name="revenue-ledger-lines"),
    path("revenue/ledger/entries/<int:pk>/", views.ledger_entry, name="revenue-ledger-entry"),
    path("revenue/runs/", views.runs, name="revenue-runs"),
    path("revenue/ssp/", views.ssp_book, name="revenue-ssp"),
    path("revenue/ssp/propose/", ssp_propose_view, name="revenue-ssp-propose"),
]
