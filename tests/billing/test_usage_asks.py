"""The usage questions of a billing-run batch are read from the charges, not found by pricing every
usage item a second time (billing/pricing.py usage_asks): the same questions, in the same order, as
the pricing asks (RecordingUsage records them)."""

from datetime import date

import pytest

from billing import pricing
from billing.invoicing.usage_source import RecordingUsage
from billing.pricing import ChargeDef, FilterDef, MeterDef, VersionDef, rate_period, usage_asks

CALLS = MeterDef("api_calls", "count")
PAYMENTS = MeterDef("payments", "sum", "amount")


def _versions() -> list[VersionDef]:
    calls = ChargeDef(
        "calls",
        "standard",
        {"unit_amount": "0.1"},
        meter=CALLS,
        filters=(
            FilterDef({"endpoint": "/v1/chat"}, {"unit_amount": "0.3"}),
            FilterDef({"endpoint": "/v1/embed"}, {"unit_amount": "0.2"}),
        ),
    )
    return [
        VersionDef("p", 1, date(2026, 1, 1), "EUR", (ChargeDef("platform", "flat", {"amount": "10"}), calls)),
        VersionDef(
            "p",
            2,
            date(2026, 3, 10),
            "EUR",
            (
                calls,
                ChargeDef("fees", "percentage", {"rate": "2"}, meter=PAYMENTS, field="amount"),
                ChargeDef("other", "standard", {"unit_amount": "1"}, meter=CALLS),
            ),
        ),
    ]


@pytest.mark.parametrize(
    ("policy", "charges", "count"),
    [("on_effective_date", None, 8), ("on_effective_date", ["calls", "fees"], 7), ("at_renewal", None, 3)],
)
def test_the_questions_are_the_ones_the_pricing_asks(policy, charges, count):
    kwargs = {
        "start": date(2026, 3, 1),
        "end": date(2026, 4, 1),
        "tz_name": "Europe/Berlin",
        "policy": policy,
        "pinned_on": date(2026, 2, 1),
        "charges": charges,
    }
    recorder = RecordingUsage()
    rate_period(_versions(), usage=recorder, **kwargs)
    asked = usage_asks(_versions(), **kwargs)
    assert asked == recorder.asked
    assert len(asked) == count  # each filter group and default group of each metered charge, per segment


def test_the_questions_are_read_without_pricing(monkeypatch):
    def priced(*args, **kwargs):
        raise AssertionError("usage_asks priced a charge")

    monkeypatch.setattr(pricing, "rate_charge", priced)
    monkeypatch.setattr(pricing, "charge_spec", priced)
    asked = usage_asks(_versions(), start=date(2026, 3, 1), end=date(2026, 4, 1), tz_name="UTC")
    assert [(meter.code, match, exclude) for meter, match, exclude, _s, _e in asked[:3]] == [
        ("api_calls", {"endpoint": "/v1/chat"}, []),
        ("api_calls", {"endpoint": "/v1/embed"}, [{"endpoint": "/v1/chat"}]),
        ("api_calls", None, [{"endpoint": "/v1/chat"}, {"endpoint": "/v1/embed"}]),
    ]
