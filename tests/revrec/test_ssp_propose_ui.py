"""The SSP book proposes a change in the UI (issue 16 §6): a pending version and an ``ssp_change``
approval that only someone other than the proposer can approve; bad input is a form error."""

from decimal import Decimal

import pytest

from revops.core.approvals.models import Approval
from revops.core.approvals.services import approval_decide
from revops.core.audit.models import AuditEvent
from revops.errors import DomainError
from revrec.models import SSPEntry

pytestmark = pytest.mark.django_db

PROPOSAL = {
    "product": "platform",
    "currency": "usd",
    "effective_from": "2026-06-01",
    "method": "observable",
    "ssp": "1200.50",
    "evidence": "Q1 standalone renewals",
}


def test_a_proposal_waits_for_a_second_person(ui_for, make_user, catalog):
    finance = ui_for("finance")
    assert 'id="propose-ssp"' in finance.get("/revenue/ssp/").content.decode()
    response = finance.post("/revenue/ssp/propose/", PROPOSAL, follow=True)
    html = response.content.decode()
    assert "applies once an approver other than you approves it" in html and "Pending approval" in html
    entry = SSPEntry.objects.get(product__code="platform")
    assert (entry.status, entry.currency, entry.ssp) == ("pending_approval", "USD", Decimal("1200.50"))
    approval = Approval.objects.get(kind="ssp_change", object_id=str(entry.pk))
    assert approval.requested_by == finance.user and approval.status == "pending"
    assert AuditEvent.objects.filter(action="ssp.proposed", object_id=str(entry.pk)).exists()
    with pytest.raises(DomainError):
        approval_decide(approval=approval, user=finance.user, approve=True, comment="")
    approval_decide(approval=approval, user=make_user("second", "approver"), approve=True, comment="ok")
    assert SSPEntry.objects.get(pk=entry.pk).status == "approved"


def test_the_proposal_form_is_prefilled_and_refuses_bad_input(ui_for, catalog):
    finance = ui_for("finance")
    page = finance.get("/revenue/ssp/propose/?product=platform&currency=USD").content.decode()
    assert '<option value="platform" selected>' in page
    bad = finance.post("/revenue/ssp/propose/", {**PROPOSAL, "method": "residual", "ssp": ""})
    assert bad.status_code == 400 and "residual SSP needs the observable range" in bad.content.decode()
    assert not SSPEntry.objects.exists() and not Approval.objects.filter(kind="ssp_change").exists()


def test_auditors_read_the_book_but_cannot_propose(ui_for, catalog):
    auditor = ui_for("auditor")
    assert 'id="propose-ssp"' not in auditor.get("/revenue/ssp/").content.decode()
    assert auditor.post("/revenue/ssp/propose/", PROPOSAL).status_code == 403
