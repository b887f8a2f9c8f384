"""Issue 16 §7 in a real browser: a contract line starting before its plan is in force is warned about,
a plan with metered charges is labelled usage-billed, and the recognition choices are explained where a
product is made."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_contract_page_warns_and_labels_and_product_form_explains(login, shot):
    from billing.catalog.services import plan_create
    from tests.billing.factories import ContractFactory

    with transaction.atomic():
        plan_create(
            code="tokens-2026",
            name="Tokens 2026",
            currency="USD",
            effective_from=date(2027, 1, 1),
            charges=[
                {
                    "code": "tokens",
                    "product": "tokens",
                    "meter": "llm_tokens",
                    "model": "standard",
                    "properties": {"unit_amount": "0.000002"},
                }
            ],
        )
    early = ContractFactory(
        lines=[{"key": "usage", "product": "tokens", "plan": "tokens-2026"}],
        start_date=date(2026, 12, 1),
        end_date=date(2027, 12, 1),
        active=False,
    )
    page = login("finance")
    page.goto(f"/contracts/{early.pk}/")
    warning = page.locator("#plan-warnings")
    expect(warning).to_contain_text("Line usage starts on 1 Dec 2026, before plan tokens-2026 is in force")
    expect(warning).to_contain_text("takes effect on 1 Jan 2027")
    lines = page.locator("section[aria-labelledby=lines-title]")
    expect(lines.get_by_text("usage-billed")).to_be_visible()
    shot("contract-plan-warning", keep="guard-rail-plan-not-in-force")

    pricing = login("pricing")
    pricing.goto("/pricing/catalog/")
    help_text = pricing.locator("#id_product-recognition_helptext")
    expect(help_text).to_contain_text("Ratable (daily): spread evenly over the service period")
    expect(help_text).to_contain_text("As used")
    shot("recognition-help", page=pricing, keep="guard-rail-recognition-help")
