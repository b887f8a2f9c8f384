"""Compliance UI (issue 7 §6): the pages call the same services as the API and show their refusals.

Given the small complete book of conftest.py, a planted fault (an invoice total off by one) and users
of each role, when they use the pages, then the services' outcomes — and refusals — are on screen.

The book is built once for the module (``built_once``): each test runs in its own savepoint, so what
one writes (a check run, a closed period, a waiver) is rolled back before the next. The pages of an
empty install are tested in test_ui_empty.py."""

import hashlib
import io
import itertools
import re
import zipfile

import pytest
from django.test import Client

from billing.models import Invoice
from compliance.models import CheckRun, ComplianceException
from compliance.services.exceptions import compliance_run
from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent
from revrec.models import AccountingPeriod
from tests.builders import build_catalog, built_once, settle_now
from tests.compliance.conftest import tell_book
from tests.scenario import Scenario

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    """The book of conftest.py, built once for the module's tests."""
    with built_once(django_db_blocker):
        build_catalog()
        yield tell_book(Scenario(settle=settle_now, name="book"))


@pytest.fixture
def login(make_user):
    """login("approver", "amara") -> a fresh test client signed in as a new user of that role."""

    counter = itertools.count(1)

    def make(role: str, username: str | None = None) -> Client:
        client = Client()
        client.user = make_user(username or f"{role}-{next(counter)}", role)
        client.force_login(client.user)
        return client

    return make


def plant_invoice_total() -> Invoice:
    invoice = Invoice.objects.filter(status__in=["finalized", "paid"]).order_by("pk").first()
    Invoice.objects.filter(pk=invoice.pk).update(total=invoice.total + 1)
    return invoice


def undo_invoice_total(invoice: Invoice) -> None:
    Invoice.objects.filter(pk=invoice.pk).update(total=invoice.total)


@pytest.fixture
def fault(book):
    """An open critical exception: invoice_totals on a planted invoice."""
    invoice = plant_invoice_total()
    compliance_run(trigger="test")
    exc = ComplianceException.objects.get(
        status="open", check_code="invoice_totals", object_type="billing.invoice", object_id=str(invoice.pk)
    )
    return {"invoice": invoice, "exception": exc}


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- every page, every reader -------------------------------------------------------------------------


def test_every_page_renders_for_finance_and_auditor(fault, login):
    exc = fault["exception"]
    pages = {
        "/compliance/": "Invoice totals add up",
        "/compliance/exceptions/": f"/compliance/exceptions/{exc.pk}/",
        f"/compliance/exceptions/{exc.pk}/": exc.explanation,
        "/approvals/": "Every maker-checker request in one queue",
        "/compliance/periods/": "2026-01",
        "/compliance/periods/2026-01/": "Trial balance balanced",
        "/compliance/evidence/": "Pick a period",
        "/compliance/evidence/?period=2026-01": "journal_entries.csv",
        "/compliance/audit/": "exception.opened",
    }
    for role in ("finance", "auditor"):
        client = login(role)
        for url, expected in pages.items():
            response = client.get(url)
            assert response.status_code == 200, (role, url)
            assert expected in text(response), (role, url)


def test_auditor_sees_no_action_buttons_and_gets_403_on_every_post(fault, login):
    exc = fault["exception"]
    auditor = login("auditor")
    dashboard = text(auditor.get("/compliance/"))
    assert "Run all checks now" not in dashboard
    detail = text(auditor.get(f"/compliance/exceptions/{exc.pk}/"))
    assert "Request waiver" not in detail and 'name="comment"' not in detail
    assert "Ask an approver to close" not in text(auditor.get("/compliance/periods/2026-01/"))
    approval = Approval.objects.create(kind="exception_waiver", object_type="x", object_id="1", summary="s")
    posts = [
        "/compliance/run/",
        f"/compliance/exceptions/{exc.pk}/resolve/",
        f"/compliance/exceptions/{exc.pk}/waive/",
        f"/compliance/exceptions/{exc.pk}/waiver/decide/",
        "/approvals/",
        "/compliance/periods/2026-01/close/",
        "/compliance/periods/2026-01/reopen/",
    ]
    runs = CheckRun.objects.count()
    for url in posts:
        data = {"comment": "x", "reason": "x", "action": "approve", "ids": approval.pk}
        assert auditor.post(url, data).status_code == 403, url
    assert CheckRun.objects.count() == runs
    assert AccountingPeriod.objects.filter(period="2026-01", status="closed").count() == 0


