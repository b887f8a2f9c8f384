"""Approvals in search and the queue's intro (review16 §6): a decided request found in the global search
opens that request itself — the queue filtered to it, with the link to its change — not the generic
queue; the intro names every kind, period closes, credits and product changes included."""

from datetime import date
from decimal import Decimal

import pytest

from revops.core.search.kernel import find_approvals
from revops.core.search.query import parse
from tests.builders import approved_credit_grant
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_decided_request_in_search_opens_itself_and_its_change(ui_for):
    customer = CustomerFactory(external_id="acme", name="Acme")
    grant = approved_credit_grant(customer=customer, amount=Decimal("100.00"), granted_on=date(2026, 1, 1))
    pk = grant.approval_id
    (hit,) = find_approvals(parse(f"A-{pk}"), 5)
    assert hit.url == f"/approvals/?request={pk}#approval-{pk}"
    page = ui_for("approver").get(hit.url.split("#")[0]).content.decode()
    row = page.split(f'id="approval-{pk}"')[1].split("</tr>")[0]
    assert f"#{pk}" in row and f'href="/customers/{customer.pk}/' in row


def test_the_intro_names_every_kind_of_request(ui_for):
    page = ui_for("approver").get("/approvals/").content.decode()
    intro = page.split('class="muted lede"')[1].split("</p>")[0].lower()
    for kind in ("close", "credit", "product", "revenue schedule"):
        assert kind in intro, kind


@pytest.mark.parametrize("value", ["²", "9" * 5000])
def test_bulk_decide_with_a_unicode_or_huge_digit_id_is_a_400_not_a_500(ui_for, value):
    client = ui_for("approver")
    client.raise_request_exception = False
    assert client.post("/approvals/", {"ids": value, "action": "approve"}).status_code == 400
