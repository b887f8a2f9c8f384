from django.urls import re_path

from revrec.api import estimates, views

ID = r"(?P<pk>[0-9]+)"

urlpatterns = [
    re_path(r"^allocations/preview/?$", views.AllocationPreviewView.as_view(), name="api-allocation-preview"),
    re_path(r"^schedules/preview/?$", views.SchedulePreviewView.as_view(), name="api-schedule-preview"),
    re_path(
        rf"^contracts/{ID}/schedule/?$", views.ContractScheduleView.as_view(), name="api-contract-schedule"
    ),
    re_path(r"^schedules/?$", views.ScheduleListView.as_view(), name="api-schedules"),
    re_path(rf"^schedules/{ID}/approve/?$", views.ScheduleApproveView.as_view(), name="api-schedule-approve"),
    re_path(rf"^schedules/{ID}/reject/?$", views.ScheduleRejectView.as_view(), name="api-schedule-reject"),
    re_path(r"^revenue-runs/?$", views.RevenueRunListView.as_view(), name="api-revenue-runs"),
    re_path(rf"^revenue-runs/{ID}/?$", views.RevenueRunDetailView.as_view(), name="api-revenue-run"),
    re_path(r"^journal-entries/?$", views.JournalEntryListView.as_view(), name="api-journal-entries"),
    re_path(r"^approvals/?$", views.ApprovalListView.as_view(), name="api-approvals"),
    re_path(rf"^approvals/{ID}/approve/?$", views.ApprovalDecideView.as_view(), name="api-approval-approve"),
    re_path(rf"^approvals/{ID}/reject/?$", views.ApprovalRejectView.as_view(), name="api-approval-reject"),
    re_path(r"^periods/?$", views.PeriodListView.as_view(), name="api-periods"),
    re_path(
        rf"^contracts/{ID}/modifications/?$",
        views.ContractModificationListView.as_view(),
        name="api-contract-modifications",
    ),
    re_path(
        rf"^modifications/{ID}/treatment/?$",
        views.ModificationTreatmentView.as_view(),
        name="api-modification-treatment",
    ),
    re_path(r"^ssp/?$", views.SSPListView.as_view(), name="api-ssp"),
    re_path(
        rf"^contracts/{ID}/estimates/?$",
        estimates.ContractEstimatesView.as_view(),
        name="api-contract-estimates",
    ),
    re_path(
        rf"^obligations/{ID}/costs/?$", estimates.ObligationCostsView.as_view(), name="api-obligation-costs"
    ),
]