# --- dashboard ----------------------------------------------------------------------------------------


def test_run_checks_button_creates_a_manual_check_run_and_shows_the_result(book, login):
    finance = login("finance")
    assert "Run all checks now" in text(finance.get("/compliance/"))
    assert not CheckRun.objects.filter(trigger="manual").exists()
    response = finance.post("/compliance/run/", follow=True)
    run = CheckRun.objects.get(trigger="manual")
    assert run.trigger == "manual" and run.started_by == finance.user
    page = text(response)
    assert f"Check run #{run.pk}: all {len(run.results)} checks pass." in page
    assert f"Last run #{run.pk}" in page and "✓ Pass" in page


def test_dashboard_counts_open_exceptions_by_severity_and_pending_approvals(fault, login):
    page = text(login("finance").get("/compliance/"))
    assert "✗ Fail" in page
    assert (
        'href="/compliance/exceptions/?status=open&amp;severity=critical"><span class="badge badge-critical">Critical</span> 1'
        in page
    )
    assert 'hx-get="/compliance/audit/verify/"' in page  # the chain verifies on demand (HTMX)


# --- exceptions ---------------------------------------------------------------------------------------


def test_exception_list_filters_and_htmx_fragment(fault, login):
    finance = login("finance")
    exc = fault["exception"]
    assert f"/compliance/exceptions/{exc.pk}/" in text(
        finance.get("/compliance/exceptions/?severity=critical")
    )
    assert f"/compliance/exceptions/{exc.pk}/" not in text(
        finance.get("/compliance/exceptions/?severity=low")
    )
    assert f"/compliance/exceptions/{exc.pk}/" not in text(
        finance.get("/compliance/exceptions/?status=resolved")
    )
    fragment = finance.get(
        "/compliance/exceptions/?check=invoice_totals",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="exception-results",
    )
    assert fragment.status_code == 200
    assert f"/compliance/exceptions/{exc.pk}/" in text(fragment) and "<html" not in text(fragment)


def test_exception_detail_explains_the_fault_readably(fault, login):
    exc = fault["exception"]
    page = text(login("finance").get(f"/compliance/exceptions/{exc.pk}/"))
    assert exc.explanation in page
    assert "Invoice total = Σ lines + tax − credits applied" in page  # the invariant
    assert f"billing.invoice:{fault['invoice'].pk}" in page
    assert "exception.opened" in page  # history from the audit trail


def test_resolve_shows_the_409_message_while_the_fault_persists_then_resolves(fault, login):
    exc = fault["exception"]
    finance = login("finance")
    refused = finance.post(f"/compliance/exceptions/{exc.pk}/resolve/", {"comment": "Recomputed the total"})
    assert refused.status_code == 409
    assert "The check still fails for this record" in text(refused)
    assert "Recomputed the total" in text(refused)  # the comment is kept
    exc.refresh_from_db()
    assert exc.status == "open"

    undo_invoice_total(fault["invoice"])
    response = finance.post(f"/compliance/exceptions/{exc.pk}/resolve/", {"comment": "Recomputed the total"})
    assert response.status_code == 302
    exc.refresh_from_db()
    assert exc.status == "resolved" and exc.resolution == "Recomputed the total"
    assert exc.resolved_by == finance.user
    assert "Resolved: the check no longer finds this fault." in text(finance.get(response.url))


