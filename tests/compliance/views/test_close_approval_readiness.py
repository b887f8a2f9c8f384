"""A close request that went stale (issue 16 §3, after e3263ea): the checklist was green when finance
asked, then the books changed. The approver sees in the queue why approving would be refused — the
check run and the latest change since, named in business terms — and a "Run the checks" button on the
request; once the run is current the request is decided as before (approving checks the checklist
again). Other failing items are listed with where they are fixed; roles that cannot run the checks
get no button and a 403."""

import itertools
import re

import pytest
from django.test import Client

from compliance.models import CheckRun
from revops.core.approvals.models import Approval
from revrec.models import AccountingPeriod
from tests.compliance.test_month_end import given_a_contract

pytestmark = pytest.mark.django_db

KEY = "2026-01"
QUEUE = "/approvals/?kind=period_close"


@pytest.fixture
def login(make_user):
    counter = itertools.count(1)

    def make(role: str) -> Client:
        client = Client()
        client.user = make_user(f"ready-{role}-{next(counter)}", role)
        client.force_login(client.user)
        return client

    return make


@pytest.fixture
def asked(catalog, scenario, login):
    """January checked green, finance asked to close it, then a customer's email changed (a change to a
    financial record: the check run no longer describes the books)."""
    from compliance.services.close import period_close_request
    from revops.parties.models import Customer
    from revops.parties.services.customers import customer_update

    given_a_contract(scenario).bill("2026-02-01").finalize().recognize(KEY).check()
    finance = login("finance")
    request = period_close_request(key=KEY, actor=finance.user)
    customer_update(
        customer=Customer.objects.get(external_id="me"), actor=finance.user, email="ap@me.example"
    )
    return request


def panel(html: str, pk: int) -> str:
    match = re.search(
        rf'<div class="notice notice-warn ap-readiness" id="close-readiness-{pk}".*?\n</div>', html, re.S
    )
    return match.group(0) if match else ""


def test_the_approver_sees_why_it_is_stale_runs_the_checks_and_then_approves(asked, login):
    approver = login("approver")
    html = approver.get(QUEUE).content.decode()
    shown = panel(html, asked.pk)
    assert "Approving now would be refused: the books changed after the checks ran" in shown
    run = CheckRun.objects.latest("id")
    assert f"Check run #{run.pk} finished" in shown and "1 change to financial records was recorded" in shown
    assert "The latest: Customer Month End Ltd" in shown and "customer updated" in shown
    assert "contracts.customer:" not in shown  # no internal reference
    assert f'action="/approvals/{asked.pk}/run-checks/"' in shown and "Run the checks" in shown

    # Approving re-checks, as before: refused while the run is stale, nothing closes.
    refused = approver.post(QUEUE, {"ids": asked.pk, "action": "approve"})
    assert refused.status_code == 409 and "Checks run on the current books" in refused.content.decode()
    assert AccountingPeriod.objects.get(period=KEY).status == "open"

    response = approver.post(f"/approvals/{asked.pk}/run-checks/")
    assert response.status_code == 302
    assert response["Location"] == f"/approvals/?kind=period_close#approval-{asked.pk}"
    fresh = CheckRun.objects.latest("id")
    assert fresh.pk != run.pk and fresh.started_by == approver.user and fresh.trigger == "close_approval"
    after = approver.get(QUEUE).content.decode()
    assert f"Request #{asked.pk} to close {KEY} can be decided now" in after
    assert not panel(after, asked.pk) and "Run the checks" not in after

    assert approver.post(QUEUE, {"ids": asked.pk, "action": "approve"}).status_code == 302
    assert Approval.objects.get(pk=asked.pk).status == "approved"
    assert AccountingPeriod.objects.get(period=KEY).status == "closed"


def test_a_green_request_shows_no_panel_and_other_blockers_are_listed_with_their_fix(
    catalog, scenario, login, monkeypatch
):
    from compliance.services.close import ChecklistItem, close_checklist, period_close_request

    given_a_contract(scenario).bill("2026-02-01").finalize().recognize(KEY).check()
    request = period_close_request(key=KEY, actor=login("finance").user)
    approver, auditor = login("approver"), login("auditor")
    runs = CheckRun.objects.count()
    assert not panel(approver.get(QUEUE).content.decode(), request.pk)

    # Later, a draft holds January again (the checks themselves are current): listed with its fix, and
    # no "Run the checks" (it would not help).
    def with_a_draft(key):
        items = close_checklist(key)
        draft = ChecklistItem(
            "drafts_finalized",
            "No draft invoice left for the period",
            False,
            "1 draft invoice holds fees or usage of 2026-01 or earlier; finalize or void them.",
        )
        return [draft if i.code == draft.code else i for i in items]

    monkeypatch.setattr("compliance.views.close_readiness.close_checklist", with_a_draft)
    shown = panel(approver.get(QUEUE).content.decode(), request.pk)
    assert f"{KEY}'s close checklist is no longer green" in shown
    assert "No draft invoice left for the period:" in shown and 'href="/invoices/?status=draft"' in shown
    assert "Run the checks" not in shown and "changed after the checks ran" not in shown

    # Whoever may not run the checks gets no button, and the endpoint refuses them.
    monkeypatch.undo()
    from revops.parties.models import Customer
    from revops.parties.services.customers import customer_update

    customer_update(customer=Customer.objects.get(external_id="me"), email="ap@me.example")
    seen = panel(auditor.get(QUEUE).content.decode(), request.pk)
    assert "changed after the checks ran" in seen and "run-checks" not in seen
    assert "Finance, approvers and administrators can run the checks." in seen
    assert auditor.post(f"/approvals/{request.pk}/run-checks/").status_code == 403
    assert login("pricing").post(f"/approvals/{request.pk}/run-checks/").status_code == 403
    assert CheckRun.objects.count() == runs
    # Only a period-close request runs the checks from the queue.
    other = Approval.objects.exclude(kind="period_close").first()
    if other is not None:
        assert approver.post(f"/approvals/{other.pk}/run-checks/").status_code == 404
