"""Builders shared by billing, revenue and compliance tests (registered as a pytest plugin in
tests/conftest.py): the shared catalog, usage ingestion, the ``scenario`` fixture and ``built_once``
for module-scoped worlds. Customers, contracts, invoices and the revenue side's records come from the
factories (tests/revops, tests/billing, tests/revrec factories.py), stories from tests/scenario.py."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from billing.catalog.services import meter_create, plan_create
from billing.models import Meter, Plan
from billing.usage.ingest import ingest_events
from revops.parties.models import Product
from revops.parties.services.products import product_create

# A script or stylesheet loaded from another host (a CDN): pages must use the self-hosted copies.
EXTERNAL_ASSET = re.compile(rb"<(?:script|link)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.IGNORECASE)
NOW = datetime(2030, 1, 1, tzinfo=UTC)  # "now" for watermarks: far after every test period


@pytest.fixture
def catalog(db):
    return build_catalog()


def build_catalog() -> bool:
    """The shared catalog (products, meters, the hybrid and tokens plans), made through the services."""
    with transaction.atomic():
        for code, method in (
            ("platform", "ratable_daily"),
            ("seats", "ratable_daily"),
            ("api", "usage"),
            ("tokens", "usage"),
            ("onboarding", "point_in_time"),
        ):
            if not Product.objects.filter(code=code).exists():
                product_create(code=code, name=code.title(), recognition=method)
        if not Meter.objects.filter(code="api_calls").exists():
            meter_create(code="api_calls", name="API calls", aggregation="count", group_by=["endpoint"])
        if not Meter.objects.filter(code="llm_tokens").exists():
            meter_create(
                code="llm_tokens",
                name="LLM tokens",
                aggregation="sum",
                field="tokens",
                group_by=["model", "token_type"],
            )
        if not Plan.objects.filter(code="hybrid").exists():
            plan_create(
                code="hybrid",
                name="Hybrid",
                currency="USD",
                effective_from=date(2020, 1, 1),
                charges=[
                    {
                        "code": "platform",
                        "product": "platform",
                        "model": "flat",
                        "timing": "in_advance",
                        "properties": {"amount": "100.00"},
                    },
                    {
                        "code": "api",
                        "product": "api",
                        "meter": "api_calls",
                        "model": "graduated",
                        "properties": {
                            "tiers": [
                                {"up_to": 1000, "unit_amount": "0"},
                                {"up_to": None, "unit_amount": "0.01"},
                            ]
                        },
                    },
                ],
            )
            plan_create(
                code="tokens",
                name="Tokens",
                currency="USD",
                effective_from=date(2020, 1, 1),
                minimum_amount="50.00",
                charges=[
                    {
                        "code": "tokens",
                        "product": "tokens",
                        "meter": "llm_tokens",
                        "model": "standard",
                        "properties": {"unit_amount": "0"},
                        "filters": [
                            {
                                "match": {"model": "m1", "token_type": "input"},
                                "properties": {"unit_amount": "0.000002"},
                            },
                            {
                                "match": {"model": "m1", "token_type": "output"},
                                "properties": {"unit_amount": "0.00001"},
                            },
                        ],
                    }
                ],
            )
        approve_price_versions()
    return True


def approve_price_versions() -> None:
    """Sign off the pending publication of back-dated price versions (maker-checker, issue 12 §3), as
    a separate approver: the builders' plans take effect in 2020."""
    from billing.catalog.services import PUBLISH_KIND
    from revops.core.approvals.models import Approval
    from tests.revops.factories import approve, approver

    for approval in Approval.objects.filter(kind=PUBLISH_KIND, status=Approval.Status.PENDING):
        approve(approval, user=approver("catalog-checker"), comment="Test price list.")