def test_waiver_requested_in_the_ui_and_approved_by_another_approver(fault, login):
    exc = fault["exception"]
    finance, approver = login("finance"), login("approver")
    response = finance.post(
        f"/compliance/exceptions/{exc.pk}/waive/", {"comment": "Known one-cent tax rounding"}
    )
    assert response.status_code == 302
    approval = Approval.objects.get(kind="exception_waiver", object_id=str(exc.pk), status="pending")
    assert approval.requested_by == finance.user
    page = text(finance.get(f"/compliance/exceptions/{exc.pk}/"))
    assert "Waiver awaiting approval" in page and "Request waiver" not in page
    assert "Approve waiver" not in page  # finance does not decide

    # The approver sees it in the inbox, grouped under its kind, with the decide buttons.
    inbox = text(approver.get("/approvals/"))
    assert "Exception waiver" in inbox and f'<input type="hidden" name="ids" value="{approval.pk}">' in inbox
    assert "Approve waiver" in text(approver.get(f"/compliance/exceptions/{exc.pk}/"))
    response = approver.post(
        f"/compliance/exceptions/{exc.pk}/waiver/decide/",
        {"approval": approval.pk, "action": "approve", "comment": "Accepted"},
    )
    assert response.status_code == 302
    exc.refresh_from_db()
    approval.refresh_from_db()
    assert approval.status == "approved" and approval.decided_by == approver.user
    assert exc.status == "waived" and "Known one-cent tax rounding" in exc.resolution
    page = text(approver.get(response.url))
    assert "Waived" in page and "approval.approved" in page


def test_requester_sees_no_approve_button_and_a_forced_post_is_refused_with_409(fault, login):
    exc = fault["exception"]
    maker = login("approver", "maker")
    maker.post(f"/compliance/exceptions/{exc.pk}/waive/", {"comment": "Immaterial"})
    approval = Approval.objects.get(kind="exception_waiver", object_id=str(exc.pk), status="pending")

    inbox = text(maker.get("/approvals/"))
    # The row up to its decision cell (what approving applies is a table of its own inside the row).
    row = re.search(rf'<tr id="approval-{approval.pk}">.*?<td class="rv-decide">.*?</td>', inbox, re.S).group(
        0
    )
    assert "Awaiting another approver" in row and "Approve" not in row
    detail = text(maker.get(f"/compliance/exceptions/{exc.pk}/"))
    assert "Awaiting another approver" in detail and "Approve waiver" not in detail

    forced = maker.post("/approvals/", {"ids": approval.pk, "action": "approve", "comment": ""})
    assert forced.status_code == 409
    assert "You requested this; someone else must approve or reject it (maker-checker)." in text(forced)
    forced = maker.post(
        f"/compliance/exceptions/{exc.pk}/waiver/decide/", {"approval": approval.pk, "action": "approve"}
    )
    assert forced.status_code == 409 and "someone else must approve" in text(forced)
    approval.refresh_from_db()
    exc.refresh_from_db()
    assert approval.status == "pending" and exc.status == "open"


def test_rejecting_needs_a_comment_and_non_approvers_cannot_decide(fault, login):
    exc = fault["exception"]
    login("finance").post(f"/compliance/exceptions/{exc.pk}/waive/", {"comment": "Immaterial"})
    approval = Approval.objects.get(kind="exception_waiver", status="pending")
    approver = login("approver")
    refused = approver.post("/approvals/", {"ids": approval.pk, "action": "reject", "comment": " "})
    assert refused.status_code == 400 and "Say why you reject it." in text(refused)
    other_finance = login("finance")
    assert "An approver decides" in text(other_finance.get("/approvals/"))
    forbidden = other_finance.post("/approvals/", {"ids": approval.pk, "action": "approve"})
    assert forbidden.status_code == 403 and "Only approvers can decide" in text(forbidden)
    approval.refresh_from_db()
    assert approval.status == "pending"
    response = approver.post("/approvals/", {"ids": approval.pk, "action": "reject", "comment": "Fix it"})
    assert response.status_code == 302
    approval.refresh_from_db()
    exc.refresh_from_db()
    assert approval.status == "rejected" and approval.comment == "Fix it" and exc.status == "open"


# --- period close -------------------------------------------------------------------------------------


