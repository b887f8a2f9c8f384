"""A billing run parses each (plan version, charge) definition once, not once or twice per rating
(billing/pricing.py charge_spec; billing.rating rate_*_parsed): same lines, fewer parses."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing import pricing
from billing.pricing import ChargeDef, InMemoryUsage, MeterDef, VersionDef, charge_spec, rate_period
from billing.rating import RatingError, parse_charge
from billing.rating import validation as rating_validation

CALLS = MeterDef("api_calls", "count")


@pytest.fixture
def parses(monkeypatch):
    """The number of times a charge definition is parsed (validated)."""
    monkeypatch.setattr(pricing, "_SPECS", {})
    seen = []
    real = rating_validation._parse

    def counting(*args, **kwargs):
        seen.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(rating_validation, "_parse", counting)
    return seen


def _version() -> VersionDef:
    return VersionDef(
        "api",
        1,
        date(2026, 1, 1),
        "USD",
        (
            ChargeDef("platform", "flat", {"amount": "100"}),
            ChargeDef(
                "calls",
                "graduated",
                {"tiers": [{"up_to": 10, "unit_amount": "0.5"}, {"up_to": None, "unit_amount": "0.1"}]},
                meter=CALLS,
            ),
        ),
    )


def _rate(events):
    return rate_period(
        [_version()],
        start=date(2026, 3, 1),
        end=date(2026, 4, 1),
        tz_name="UTC",
        usage=InMemoryUsage(events),
    )


def test_rating_many_contracts_parses_each_charge_once(parses):
    customers = [
        [{"code": "api_calls", "timestamp": datetime(2026, 3, 2, tzinfo=UTC), "properties": {}}] * n
        for n in range(5)
    ]
    rated = [_rate(events) for events in customers]
    assert sorted(parses) == [
        "flat",
        "graduated",
    ]  # 2 charges, 5 ratings: before, 2 parses per charge per rating
    assert [line.amount for line in rated[3]] == [Decimal("100.00"), Decimal("1.50")]


def test_a_parsed_spec_is_the_one_parse_charge_returns(parses):
    assert charge_spec("standard", {"unit_amount": "1.0"}, None) == parse_charge(
        "standard", {"unit_amount": "1.0"}
    )
    # "1.0" and 1 parse to different specs (the breakdown shows 1.0 vs 1): the cache keeps them apart
    assert str(charge_spec("standard", {"unit_amount": 1}, None).properties["unit_amount"]) == "1"
    assert str(charge_spec("standard", {"unit_amount": "1.0"}, None).properties["unit_amount"]) == "1.0"


def test_an_invalid_definition_raises_every_time(parses):
    for _ in range(2):
        with pytest.raises(RatingError, match="unit_amount"):
            charge_spec("standard", {"unit_amount": "-1"}, None)
    assert parses == ["standard", "standard"]
