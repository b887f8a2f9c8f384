"""Contract pages, mounted at "" by billing/urls.py."""

from django.urls import path

from billing.contracts import draft_views, renewal_views
from billing.contracts import views as contracts

urlpatterns = [
    path("contracts/", contracts.contract_list, name="contracts"),
    path("contracts/new/", contracts.contract_create_view, name="contract-create"),
    path("contracts/_line-row/", contracts.contract_line_row, name="contract-line-row"),
    path("contracts/_step-row/", contracts.contract_step_row, name="contract-step-row"),
    path("contracts/<int:pk>/", contracts.contract_detail, name="contract"),
    path("contracts/<int:pk>/edit/", draft_views.contract_edit_view, name="contract-edit"),
    path("contracts/<int:pk>/submit/", contracts.contract_submit_view, name="contract-submit"),
    path("contracts/<int:pk>/activate/", contracts.contract_activate_view, name="contract-activate"),
    path("contracts/<int:pk>/terminate/", contracts.contract_terminate_view, name="contract-terminate"),
    path("contracts/<int:pk>/cancel/", contracts.contract_cancel_view, name="contract-cancel"),
    path(
        "contracts/<int:pk>/scheduled-changes/<int:sid>/withdraw/",
        contracts.scheduled_change_withdraw_view,
        name="contract-scheduled-change-withdraw",
    ),
    path(
        "contracts/<int:pk>/trial/cancel/", contracts.contract_trial_cancel_view, name="contract-trial-cancel"
    ),
    path("contracts/<int:pk>/amend/", contracts.contract_amend_view, name="contract-amend"),
    path("contracts/<int:pk>/renewal/", renewal_views.contract_renewal_view, name="contract-renewal"),
    path(
        "contracts/<int:pk>/amend/preview/", contracts.contract_amend_preview, name="contract-amend-preview"
    ),
]