def test_period_close_is_refused_with_the_checklist_failures_then_allowed(fault, login):
    finance = login("finance")
    page = text(finance.get("/compliance/periods/2026-01/"))
    assert "No open critical exception" in page and "1 open critical exceptions after check run #" in page
    refused = finance.post("/compliance/periods/2026-01/close/")
    assert refused.status_code == 409
    assert "2026-01 cannot close yet." in text(refused) and "1 open critical exceptions after" in text(
        refused
    )
    assert not AccountingPeriod.objects.filter(period="2026-01", status="closed").exists()

    undo_invoice_total(fault["invoice"])
    finance.post(f"/compliance/exceptions/{fault['exception'].pk}/resolve/", {"comment": "Total recomputed"})
    assert "All 9 done" in text(finance.get("/compliance/periods/2026-01/"))
    response = finance.post("/compliance/periods/2026-01/close/", {"confirm": "1"})
    assert response.status_code == 302
    # Asked, not closed: a second person approves (maker-checker).
    assert AccountingPeriod.objects.get(period="2026-01").status == "open"
    asked = Approval.objects.get(kind="period_close", status="pending")
    page = text(finance.get(response.url))
    assert "Asked an approver to close 2026-01" in page and "Awaiting approval" in page
    own = finance.post("/approvals/", {"ids": asked.pk, "action": "approve"})
    assert own.status_code == 403 or AccountingPeriod.objects.get(period="2026-01").status == "open"
    approver = login("approver")
    approver.post("/approvals/", {"ids": asked.pk, "action": "approve", "comment": "Checked"})
    period = AccountingPeriod.objects.get(period="2026-01")
    assert period.status == "closed" and period.closed_by == approver.user
    page = text(finance.get(response.url))
    assert "Request reopen" in page and "period.closed" in page
    assert "Closed" in text(finance.get("/compliance/periods/"))


def test_period_list_shows_recent_months_without_creating_them(book, login):
    before = set(AccountingPeriod.objects.values_list("period", flat=True))
    from django.utils import timezone

    today = timezone.localdate()
    page = text(login("finance").get("/compliance/periods/"))
    assert f"{today.year:04d}-{today.month:02d}" in page and "2026-01" in page
    assert set(AccountingPeriod.objects.values_list("period", flat=True)) == before


def test_reopen_is_requested_in_the_ui_and_applied_by_another_approver(book, login):
    finance, approver = login("finance"), login("approver")
    assert finance.post("/compliance/periods/2026-01/close/", {"confirm": "1"}).status_code == 302
    close = Approval.objects.get(kind="period_close", status="pending")
    approver.post("/approvals/", {"ids": close.pk, "action": "approve", "comment": "ok"})
    empty = finance.post("/compliance/periods/2026-01/reopen/", {"reason": " "})
    assert empty.status_code == 400 and "Say why the period must reopen." in text(empty)
    response = finance.post("/compliance/periods/2026-01/reopen/", {"reason": "Late credit note"})
    assert response.status_code == 302
    approval = Approval.objects.get(kind="period_reopen", status="pending")
    assert "Awaiting approval" in text(finance.get(response.url))
    assert AccountingPeriod.objects.get(period="2026-01").status == "closed"
    inbox = text(approver.get("/approvals/"))
    assert "Period reopen" in inbox and "/compliance/periods/2026-01/" in inbox
    approver.post("/approvals/", {"ids": approval.pk, "action": "approve", "comment": "ok"})
    assert AccountingPeriod.objects.get(period="2026-01").status == "open"


# --- evidence -----------------------------------------------------------------------------------------


