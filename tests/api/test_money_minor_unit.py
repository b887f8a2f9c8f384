"""Money in every response is a decimal string at the currency's minor unit (api.md "Conventions",
issue 14 §5): "1200" JPY, "1.250" KWD, "127.50" USD — never the stored scale ("-2334.2000"). Unit
prices keep the precision they were stored with.

One contract per currency, told through the API (a fractional unit price, a billing run, a finalized
invoice, a revenue run); then every money string of the invoice, contract, schedule, amendment
preview and report responses is checked, wherever it sits in the JSON."""

from __future__ import annotations

from decimal import Decimal

import pytest

from revops.money import minor_units

# Keys whose string values are amounts of the response's currency.
MONEY_KEYS = {
    "amount", "subtotal", "discount", "tax", "credits_applied", "total", "amount_paid",
    "amount_credited", "balance_due", "transaction_price", "allocated_amount", "ssp",
    "recognized_to_date", "deferred", "unbilled", "opening", "billed", "recognized", "closing",
    "contract_assets", "contract_liabilities", "variable_estimate", "variable_constrained",
    "from", "to", "remaining_consideration", "adjustment", "allocation", "old_allocation",
    "new_allocation", "old_fixed_price", "new_fixed_price", "satisfied_to_date", "flat_amount",
    "catch_up", "previous_pays", "pays", "list_pays", "remaining", "used", "expired",
    "opening_mrr", "closing_mrr", "closing_arr", "net_new_mrr", "retained_mrr", "arpa", "new",
    "expansion", "contraction", "churn", "reactivation", "renewal", "bookings", "billings", "revenue",
}  # fmt: skip
# Unit prices and quantities: the stored precision, not rounded to the minor unit.
UNIT_KEYS = {"unit_price", "unit_amount", "quantity", "units"}

UNIT_PRICE = "12.3456"  # × 7 = 86.4192


def money_strings(node, path=""):
    """(path, key, value) of every money string under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}"
            if key in MONEY_KEYS and isinstance(value, str) and value[:1] in "-0123456789":
                yield here, key, value
            elif key in MONEY_KEYS and isinstance(value, list) and all(isinstance(v, list) for v in value):
                for i, (_period, amount) in enumerate(value):  # schedule lines [[period, amount]]
                    yield f"{here}[{i}]", key, amount
            else:
                yield from money_strings(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from money_strings(value, f"{path}[{i}]")


def unit_strings(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in UNIT_KEYS and isinstance(value, str):
                yield f"{path}.{key}", value
            else:
                yield from unit_strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from unit_strings(value, f"{path}[{i}]")


def places(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


@pytest.fixture(params=["JPY", "KWD", "USD"])
def responses(request, scenario):
    currency = request.param
    s = scenario.customer(f"cust-{currency.lower()}", currency=currency, tax_rate="10")
    s.product("platform", "ratable_monthly")
    s.contract(
        "2026-01-01",
        "2027-01-01",
        [{"key": "svc", "product": "platform", "unit_price": UNIT_PRICE, "quantity": "7"}],
        currency=currency,
        approved_by="approver",
    )
    s.bill("2026-01-01").finalize().recognize("2026-01")
    contract = s.id
    invoices = s.get(f"invoices?customer=cust-{currency.lower()}")
    amend = {"effective_date": "2026-03-16", "changes": [{"line": "svc", "quantity": "4"}]}
    got = {
        "invoice list": invoices,
        "invoice": s.get(f"invoices/{invoices['results'][0]['id']}"),
        "contract": s.get(f"contracts/{contract}"),
        "schedule": s.get(f"contracts/{contract}/schedule"),
        "amend preview": s.post(f"contracts/{contract}/amend/preview", amend, status=200),
        "deferred revenue": s.get(f"reports/deferred-revenue?period=2026-01&currency={currency}"),
        "rpo": s.get(f"reports/rpo?as_of=2026-01-31&currency={currency}"),
        "waterfall": s.get(f"reports/waterfall?start=2026-01&end=2026-03&currency={currency}"),
        "revenue": s.get(f"reports/revenue?start=2026-01&end=2026-03&currency={currency}"),
        "unbilled": s.get(f"reports/unbilled?period=2026-01&currency={currency}"),
        "subscription metrics": s.get(
            f"reports/subscription-metrics?start=2026-01&end=2026-03&currency={currency}"
        ),
    }
    return currency, got


def test_every_money_string_is_at_the_minor_unit(responses):
    currency, got = responses
    expected = minor_units(currency)
    wrong, seen = [], 0
    for name, body in got.items():
        for path, _key, value in money_strings(body):
            seen += 1
            Decimal(value)  # a decimal string
            if places(value) != expected:
                wrong.append(f"{name}{path} = {value!r}")
    assert wrong == [], f"{currency}: not at {expected} places"
    assert seen > 40  # the walk read real responses, not empty ones


def test_unit_prices_keep_their_stored_precision(responses):
    _currency, got = responses
    prices = [v for _path, v in unit_strings(got["contract"]) if v == UNIT_PRICE]
    assert prices, "the contract line's unit price as stored"
    line = next(iter(got["invoice"]["lines"]))
    assert Decimal(line["unit_amount"]) == Decimal(UNIT_PRICE)
