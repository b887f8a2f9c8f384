"""A small but complete book: one contract billed and recognized for Q1 2026 through the API.

Customer Book Ltd (tax 10%) on the hybrid plan's platform fee and API usage plus a 1,200.00 one-time
setup, activated with its schedules approved by a second person; 1,100, 1,200 and 1,300 API calls in
January to March (received 1 April); billing runs on the first of January to April, every draft
finalized through the API; revenue runs for 2026-01 to 2026-03. Told as a Scenario
(tests/scenario.py): ``book`` for one test, ``tell_book`` for a module that builds it once."""

from datetime import UTC, date, datetime

import pytest

from tests.builders import day
from tests.scenario import Scenario


def tell_book(s: Scenario) -> dict:
    s.customer("book", name="Book Ltd", tax_rate="10").contract(
        "2026-01-01",
        "2027-01-01",
        [
            {"key": "platform", "product": "platform", "plan": "hybrid"},
            {"key": "setup", "product": "onboarding", "amount": "1200.00", "billing": "one_time"},
        ],
        approved_by="approver",
    )
    s.usage(
        [
            {"code": "api_calls", "timestamp": day(date(2026, m, 10)), "transaction_id": f"b{m}-{i}"}
            for m in (1, 2, 3)
            for i in range(1000 + 100 * m)
        ],
        received_at=datetime(2026, 4, 1, tzinfo=UTC),
    )
    s.bill("2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01").finalize(through_api=True)
    s.recognize("2026-01", "2026-02", "2026-03")
    return {"finance": s.finance, "approver": s.approver, "contract": s.get(f"contracts/{s.id}")}


@pytest.fixture
def book(catalog, scenario):
    return tell_book(scenario)
