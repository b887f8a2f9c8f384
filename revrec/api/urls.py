from django.urls import re_path

from revrec.api import estimates, journal, modifications, periods, previews, runs, schedules, ssp

ID = r"(?P<pk>[0-9]+)"

urlpatterns = [
    re_path(
        r"^allocations/preview/?$", previews.AllocationPreviewView.as_view(), name="api-allocation-preview"
    ),
    re_path(r"^schedules/preview/?$", previews.SchedulePreviewView.as_view(), name="api-schedule-preview"),
    re_path(
        rf"^contracts/{ID}/schedule/?$",
        schedules.ContractScheduleView.as_view(),
        name="api-contract-schedule",
    ),
    re_path(r"^schedules/?$", schedules.ScheduleListView.as_view(), name="api-schedules"),
    re_path(
        rf"^schedules/{ID}/approve/?$", schedules.ScheduleApproveView.as_view(), name="api-schedule-approve"
    ),
    re_path(
        rf"^schedules/{ID}/reject/?$", schedules.ScheduleRejectView.as_view(), name="api-schedule-reject"
    ),
    re_path(r"^revenue-runs/?$", runs.RevenueRunListView.as_view(), name="api-revenue-runs"),
    re_path(rf"^revenue-runs/{ID}/?$", runs.RevenueRunDetailView.as_view(), name="api-revenue-run"),
    re_path(r"^journal-entries/?$", journal.JournalEntryListView.as_view(), name="api-journal-entries"),
    re_path(r"^periods/?$", periods.PeriodListView.as_view(), name="api-periods"),
    re_path(
        rf"^contracts/{ID}/modifications/?$",
        modifications.ContractModificationListView.as_view(),
        name="api-contract-modifications",
    ),
    re_path(
        rf"^modifications/{ID}/treatment/?$",
        modifications.ModificationTreatmentView.as_view(),
        name="api-modification-treatment",
    ),
    re_path(r"^ssp/?$", ssp.SSPListView.as_view(), name="api-ssp"),
    re_path(
        rf"^contracts/{ID}/estimates/?$",
        estimates.ContractEstimatesView.as_view(),
        name="api-contract-estimates",
    ),
    re_path(
        rf"^obligations/{ID}/costs/?$", estimates.ObligationCostsView.as_view(), name="api-obligation-costs"
    ),
]
