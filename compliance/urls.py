from django.urls import path, re_path
from django.views.generic import RedirectView

from compliance.views import approvals, audit, close, controls, evidence, month_end

PERIOD = r"(?P<key>[0-9]{4}-(?:0[1-9]|1[0-2]))"

urlpatterns = [
    path("compliance/", controls.dashboard, name="compliance"),
    path("compliance/run/", controls.run_checks, name="compliance-run"),
    path("compliance/exceptions/", controls.exception_list, name="compliance-exceptions"),
    path("compliance/exceptions/<int:pk>/", controls.exception_detail, name="compliance-exception"),
    path(
        "compliance/exceptions/<int:pk>/resolve/",
        controls.exception_resolve_view,
        name="compliance-exception-resolve",
    ),
    path(
        "compliance/exceptions/<int:pk>/waive/",
        controls.exception_waive_view,
        name="compliance-exception-waive",
    ),
    path(
        "compliance/exceptions/<int:pk>/waiver/decide/",
        controls.exception_decide_view,
        name="compliance-exception-decide",
    ),
    path("approvals/", approvals.approval_queue, name="approvals"),
    path("approvals/<int:pk>/run-checks/", approvals.approval_run_checks, name="approval-run-checks"),
    path("approvals/<int:pk>/withdraw/", approvals.approval_withdraw_view, name="approval-withdraw"),
    path("compliance/approvals/", RedirectView.as_view(pattern_name="approvals", query_string=True)),
    path("compliance/periods/", close.period_list, name="compliance-periods"),
    re_path(rf"^compliance/periods/{PERIOD}/$", close.period_detail, name="compliance-period"),
    re_path(
        rf"^compliance/periods/{PERIOD}/close/$", close.period_close_view, name="compliance-period-close"
    ),
    re_path(
        rf"^compliance/periods/{PERIOD}/reopen/$", close.period_reopen_view, name="compliance-period-reopen"
    ),
    path("compliance/month-end/", month_end.month_end_current, name="compliance-month-end-current"),
    re_path(
        rf"^compliance/periods/{PERIOD}/month-end/$", month_end.month_end_page, name="compliance-month-end"
    ),
    re_path(
        rf"^compliance/periods/{PERIOD}/month-end/live/$",
        month_end.month_end_live,
        name="compliance-month-end-live",
    ),
    re_path(
        rf"^compliance/periods/{PERIOD}/month-end/start/(?P<code>[a-z_]+)/$",
        month_end.month_end_start,
        name="compliance-month-end-start",
    ),
    path("compliance/evidence/", evidence.evidence_view, name="compliance-evidence"),
    path("compliance/evidence/download/", evidence.evidence_download, name="compliance-evidence-download"),
    path("compliance/audit/", audit.audit_trail, name="audit-trail"),
    path("compliance/audit/verify/", audit.audit_verify, name="audit-verify"),
]
