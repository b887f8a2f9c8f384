"""Pricing a period (billing/pricing.py): per-dimension lines, version changes, true-up (issue 3)."""

from datetime import UTC, date, datetime
from decimal import Decimal

from billing.pricing import (
    ChargeDef,
    FilterDef,
    InMemoryUsage,
    MeterDef,
    VersionDef,
    rate_period,
    rate_version,
    version_segments,
)

TOKENS = MeterDef("llm_tokens", "sum", "tokens", group_by=("model", "token_type"))


def token_charge(input_price: str, output_price: str, mini_in: str = "0.00000015") -> ChargeDef:
    # Prices per token (i.e. per-million prices / 1,000,000), by model x direction.
    return ChargeDef(
        code="tokens",
        model="standard",
        properties={"unit_amount": "0"},
        name="LLM tokens",
        product="tokens",
        meter=TOKENS,
        filters=(
            FilterDef({"model": "gpt-4o", "token_type": "input"}, {"unit_amount": input_price}),
            FilterDef({"model": "gpt-4o", "token_type": "output"}, {"unit_amount": output_price}),
            FilterDef({"model": "gpt-4o-mini", "token_type": "input"}, {"unit_amount": mini_in}),
        ),
    )


def event(day: int, hour: int, model: str, token_type: str, tokens: int, month: int = 3) -> dict:
    return {
        "code": "llm_tokens",
        "timestamp": datetime(2026, month, day, hour, tzinfo=UTC),
        "properties": {"model": model, "token_type": token_type, "tokens": tokens},
    }


def test_token_plan_rates_a_day_of_mixed_events_into_one_line_per_dimension():
    version = VersionDef("ai", 1, date(2026, 1, 1), "USD", (token_charge("0.0000025", "0.00001"),))
    events = [
        event(2, 1, "gpt-4o", "input", 1_200_000),
        event(2, 3, "gpt-4o", "output", 300_000),
        event(2, 5, "gpt-4o", "input", 800_000),
        event(2, 9, "gpt-4o-mini", "input", 10_000_000),
        event(2, 11, "gpt-4o", "output", 200_000),
        event(3, 1, "gpt-4o", "input", 999),  # next day: excluded
    ]
    lines = rate_version(
        version,
        usage=InMemoryUsage(events),
        start=datetime(2026, 3, 2, tzinfo=UTC),
        end=datetime(2026, 3, 3, tzinfo=UTC),
        service=(date(2026, 3, 2), date(2026, 3, 3)),
    )
    by_dim = {tuple(sorted(line.dimension.items())): line for line in lines}
    gpt_in = by_dim[(("model", "gpt-4o"), ("token_type", "input"))]
    gpt_out = by_dim[(("model", "gpt-4o"), ("token_type", "output"))]
    mini_in = by_dim[(("model", "gpt-4o-mini"), ("token_type", "input"))]
    assert (gpt_in.quantity, gpt_in.amount) == (Decimal(2_000_000), Decimal("5.00"))
    assert (gpt_out.quantity, gpt_out.amount) == (Decimal(500_000), Decimal("5.00"))
    assert (mini_in.quantity, mini_in.amount) == (Decimal(10_000_000), Decimal("1.50"))
    assert len(lines) == 3  # one line per dimension; the unpriced rest had no usage, so no line


def test_price_change_mid_month_rates_each_side_at_its_version_as_separate_lines():
    v1 = VersionDef("ai", 1, date(2026, 1, 1), "USD", (token_charge("0.0000025", "0.00001"),))
    v2 = VersionDef("ai", 2, date(2026, 3, 16), "USD", (token_charge("0.000002", "0.000008"),))
    events = [event(10, 12, "gpt-4o", "input", 1_000_000), event(20, 12, "gpt-4o", "input", 1_000_000)]
    lines = rate_period(
        [v1, v2], start=date(2026, 3, 1), end=date(2026, 4, 1), tz_name="UTC", usage=InMemoryUsage(events)
    )
    gpt_in = [ln for ln in lines if ln.dimension == {"model": "gpt-4o", "token_type": "input"}]
    assert [(ln.version, ln.service_start, ln.service_end, ln.amount) for ln in gpt_in] == [
        (1, date(2026, 3, 1), date(2026, 3, 16), Decimal("2.50")),
        (2, date(2026, 3, 16), date(2026, 4, 1), Decimal("2.00")),
    ]


def test_fee_is_prorated_by_days_across_a_version_change():
    fee = lambda amount: ChargeDef(code="platform", model="flat", properties={"amount": amount})  # noqa: E731
    v1 = VersionDef("p", 1, date(2026, 1, 1), "USD", (fee("31.00"),))
    v2 = VersionDef("p", 2, date(2026, 3, 11), "USD", (fee("62.00"),))
    lines = rate_period(
        [v1, v2], start=date(2026, 3, 1), end=date(2026, 4, 1), tz_name="UTC", usage=InMemoryUsage([])
    )
    assert [ln.amount for ln in lines] == [Decimal("10.00"), Decimal("42.00")]  # 31*10/31, 62*21/31


def test_at_renewal_policy_keeps_the_term_version():
    v1 = VersionDef("p", 1, date(2026, 1, 1), "USD", ())
    v2 = VersionDef("p", 2, date(2026, 3, 16), "USD", ())
    segments = version_segments(
        [v1, v2],
        start=date(2026, 3, 1),
        end=date(2026, 4, 1),
        policy="at_renewal",
        pinned_on=date(2026, 1, 15),
    )
    assert [(s.version.number, s.start, s.end) for s in segments] == [(1, date(2026, 3, 1), date(2026, 4, 1))]


def test_minimum_commitment_true_up_is_its_own_line():
    charge = ChargeDef(
        code="api", model="standard", properties={"unit_amount": "0.01"}, meter=MeterDef("api", "count")
    )
    version = VersionDef("p", 1, date(2026, 1, 1), "USD", (charge,), minimum_amount=Decimal("100.00"))
    events = [{"code": "api", "timestamp": datetime(2026, 3, 5, tzinfo=UTC), "properties": {}}] * 2500
    lines = rate_period(
        [version], start=date(2026, 3, 1), end=date(2026, 4, 1), tz_name="UTC", usage=InMemoryUsage(events)
    )
    assert [(ln.kind, ln.amount) for ln in lines] == [
        ("usage", Decimal("25.00")),
        ("true_up", Decimal("75.00")),
    ]


def test_local_time_zone_decides_the_day():
    charge = ChargeDef(
        code="api", model="standard", properties={"unit_amount": "1"}, meter=MeterDef("api", "count")
    )
    version = VersionDef("p", 1, date(2026, 1, 1), "JPY", (charge,))
    # 2026-03-31T16:30Z is 1 April 01:30 in Tokyo: April usage, not March.
    events = [{"code": "api", "timestamp": datetime(2026, 3, 31, 16, 30, tzinfo=UTC), "properties": {}}]
    march = rate_period(
        [version],
        start=date(2026, 3, 1),
        end=date(2026, 4, 1),
        tz_name="Asia/Tokyo",
        usage=InMemoryUsage(events),
    )
    april = rate_period(
        [version],
        start=date(2026, 4, 1),
        end=date(2026, 5, 1),
        tz_name="Asia/Tokyo",
        usage=InMemoryUsage(events),
    )
    assert march[0].quantity == 0 and april[0].quantity == 1 and april[0].amount == Decimal("1")