@contextmanager
def built_once(django_db_blocker):
    """For a module-scoped world of read-only tests: build it inside a transaction that the module's
    tests run within (each test in its own savepoint, as pytest-django's ``db`` nests them) and that
    is rolled back when the module is done. Work the world schedules on commit runs as it is built
    (``settle``). Every test of such a module must be a plain ``django_db`` test."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


def settle_now():
    """``settle`` outside a test: run what the block schedules on commit when it ends."""
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


@pytest.fixture
def scenario(db, django_capture_on_commit_callbacks):
    """A Scenario (tests/scenario.py) whose steps run what they schedule on commit."""
    from functools import partial

    from tests.scenario import Scenario

    return Scenario(settle=partial(django_capture_on_commit_callbacks, execute=True))


def send_events(customer, events, *, received_at: datetime | None = None):
    """Ingest through the real service; ``received_at`` pins the server receipt time (late events)."""
    payload = [
        {
            "transaction_id": e.get("transaction_id") or f"{customer.external_id}-{i}-{e['timestamp']}",
            "customer": customer.external_id,
            "code": e["code"],
            "timestamp": e["timestamp"],
            "properties": e.get("properties", {}),
        }
        for i, e in enumerate(events)
    ]
    result = ingest_events(events=payload, source="api", user=None, now=received_at)
    assert not result.rejected, result.rejected
    return result


def day(d: date, hour: int = 12) -> str:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC).isoformat()


ONE_DAY = timedelta(days=1)
ZERO = Decimal(0)


def approved_credit_grant(
    *, customer, kind: str = "purchased", payment_reference: str | None = None, **kwargs
):
    """A credit grant as the product makes one: requested (by ``actor`` or nobody) and approved by an
    approver other than the requester (issue 12.4: every grant is a money lever)."""
    from django.db import transaction

    from billing.invoicing.credits import credit_grant_request
    from billing.models import CreditGrant
    from tests.revops.factories import approve

    if kind == "purchased" and payment_reference is None:
        payment_reference = f"RCPT-{CreditGrant.objects.count() + 1}-{kwargs.get('amount')}"
    with transaction.atomic():
        approval = credit_grant_request(
            customer=customer, kind=kind, payment_reference=payment_reference or "", **kwargs
        )
    approve(approval)
    return CreditGrant.objects.get(approval=approval)


def through_approval(response):
    """A response answered 202 with a pending ``approval`` (a credit note, the void of a finalized
    invoice: billing.invoicing.reversals) approved by an approver other than the requester; returns
    the approval, re-read."""
    from revops.core.approvals.models import Approval
    from tests.revops.factories import approve

    assert response.status_code == 202, getattr(response, "content", b"")[:2000]
    approval = Approval.objects.get(pk=response.json()["approval"]["id"])
    approve(approval)
    approval.refresh_from_db()
    assert approval.status == "approved"
    return approval


def through_override(api, response):
    """A contract response that may wait for a price override (202: a custom-priced or discounted
    line, billing.contracts.overrides): an approver other than the requester approves it through the
    API; returns the response, or the approval's outcome re-read as the contract (status 200)."""
    if response.status_code != 202 or "approval" not in response.json():
        return response
    from django.db import transaction
    from rest_framework.test import APIClient

    from revops.core.services.tokens import api_token_create

    with transaction.atomic():
        _token, raw = api_token_create(
            username=f"override-checker-{response.json()['approval']['id']}", role="approver"
        )
    checker_api = APIClient()
    checker_api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    decided = checker_api.post(
        f"/api/v1/approvals/{response.json()['approval']['id']}/approve",
        {"comment": "test set-up"},
        format="json",
    )
    assert decided.status_code == 200, decided.json()
    return api.get(f"/api/v1/contracts/{response.json()['id']}")


def api_activate(api, contract_id):
    """POST /contracts/{id}/activate, approved by a second person when it waits for a price override."""
    return through_override(api, api.post(f"/api/v1/contracts/{contract_id}/activate"))


def amend_approved(**kwargs):
    """contract_amend, approved by a second person when it waits for a price override."""
    from billing.contracts.services import contract_amend
    from tests.revops.factories import approve

    amended = contract_amend(**kwargs)
    if getattr(amended, "override_approval", None) is not None:
        approve(amended.override_approval)
        amended.refresh_from_db()
    return amended
