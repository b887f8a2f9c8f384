"""Issue 12 §10: an approved waiver covers the finding as approved. When the check finds the same
record again with other amounts, the waiver lapses (audited) and the exception is open again."""

import pytest

from billing.models import InvoiceLine
from compliance.models import ComplianceException
from compliance.services.exceptions import compliance_run
from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _waive(book, exc):
    finance, approver = book["finance"], book["approver"]
    waiver = finance.post(
        f"/api/v1/compliance/exceptions/{exc.pk}/waive", {"comment": "one cent"}, format="json"
    )
    assert waiver.status_code == 202, waiver.content
    approval = Approval.objects.get(pk=waiver.json()["approval"])
    decided = approver.post(f"/api/v1/approvals/{approval.pk}/approve", {"comment": "ok"}, format="json")
    assert decided.status_code == 200, decided.content


def test_a_waiver_lapses_when_the_findings_amount_changes(book):
    line = InvoiceLine.objects.filter(kind="fee").first()
    InvoiceLine.objects.filter(pk=line.pk).update(amount=line.amount + 1)
    compliance_run(trigger="test")
    exc = ComplianceException.objects.get(status="open", check_code="invoice_totals")
    _waive(book, exc)
    exc.refresh_from_db()
    assert exc.status == "waived"

    compliance_run(trigger="test")  # the same finding, the same amounts: still waived, nothing reopens
    assert not ComplianceException.objects.filter(check_code="invoice_totals", status="open").exists()

    InvoiceLine.objects.filter(pk=line.pk).update(amount=line.amount + 100_000)  # a bigger discrepancy
    run = compliance_run(trigger="test")
    reopened = ComplianceException.objects.get(
        check_code="invoice_totals", object_type=exc.object_type, object_id=exc.object_id, status="open"
    )
    assert reopened.pk != exc.pk and reopened.details != exc.details
    exc.refresh_from_db()
    assert exc.status == "waived"  # the waiver's own record is kept as it was approved
    lapsed = AuditEvent.objects.get(action="exception.waiver_lapsed", object_id=str(exc.pk))
    assert lapsed.changes["by_run"] == run.pk
    assert lapsed.changes["details"]["from"] == exc.details
    opened = AuditEvent.objects.get(action="exception.opened", object_id=str(reopened.pk))
    assert opened.changes["reopens"] == exc.pk
    # It shows as an open exception through the API too.
    listed = book["finance"].get("/api/v1/compliance/exceptions?status=open").json()["results"]
    assert reopened.pk in {item["id"] for item in listed}
