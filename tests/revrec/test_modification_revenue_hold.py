"""A revenue run between an amendment and its approval does not change what the modification applies
(reviewer finding F3): while a contract modification waits for approval, the contract's revenue for
periods on or after its effective date is held (accounting.md §10); the satisfied part is the one at
the modification date. IFRS 15 IE Example 5 Case B still ends at 5,600 / 2,800 (IE22–IE24)."""

from decimal import Decimal

import pytest

from revrec.models import ScheduleLine
from tests.revrec.test_ifrs15_examples import _widgets

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(scenario, catalog):
    """IE 5's customer on the shared catalog (tests/scenario.py)."""
    return scenario.customer("ie", name="IE Co")


def test_a_revenue_run_before_approval_is_held_and_ie5_case_b_still_ends_at_5600_and_2800(world):
    added = _widgets(world, "80.00")
    world.amend(
        {"effective_date": "2026-03-01", "changes": [{"line": "batch-1", "amount": "5100.00"}, added]}
    )
    world.approve_as("approver", kind="price_override")  # a price cut below list waits for a second person
    assert world.modification()["status"] == "pending_approval"
    world.recognize("2026-04")  # before the approver decides: April's delivery is held
    posted = set(
        ScheduleLine.objects.filter(
            schedule__obligation__contract_id=world.id, posted_entry__isnull=False
        ).values_list("schedule__obligation__key", "period")
    )
    assert posted == {("batch-1", "2026-01")}  # January was delivered before the modification
    world.approve_as("approver")
    assert world.allocations() == {
        "batch-1": Decimal("5100.00"),
        "batch-2": Decimal("5600.00"),
        "batch-3": Decimal("2800.00"),
    }
    schedule = world.schedule()
    assert schedule["batch-1"] == {"2026-01": Decimal("6000.00"), "2026-03": Decimal("-900.00")}
    assert schedule["batch-2"] == {"2026-04": Decimal("5600.00")}
    world.recognize("2026-04")  # released: the held months post under the approved terms
    amounts = dict(
        ScheduleLine.objects.filter(
            schedule__obligation__contract_id=world.id,
            schedule__status="approved",
            posted_entry__isnull=False,
            period="2026-04",
        ).values_list("schedule__obligation__key", "amount")
    )
    assert amounts == {"batch-2": Decimal("5600.00")}