def test_evidence_download_is_a_zip_whose_manifest_verifies_and_is_audited(book, login):
    auditor = login("auditor")
    preview = text(auditor.get("/compliance/evidence/?period=2026-02"))
    assert "sha256sum -c MANIFEST.sha256" in preview and "rollforward.csv" in preview
    assert "/compliance/evidence/download/?period=2026-02" in preview
    response = auditor.get("/compliance/evidence/download/?period=2026-02")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert 'filename="concord-evidence-2026-02.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    rows = archive.read("MANIFEST.sha256").decode().splitlines()
    assert len(rows) >= 9
    for row in rows:  # sha256sum -c MANIFEST.sha256
        digest, name = row.split("  ", 1)
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name
    event = AuditEvent.objects.get(action="evidence.downloaded", object_id="2026-02")
    assert event.actor == auditor.user and "journal_entries.csv" in event.changes["files"]
    assert "Recent downloads" in text(auditor.get("/compliance/evidence/")) and auditor.user.username in text(
        auditor.get("/compliance/evidence/")
    )


def test_evidence_download_rejects_a_bad_period(login):
    response = login("auditor").get("/compliance/evidence/download/?period=2026-13")
    assert response.status_code == 400 and "Pick an accounting period" in text(response)
    assert not AuditEvent.objects.filter(action="evidence.downloaded").exists()


# --- audit trail, navigation, dashboard card ----------------------------------------------------------


def test_audit_trail_keeps_its_filters_when_paging_and_verifies(fault, login):
    auditor = login("auditor")
    page = text(auditor.get("/compliance/audit/?action=exception."))
    assert "exception.opened" in page
    for _ in range(60):  # enough events for a second page
        compliance_run(trigger="test", codes=["invoice_totals"])
    page = text(auditor.get("/compliance/audit/?action=compliance.run"))
    assert "?action=compliance.run&amp;page=2" in page
    verified = auditor.get("/compliance/audit/verify/", HTTP_HX_REQUEST="true")
    assert "Chain intact" in text(verified)


def test_navigation_and_dashboard_card(fault, login):
    from compliance import registrations
    from revops.navigation import nav_for

    registrations.register()
    registrations.register()  # idempotent
    finance = login("finance")
    section = next(s for s in nav_for(finance.user) if s["title"] == "Compliance")
    assert [i.url_name for i in section["items"]] == [
        "compliance",
        "compliance-exceptions",
        "approvals",
        "compliance-month-end-current",
        "compliance-periods",
        "audit-trail",
        "compliance-evidence",
    ]
    home = text(finance.get("/"))
    assert "Compliance exceptions" in home and "Open: 1 critical · 0 high · 0 medium · 0 low." in home


# --- display helpers (pure) ---------------------------------------------------------------------------


def test_numbers_and_changes_read_like_finance_not_like_json():
    from compliance.views.display import change_items, number, readable

    assert number("1305.41000000000") == "1,305.41"
    assert number("0E-11") == "0.00"
    assert number("-12.5") == "−12.50"
    assert number("True") == "yes" and number(199) == "199" and number("2026-10") == "2026-10"
    assert readable({"allocated_amount": "2491.6100", "missing": [3, 4]}) == [
        ("Allocated amount", "2,491.61", False),
        ("Missing", "3, 4", False),
    ]
    assert change_items({"comment": "ok", "closed": False, "approval": 20}) == [
        ("Comment", "ok"),
        ("Closed", "no"),
        ("Approval", "20"),
    ]


def test_object_links_point_to_the_page_of_a_known_type_only():
    from compliance.views.display import object_link

    period = object_link("revrec.accountingperiod", "2026-01")
    assert period["url"] == "/compliance/periods/2026-01/" and period["shown"] == "2026-01"
    assert object_link("compliance.complianceexception", "7")["url"] == "/compliance/exceptions/7/"
    unknown = object_link("acme.widget", "3")
    assert unknown["url"] is None and unknown["ref"] == "acme.widget:3"


def test_the_old_queue_addresses_redirect_to_the_one_approval_queue(login):
    client = login("approver")
    for old in ("/compliance/approvals/?kind=period_reopen", "/revenue/approvals/?kind=period_reopen"):
        response = client.get(old)
        assert response.status_code == 302 and response.url == "/approvals/?kind=period_reopen", old
    nav = text(client.get("/approvals/"))
    assert nav.count('href="/approvals/"') == 1  # one navigation entry, not one per app
