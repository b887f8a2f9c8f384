"""Fixtures for the usage tests: customers, meters and an event builder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.billing.factories import MeterFactory
from tests.revops.factories import CustomerFactory


@pytest.fixture
def customer(db):
    return CustomerFactory(external_id="acme", name="Acme")


@pytest.fixture
def tokens_meter(db):
    return MeterFactory(
        code="llm_tokens",
        name="LLM tokens",
        aggregation="sum",
        field="tokens",
        group_by=["model", "token_type"],
    )


@pytest.fixture
def calls_meter(db):
    return MeterFactory(
        code="api_calls", name="API calls", aggregation="count", field="", group_by=["endpoint"]
    )


def stamp(delta: timedelta = timedelta(0)) -> str:
    """An ISO 8601 timestamp with an offset, ``delta`` from now (negative = in the past)."""
    return (datetime.now(UTC) + delta).isoformat()


def event(
    tid: str, *, customer: str = "acme", code: str = "llm_tokens", ts: str | None = None, **props
) -> dict:
    return {
        "transaction_id": tid,
        "customer": customer,
        "code": code,
        "timestamp": ts or stamp(-timedelta(hours=1)),
        "properties": props if props else {"tokens": 10, "model": "gpt", "token_type": "input"},
    }
