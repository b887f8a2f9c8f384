"""The price simulator answers "what does quantity N cost" directly (issue 16 §6): the same rating
code as billing, exact amounts, the tiers it went through; a bad quantity is a message, not a 500."""

from decimal import Decimal

import pytest

from billing.catalog.simulator import charge_quote
from billing.models import PlanVersion
from revops.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def test_a_quantity_of_a_graduated_charge_costs_what_its_tiers_say(catalog):
    version = PlanVersion.objects.get(plan__code="hybrid")
    quote = charge_quote(version=version, charge_code="api", quantity=Decimal("2500"))
    # 1,000 free calls, then 1,500 × 0.01
    assert Decimal(quote["amount"]) == Decimal("15.00") and len(quote["breakdown"]) == 2
    assert quote["per_unit"] == Decimal("0.006")
    with pytest.raises(ValidationFailed):
        charge_quote(version=version, charge_code="no-such", quantity=Decimal(1))
    with pytest.raises(ValidationFailed):
        charge_quote(version=version, charge_code="api", quantity=Decimal(-1))


def test_the_simulator_page_quotes_a_quantity(ui_for, catalog):
    pricing = ui_for("pricing")
    page = pricing.get("/pricing/simulator/?plan=hybrid").content.decode()
    assert "What does a quantity cost?" in page and 'id="quote-quantity"' in page
    fragment = pricing.get(
        "/pricing/simulator/quote", {"version": "hybrid:1", "charge": "api", "quantity": "2,500"}
    ).content.decode()
    assert 'id="quote-amount">15.00 USD<' in fragment and "<html" not in fragment
    assert "2,500" in fragment and "per unit on average" in fragment
    bad = pricing.get(
        "/pricing/simulator/quote", {"version": "hybrid:1", "charge": "api", "quantity": "lots"}
    )
    assert bad.status_code == 200 and "is not a number" in bad.content.decode()
    huge = pricing.get(
        "/pricing/simulator/quote", {"version": "hybrid:1", "charge": "api", "quantity": "1e40"}
    )
    assert huge.status_code == 200 and 'id="quote-error"' in huge.content.decode()
