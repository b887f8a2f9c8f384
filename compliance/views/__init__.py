"""Compliance pages: dashboard, exceptions (resolve / request a waiver / decide it), approval queue,
period close, evidence pack and the audit trail.

Function views over the same services as the API (compliance_run, exception_resolve,
exception_waive_request, approval_decide, period_close_request, period_reopen_request,
build_evidence_pack). A refused write re-renders its page with the service's message and the
service's status (409 for "the check still fails" or "you cannot decide your own request")."""

from compliance.views.approvals import approval_queue
from compliance.views.audit import audit_trail, audit_verify
from compliance.views.close import period_close_view, period_detail, period_list, period_reopen_view
from compliance.views.controls import (
    dashboard,
    exception_decide_view,
    exception_detail,
    exception_list,
    exception_resolve_view,
    exception_waive_view,
    run_checks,
)
from compliance.views.evidence import evidence_download, evidence_view

__all__ = [
    "approval_queue",
    "audit_trail",
    "audit_verify",
    "dashboard",
    "evidence_download",
    "evidence_view",
    "exception_decide_view",
    "exception_detail",
    "exception_list",
    "exception_resolve_view",
    "exception_waive_view",
    "period_close_view",
    "period_detail",
    "period_list",
    "period_reopen_view",
    "run_checks",
]
