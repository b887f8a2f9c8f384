"""Issue 17 §1 in a real browser: the contract page shows the renewal policy, the next renewal date and
the notice deadline, the renewal in the version history and renewal history; changing the policy asks
first, stating the consequence, and is audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from billing.contracts.models import Contract
from billing.contracts.renewals import add_months
from billing.contracts.services.renewals import contracts_renew_due, renewal_policy_set
from revops.core.audit.models import AuditEvent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_contract_page_shows_the_renewal_and_changes_the_policy_after_a_confirmation(login, shot):
    from tests.billing.factories import ContractFactory
    from tests.revops.factories import CustomerFactory

    m0 = timezone.localdate().replace(day=1)
    customer = CustomerFactory(external_id="northpeak", name="Northpeak Outfitters", tax_rate=Decimal("0"))
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}],
        start_date=add_months(m0, -3),
        end_date=m0,
        customer=customer,
    )
    with transaction.atomic():
        renewal_policy_set(
            contract=contract,
            renewal={"policy": "termed", "term_months": 3, "notice_days": 30, "uplift_percent": "5.00"},
            today=add_months(m0, -3),
        )
    assert contracts_renew_due(as_of=m0) == 1
    page = login("finance")
    page.goto(f"/contracts/{contract.pk}/")
    card = page.locator("#renewal")
    expect(card.locator("#renewal-policy")).to_contain_text("Auto-renews for a term")
    expect(card.locator("#renewal-next")).to_contain_text(f"{add_months(m0, 3):%-d %b %Y}")
    expect(card.locator("#renewal-history")).to_contain_text("Renewed")
    expect(page.locator("#versions-title").locator("xpath=..")).to_contain_text("Renewal 1 (termed)")
    expect(page.locator("#versions-title").locator("xpath=..")).to_contain_text("Line svc-r1 renews svc")
    shot("contract-renewed")

    card.locator("summary").click()
    page.select_option("#id_policy", "none")
    page.get_by_role("button", name="Review the change…").click()
    expect(page.locator("#confirm-consequence")).to_contain_text("will not renew")
    shot("renewal-stop-confirm")
    page.locator("#confirm-action").click()
    expect(page.locator(".flash").first).to_contain_text("does not renew")
    expect(page.locator("#renewal-policy")).to_contain_text("Does not renew")
    shot("renewal-stopped")
    assert Contract.objects.get(pk=contract.pk).renewal_policy.policy == "none"
    assert AuditEvent.objects.filter(action="contract.renewal_policy_changed").count() == 2
