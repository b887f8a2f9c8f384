"""Amendments (issue 13 points 3 and 6, accounting.md §10), through the API: amending a one-time line
replaces its price and bills (or credits) only the difference, once; an amendment can extend a line's
service period and the contract term, and add lines beyond the old term."""

from decimal import Decimal

import pytest

from billing.models import InvoiceLine

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def custom_prices_need_approval(settings):
    """As in production: a priced line with no list price waits for an approver."""
    settings.PRICE_OVERRIDE_CUSTOM_APPROVAL = True


@pytest.fixture
def finance(api_for, catalog):
    api = api_for("finance")
    api.post("/api/v1/customers", {"external_id": "ot", "name": "OT Co", "currency": "USD"}, format="json")
    return api


@pytest.fixture
def approver(api_for):
    return api_for("approver")


def _approved(api, approver, response):
    """A custom-priced line (no plan, so no list) waits for a second person (billing.contracts.overrides):
    the approver signs off; returns the contract as it is then."""
    assert response.status_code in (200, 202), response.json()
    if response.status_code == 202:
        approval = response.json()["approval"]
        assert approval["kind"] == "price_override"
        decided = approver.post(
            f"/api/v1/approvals/{approval['id']}/approve", {"comment": "ok"}, format="json"
        )
        assert decided.status_code == 200, decided.json()
        return api.get(f"/api/v1/contracts/{response.json()['id']}").json()
    return response.json()


def _decide_modification(api, approver):
    """The amendment's contract modification, approved by a second person: a further amendment waits
    until it is decided (accounting.md §10, one modification at a time)."""
    for approval in api.get("/api/v1/approvals?status=pending").json()["results"]:
        if approval["kind"] == "contract_modification":
            decided = approver.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json")
            assert decided.status_code == 200, decided.json()


def _bill(api, capture, as_of):
    with capture(execute=True):
        response = api.post("/api/v1/billing-runs", {"as_of": as_of}, format="json")
    assert response.status_code == 202, response.json()
    run = api.get(f"/api/v1/billing-runs/{response.json()['id']}").json()
    assert run["status"] == "completed" and run["failures"] == [], run


def _one_time_billed(key: str) -> list[Decimal]:
    return [
        line.amount
        for line in InvoiceLine.objects.filter(contract_line__key=key, kind="one_time").order_by(
            "invoice__billing_date"
        )
    ]


def test_amending_a_billed_one_time_line_replaces_its_price_and_bills_the_difference_once(
    finance, approver, django_capture_on_commit_callbacks
):
    contract = finance.post(
        "/api/v1/contracts",
        {
            "customer": "ot",
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2027-01-01",
            "lines": [
                {"key": "build", "product": "onboarding", "billing": "one_time", "unit_price": "1000000.00"}
            ],
        },
        format="json",
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        _approved(finance, approver, finance.post(f"/api/v1/contracts/{contract['id']}/activate"))
    _bill(finance, django_capture_on_commit_callbacks, "2026-01-01")
    assert _one_time_billed("build") == [Decimal("1000000.00")]

    amended = _approved(
        finance,
        approver,
        finance.post(
            f"/api/v1/contracts/{contract['id']}/amend",
            {"effective_date": "2026-04-01", "changes": [{"line": "build", "unit_price": "1350000.00"}]},
            format="json",
        ),
    )
    assert amended["transaction_price"] == "1350000.00"  # replaced, not 2,350,000.00
    for _ in range(2):  # a second run bills nothing more
        _bill(finance, django_capture_on_commit_callbacks, "2026-04-01")
    assert _one_time_billed("build") == [Decimal("1000000.00"), Decimal("350000.00")]
    _decide_modification(finance, approver)

    # Lowered again: the difference is credited once.
    _approved(
        finance,
        approver,
        finance.post(
            f"/api/v1/contracts/{contract['id']}/amend",
            {"effective_date": "2026-06-01", "changes": [{"line": "build", "amount": "1200000.00"}]},
            format="json",
        ),
    )
    assert finance.get(f"/api/v1/contracts/{contract['id']}").json()["transaction_price"] == "1200000.00"
    _bill(finance, django_capture_on_commit_callbacks, "2026-06-01")
    billed = _one_time_billed("build")
    assert billed == [Decimal("1000000.00"), Decimal("350000.00"), Decimal("-150000.00")]
    assert sum(billed) == Decimal("1200000.00")


def test_one_time_line_amended_before_it_was_billed_is_billed_once_at_the_new_price(
    finance, approver, django_capture_on_commit_callbacks
):
    contract = finance.post(
        "/api/v1/contracts",
        {
            "customer": "ot",
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2027-01-01",
            "lines": [
                {
                    "key": "build",
                    "product": "onboarding",
                    "billing": "one_time",
                    "amount": "500.00",
                    "service_start": "2026-03-01",
                }
            ],
        },
        format="json",
    ).json()
    _approved(finance, approver, finance.post(f"/api/v1/contracts/{contract['id']}/activate"))
    _approved(
        finance,
        approver,
        finance.post(
            f"/api/v1/contracts/{contract['id']}/amend",
            {"effective_date": "2026-03-01", "changes": [{"line": "build", "amount": "800.00"}]},
            format="json",
        ),
    )
    _bill(finance, django_capture_on_commit_callbacks, "2026-03-01")
    assert _one_time_billed("build") == [Decimal("800.00")]


def test_amendment_extends_the_term_and_a_line_and_adds_a_line_beyond_the_old_term(finance, approver):
    contract = finance.post(
        "/api/v1/contracts",
        {
            "customer": "ot",
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2027-01-01",
            "lines": [
                {"key": "svc", "product": "platform", "unit_price": "100.00"},
                {"key": "seats", "product": "seats", "unit_price": "10.00", "service_end": "2026-07-01"},
            ],
        },
        format="json",
    ).json()
    assert contract["transaction_price"] == "1260.00"
    _approved(finance, approver, finance.post(f"/api/v1/contracts/{contract['id']}/activate"))
    response = finance.post(  # adds a custom-priced line: held for an approver
        f"/api/v1/contracts/{contract['id']}/amend",
        {
            "effective_date": "2026-06-01",
            "end_date": "2027-07-01",
            "changes": [
                {"line": "seats", "end": "2027-01-01"},
                {
                    "add": {
                        "key": "extra",
                        "product": "seats",
                        "unit_price": "5.00",
                        "service_start": "2027-01-01",
                        "service_end": "2027-07-01",
                    }
                },
            ],
        },
        format="json",
    )
    assert response.status_code == 202, response.json()
    body = _approved(finance, approver, response)
    assert body["end_date"] == "2027-07-01"
    # svc follows the term (18 months × 100), seats runs to 2027-01-01 (12 × 10), extra 6 × 5.
    assert body["transaction_price"] == "1950.00"
    extra = next(ln for ln in body["lines"] if ln["key"] == "extra")
    assert (extra["service_start"], extra["service_end"]) == ("2027-01-01", "2027-07-01")

    _decide_modification(finance, approver)
    # Shortening by amendment is refused (that is a termination), and a line end beyond the term too.
    refused = finance.post(
        f"/api/v1/contracts/{contract['id']}/amend",
        {
            "effective_date": "2026-08-01",
            "end_date": "2027-03-01",
            "changes": [{"line": "svc", "quantity": "2"}],
        },
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "end_date"
    refused = finance.post(
        f"/api/v1/contracts/{contract['id']}/amend",
        {"effective_date": "2026-08-01", "changes": [{"line": "svc", "end": "2028-01-01"}]},
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "changes[0].end"
