"""``/api/v1/contracts...`` (api.md: Customers, contracts, usage), mounted by billing/api/urls.py."""

from django.urls import re_path

from billing.contracts import api as contracts

ID = r"(?P<pk>[0-9]+)"

urlpatterns = [
    re_path(r"^contracts/?$", contracts.ContractListView.as_view(), name="api-contracts"),
    re_path(rf"^contracts/{ID}/?$", contracts.ContractDetailView.as_view(), name="api-contract"),
    re_path(
        rf"^contracts/{ID}/activate/?$",
        contracts.ContractActivateView.as_view(),
        name="api-contract-activate",
    ),
    re_path(rf"^contracts/{ID}/amend/?$", contracts.ContractAmendView.as_view(), name="api-contract-amend"),
    re_path(
        rf"^contracts/{ID}/amend/preview/?$",
        contracts.ContractAmendPreviewView.as_view(),
        name="api-contract-amend-preview",
    ),
    re_path(
        rf"^contracts/{ID}/renewal/?$",
        contracts.ContractRenewalView.as_view(),
        name="api-contract-renewal",
    ),
    re_path(
        rf"^contracts/{ID}/terminate/?$",
        contracts.ContractTerminateView.as_view(),
        name="api-contract-terminate",
    ),
    re_path(
        rf"^contracts/{ID}/cancel/?$", contracts.ContractCancelView.as_view(), name="api-contract-cancel"
    ),
    re_path(
        rf"^contracts/{ID}/scheduled-changes/?$",
        contracts.ScheduledChangeListView.as_view(),
        name="api-contract-scheduled-changes",
    ),
    re_path(
        rf"^contracts/{ID}/scheduled-changes/(?P<sid>[0-9]+)/?$",
        contracts.ScheduledChangeDetailView.as_view(),
        name="api-contract-scheduled-change",
    ),
    re_path(
        rf"^contracts/{ID}/trial/cancel/?$",
        contracts.ContractTrialCancelView.as_view(),
        name="api-contract-trial-cancel",
    ),
]
