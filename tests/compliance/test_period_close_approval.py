"""Closing a period is a maker-checker request (issue 16 §3): the requester asks (refused with the
failing checklist items while any fails), a different approver approves and the period closes; the
approver cannot be the requester — in the UI, through any API token of theirs, or in the Django admin;
approving re-runs the checklist under the audit chain's lock (accounting.md §9 still holds: a change to
the books after the request blocks the close); the requester may withdraw it. The approval queue filters
by kind, period and requester, and the checklist's approval blocker opens it filtered to the period."""

import pytest
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory

from revops.core.admin import ApprovalAdmin
from revops.core.approvals.models import Approval
from revrec.models import AccountingPeriod

pytestmark = pytest.mark.django_db


def _status(key="2026-01") -> str:
    return AccountingPeriod.objects.get(period=key).status


def test_an_approver_who_asked_cannot_close_through_any_of_their_tokens(book, api_for):
    asker = api_for("approver", "asking-approver")
    asked = asker.post("/api/v1/periods/2026-01/close")
    assert asked.status_code == 202, asked.json()
    body = asked.json()
    assert body["status"] == "open" and body["closed_at"] is None and body["approval"]
    assert "approve" in body["detail"]
    assert _status() == "open"
    again = asker.post("/api/v1/periods/2026-01/close")  # asking again: the same pending request
    assert again.json()["approval"] == body["approval"]

    second_token = api_for("approver", "asking-approver")  # another token of the same person
    for client in (asker, second_token):
        refused = client.post(f"/api/v1/approvals/{body['approval']}/approve", {}, format="json")
        assert refused.status_code == 409 and refused["Content-Type"] == "application/problem+json"
        assert refused.json()["type"].endswith("self-approval")
    finance_refused = book["finance"].post(f"/api/v1/approvals/{body['approval']}/approve", {}, format="json")
    assert finance_refused.status_code == 403
    assert _status() == "open"

    approved = api_for("approver", "second-person").post(
        f"/api/v1/approvals/{body['approval']}/approve", {"comment": "Checked"}, format="json"
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    period = AccountingPeriod.objects.get(period="2026-01")
    assert period.status == "closed" and period.closed_by.username == "second-person"


def test_approving_rechecks_the_checklist_so_a_later_change_blocks_the_close(book, api_for):
    asked = book["finance"].post("/api/v1/periods/2026-01/close").json()
    # A financial change after the check run makes "Checks run on the current books" fail again.
    book["finance"].post(
        "/api/v1/customers", {"external_id": "late", "name": "Late Ltd", "currency": "USD"}, format="json"
    )
    refused = api_for("approver").post(f"/api/v1/approvals/{asked['approval']}/approve", {}, format="json")
    assert refused.status_code == 409 and "cannot close yet" in refused.json()["detail"]
    assert _status() == "open"
    assert Approval.objects.get(pk=asked["approval"]).status == "pending"  # nothing decided


def test_the_requester_withdraws_the_close_and_nobody_else_can(book, api_for):
    asked = book["finance"].post("/api/v1/periods/2026-01/close").json()
    other = api_for("finance").post(f"/api/v1/approvals/{asked['approval']}/withdraw", {}, format="json")
    assert other.status_code == 403 and other["Content-Type"] == "application/problem+json"
    approver = api_for("approver").post(f"/api/v1/approvals/{asked['approval']}/withdraw", {}, format="json")
    assert approver.status_code == 403
    done = book["finance"].post(
        f"/api/v1/approvals/{asked['approval']}/withdraw", {"reason": "Not yet"}, format="json"
    )
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    assert "Not yet" in done.json()["comment"]
    late = book["finance"].post(f"/api/v1/approvals/{asked['approval']}/withdraw", {}, format="json")
    assert late.status_code == 409 and late.json()["type"].endswith("invalid-transition")
    assert _status() == "open"


def test_self_approval_of_a_close_is_refused_in_the_ui_and_the_admin(book, make_user):
    asker = make_user("ui-asker", "approver")
    ui = Client()
    ui.force_login(asker)
    assert ui.post("/compliance/periods/2026-01/close/", {"confirm": "1"}).status_code == 302
    approval = Approval.objects.get(kind="period_close", status="pending")
    queue = ui.get("/approvals/?kind=period_close").content.decode()
    assert "Awaiting another approver" in queue and "Withdraw request" in queue
    refused = ui.post("/approvals/", {"ids": approval.pk, "action": "approve"})
    assert refused.status_code == 409 and "You requested this" in refused.content.decode()

    request = RequestFactory().post("/admin/core/approval/")
    request.user = asker
    shown = []
    admin = ApprovalAdmin(Approval, site)
    admin.message_user = lambda request, text, level=None: shown.append(text)
    admin.approve(request, Approval.objects.filter(pk=approval.pk))
    assert "You requested this" in shown[0] and _status() == "open"


def test_the_queue_filters_by_kind_period_and_requester_and_the_blocker_links_there(book, make_user):
    asker = make_user("filter-asker", "finance")
    approver = make_user("filter-approver", "approver")
    ui = Client()
    ui.force_login(asker)
    ui.post("/compliance/periods/2026-01/close/", {"confirm": "1"})
    close = Approval.objects.get(kind="period_close", status="pending")
    ui.force_login(approver)
    assert f'id="approval-{close.pk}"' in ui.get("/approvals/?period=2026-01").content.decode()
    assert f'id="approval-{close.pk}"' not in ui.get("/approvals/?period=2026-02").content.decode()
    assert f'id="approval-{close.pk}"' in ui.get("/approvals/?requester=filter-asker").content.decode()
    assert f'id="approval-{close.pk}"' not in ui.get("/approvals/?requester=someone-else").content.decode()
    assert f'id="approval-{close.pk}"' not in ui.get("/approvals/?kind=period_reopen").content.decode()
    bad = ui.get("/approvals/?period=January")
    assert bad.status_code == 200 and "The period filter takes a month" in bad.content.decode()
    # the sidebar counts it for the approver, not for the asker
    assert 'id="nav-approvals-count"' in ui.get("/approvals/").content.decode()
    ui.force_login(asker)
    assert 'id="nav-approvals-count"' not in ui.get("/approvals/").content.decode()


def test_the_approval_blocker_opens_the_queue_filtered_to_the_period_in_business_terms(
    catalog, scenario, make_user
):
    line = [{"key": "platform", "product": "platform", "plan": "hybrid"}]
    scenario.customer("early", name="Early Ltd").contract("2026-01-01", "2027-01-01", line)
    early = scenario.get(f"contracts/{scenario.id}")
    scenario.customer("later", name="Later Ltd").contract("2026-06-01", "2027-06-01", line)
    schedules = Approval.objects.filter(kind="revenue_schedule", status="pending")
    by_contract = {a.content["content"]["contract"]: a for a in schedules}
    early_request, later_request = by_contract[early["id"]], by_contract[scenario.id]

    ui = Client()
    ui.force_login(make_user("blocker-approver", "approver"))
    checklist = ui.get("/compliance/periods/2026-01/").content.decode()
    assert 'href="/approvals/?period=2026-01"' in checklist and "In the approval queue" in checklist
    queue = ui.get("/approvals/?period=2026-01").content.decode()
    assert f'id="approval-{early_request.pk}"' in queue
    assert f'id="approval-{later_request.pk}"' not in queue  # its schedule starts in June
    # in business terms: customer, contract, before → after, the amount with its currency, the effect
    assert "Early Ltd (early)" in queue and early["number"] in queue
    assert "Revenue schedule of" in queue and "none approved" in queue
    assert " USD" in queue and "Recognizes" in queue and "Revenue effect" in queue
    assert f'href="/revenue/contracts/{early["id"]}/"' in queue  # the link opens the change itself


def test_the_csv_export_follows_the_period_and_requester_filters(book, make_user):
    asker = make_user("csv-asker", "finance")
    ui = Client()
    ui.force_login(asker)
    ui.post("/compliance/periods/2026-01/close/", {"confirm": "1"})
    close = Approval.objects.get(kind="period_close", status="pending")
    rows = lambda query: b"".join(ui.get(f"/approvals/?format=csv&{query}").streaming_content).decode()  # noqa: E731
    assert f"\n{close.pk}," in rows("period=2026-01") and f"\n{close.pk}," in rows("requester=mine")
    assert f"\n{close.pk}," not in rows("period=2026-02")
