"""A small but complete set of records, made through the public API the way users make them: a
catalog, a customer with an active and a draft contract, usage (and one quarantined event), a webhook
endpoint, billing runs with a finalized invoice, revenue schedules (one approved), a revenue run, a
compliance run, a pending approval and a contract modification. Shared by the API fuzzing and the
security tests.

``settle`` wraps each step that schedules work on commit: ``contextlib.nullcontext`` when the caller
runs in autocommit (the work runs at once), ``django_capture_on_commit_callbacks(execute=True)``
inside a test transaction. The world is told as a Scenario (tests/scenario.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rest_framework.test import APIClient

from tests.scenario import Scenario

ROLES_SEEDED = ("admin", "finance", "approver")


@dataclass
class World:
    clients: dict[str, APIClient]
    tokens: dict[str, str]
    customer: Any
    contract_id: int
    draft_contract_id: int
    ids: dict[str, list[int]] = field(default_factory=dict)


HYBRID = {
    "code": "hybrid",
    "name": "Hybrid",
    "currency": "USD",
    "effective_from": "2020-01-01",  # back-dated: published once an approver signs it off
    "charges": [
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
            "model": "standard",
            "properties": {"unit_amount": "0.01"},
        },
    ],
}


def seed_world(settle: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext) -> World:
    from billing.contracts.models import Contract
    from billing.models import BillingRun, Invoice, QuarantinedEvent, WebhookDelivery, WebhookEndpoint
    from compliance.models import ComplianceException
    from revops.core.approvals.models import Approval
    from revops.core.models import Job
    from revops.parties.models import Customer
    from revrec.models import ContractModification, RevenueRun, RevenueSchedule

    s = Scenario(settle=settle, name="world")
    for role in ROLES_SEEDED:
        s.as_(role)
    # Given a catalog, a customer with an active and a draft contract.
    for code, recognition in (
        ("platform", "ratable_daily"),
        ("seats", "ratable_monthly"),
        ("api", "usage"),
        ("onboarding", "point_in_time"),
    ):
        s.product(code, recognition)
    s.meter("api_calls", name="API calls").plan(HYBRID).approve_as("approver", kind="price_version_publish")
    s.customer("world-co", name="World Co")
    s.contract(
        "2026-01-01",
        "2027-01-01",
        [
            {"key": "platform", "product": "platform", "plan": "hybrid"},
            {"key": "setup", "product": "onboarding", "amount": "500.00", "billing": "one_time"},
        ],
        key="active",
    )
    s.contract(
        "2026-03-01",
        "2026-09-01",
        [{"key": "svc", "product": "seats", "unit_price": "10.00", "quantity": "3"}],
        key="draft",
        activate=False,
    )
    # When usage arrives (one event quarantined), the first invoice is finalized, one schedule of two
    # approved (the other waits: a pending approval), January recognized and the checks run.
    events = [
        {
            "transaction_id": f"world-{d}",
            "customer": "world-co",
            "code": "api_calls",
            "timestamp": f"2026-01-{d:02d}T12:00:00+00:00",
        }
        for d in (5, 6, 7)
    ]
    s.events([*events, {"transaction_id": "world-bad", "customer": "nobody"}])
    s.webhook_endpoint("https://hooks.example.com/concord")
    s.bill("2026-01-01", "2026-02-01").finalize(actor_role="admin", limit=1, through_api=True)
    s.approve_as("approver", kind="revenue_schedule", limit=1)
    s.recognize("2026-01").check()
    s.reopen("2025-12", reason="world", status=409)  # never closed: refused with a problem
    # A modification awaiting a treatment.
    s.amend(
        {"effective_date": "2026-07-01", "changes": [{"line": "platform", "quantity": "2"}]},
        contract=s.contracts["active"],
    )

    def ids(model) -> list[int]:
        return list(model.objects.order_by("pk").values_list("pk", flat=True)[:5])

    return World(
        clients={role: s.as_(role) for role in ROLES_SEEDED},
        tokens={role: s.tokens[role] for role in ROLES_SEEDED},
        customer=Customer.objects.get(external_id="world-co"),
        contract_id=s.contracts["active"],
        draft_contract_id=s.contracts["draft"],
        ids={
            "contract": ids(Contract),
            "invoice": ids(Invoice),
            "billing_run": ids(BillingRun),
            "revenue_run": ids(RevenueRun),
            "schedule": ids(RevenueSchedule),
            "approval": ids(Approval),
            "exception": ids(ComplianceException),
            "quarantine": ids(QuarantinedEvent),
            "webhook_endpoint": ids(WebhookEndpoint),
            "webhook_delivery": ids(WebhookDelivery),
            "job": ids(Job),
            "modification": ids(ContractModification),
        },
    )
