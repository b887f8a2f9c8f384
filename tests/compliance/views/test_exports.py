"""CSV exports of the audit trail and the approval queue (issue 16 §5): the same filters as the page,
the same order, every page, text cells neutralized against spreadsheet formulas."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from billing.invoicing.credits import credit_grant_request
from revops.core.audit.models import AuditEvent
from revops.core.audit.selectors import audit_event_list
from revops.parties.services.customers import customer_create

pytestmark = pytest.mark.django_db


def _csv(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_audit_trail_csv_is_the_filtered_trail_in_the_pages_order(ui_for):
    for n in range(3):
        customer_create(external_id=f"c{n}", name=f'=HYPERLINK("x",{n})', currency="USD")
    auditor = ui_for("auditor")
    html = auditor.get("/compliance/audit/?action=customer.&sort=seq").content.decode()
    assert 'id="export-csv"' in html and "format=csv" in html and 'aria-sort="ascending"' in html
    rows = _csv(auditor.get("/compliance/audit/?action=customer.&sort=seq&format=csv"))
    expected = list(audit_event_list(action="customer.").order_by("seq"))
    assert [int(r["seq"]) for r in rows] == [e.seq for e in expected] and len(rows) == 3
    assert rows[0]["changes"].startswith("{") and rows[0]["hash"] == expected[0].hash
    newest_first = _csv(auditor.get("/compliance/audit/?action=customer.&format=csv"))
    assert [r["seq"] for r in newest_first] == [r["seq"] for r in reversed(rows)]
    assert AuditEvent.objects.count() > 3  # the filter held (the login and set-up wrote others)


def test_approval_csv_lists_what_the_queue_filter_selects(ui_for, make_user):
    requester = make_user("fin-requester", "finance")
    for n, amount in enumerate(("100.00", "0.10")):
        customer = customer_create(external_id=f"acme{n}", name="Acme", currency="USD")
        credit_grant_request(
            customer=customer,
            amount=Decimal(amount),
            granted_on=date(2026, 5, 1),
            expires_on=None,
            reason="=goodwill",
            kind="goodwill",
            payment_reference="",
            actor=requester,
        )
    approver = ui_for("approver")
    assert 'id="export-csv"' in approver.get("/approvals/").content.decode()
    rows = _csv(approver.get("/approvals/?format=csv"))
    assert len(rows) == 2 and {r["status"] for r in rows} == {"pending"}
    assert rows[0]["requested_by"] == "fin-requester" and rows[0]["content_sha256"]
    assert _csv(approver.get("/approvals/?format=csv&kind=no-such-kind")) == []
    assert _csv(approver.get("/approvals/?format=csv&status=approved")) == []
    # the queue's own filters (requester, period) select the export's rows too
    assert len(_csv(approver.get("/approvals/?format=csv&requester=fin-requester"))) == 2
    assert _csv(approver.get("/approvals/?format=csv&requester=someone-else")) == []
