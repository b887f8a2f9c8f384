"""The modification preview computes each treatment truly, with the same pure code that applies it
(reviewer finding F9, accounting.md §10 and §10a): for an input-method obligation the prospective
column spreads the rest over the remaining work, the catch-up column books the cumulative catch-up."""

from decimal import Decimal

import pytest

from tests.revrec.test_ifrs15_variable_examples import _ie8

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scenario(scenario, catalog):
    return scenario.customer("ie", name="IE Co")


def test_input_method_preview_shows_prospective_and_catch_up_apart(scenario):
    """IE Example 8 (progress stated as 51.2 %): catch-up books 91,200 at the modification; the
    prospective alternative keeps the 600,000 recognized and earns the other 750,000 by the remaining
    work (costs incurred from 2027 ÷ the 400,000 still expected), nothing caught up."""
    _ie8(scenario, places=1)
    row = scenario.modification()["analysis"]["obligations"][0]
    catch_up, prospective = row["options"]["cumulative_catch_up"], row["options"]["prospective"]
    assert dict(catch_up["lines"])["2027-01"] == "91200.00"  # 691,200 cumulative − 600,000
    assert Decimal(catch_up["adjustment"]) > 0
    assert Decimal(prospective["adjustment"]) == 0
    lines = {p: Decimal(a) for p, a in prospective["lines"]}
    assert sum(a for p, a in lines.items() if p <= "2026-12") == Decimal("600000.00")
    assert sum(a for p, a in lines.items() if p > "2026-12") == Decimal("750000.00")
    assert lines.get("2027-01", Decimal(0)) == 0  # no costs incurred yet in 2027: nothing earned
    assert prospective["lines"] != catch_up["lines"]
