"""A small but complete set of records, made through the public API the way users make them: a
catalog, a customer with an active and a draft contract, usage (and one quarantined event), a webhook
endpoint, billing runs with a finalized invoice, revenue schedules (one approved), a revenue run, a
compliance run, a pending approval and a contract modification. Shared by the API fuzzing and the
security tests.

``settle`` wraps each step that schedules work on commit: ``contextlib.nullcontext`` when the caller
runs in autocommit (the work runs at once), ``django_capture_on_commit_callbacks(execute=True)``
inside a test transaction."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rest_framework.test import APIClient

ROLES_SEEDED = ("admin", "finance", "approver")


@dataclass
class World:
    clients: dict[str, APIClient]
    tokens: dict[str, str]
    customer: Any
    contract_id: int
    draft_contract_id: int
    ids: dict[str, list[int]] = field(default_factory=dict)


def seed_world(settle: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext) -> World:
    from billing.models import BillingRun, Invoice, QuarantinedEvent, WebhookDelivery, WebhookEndpoint
    from compliance.models import Approval, ComplianceException
    from revops.contracts.models import Contract, Customer
    from revops.core.models import Job
    from revops.core.services.roles import sync_role_groups
    from revops.core.services.tokens import api_token_create
    from revrec.models import ContractModification, RevenueRun, RevenueSchedule

    sync_role_groups()
    clients, tokens = {}, {}
    for role in ROLES_SEEDED:
        _, raw = api_token_create(username=f"world-{role}", role=role)
        clients[role] = APIClient()
        clients[role].credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        tokens[role] = raw
    admin, approver = clients["admin"], clients["approver"]

    def post(path: str, body: dict | None = None, *, client=admin, expect: int | None = None) -> dict:
        with settle():
            response = client.post(f"/api/v1/{path}", body or {}, format="json")
        assert expect is None or response.status_code == expect, (path, response.content[:500])
        return response.json() if response.content else {}

    for code, recognition in (
        ("platform", "ratable_daily"),
        ("seats", "ratable_monthly"),
        ("api", "usage"),
        ("onboarding", "point_in_time"),
    ):
        post("products", {"code": code, "name": code.title(), "recognition": recognition}, expect=201)
    post("meters", {"code": "api_calls", "name": "API calls", "aggregation": "count"}, expect=201)
    post(
        "plans",
        {
            "code": "hybrid",
            "name": "Hybrid",
            "currency": "USD",
            "effective_from": "2020-01-01",
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
        },
        expect=202,  # back-dated: published once an approver signs it off
    )
    publish = Approval.objects.get(kind="price_version_publish", status="pending")
    post(f"approvals/{publish.pk}/approve", {"comment": "ok"}, client=approver, expect=200)
    post("customers", {"external_id": "world-co", "name": "World Co", "currency": "USD"}, expect=201)
    contract = post(
        "contracts",
        {
            "customer": "world-co",
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2027-01-01",
            "lines": [
                {"key": "platform", "product": "platform", "plan": "hybrid"},
                {"key": "setup", "product": "onboarding", "amount": "500.00", "billing": "one_time"},
            ],
        },
        expect=201,
    )
    post(f"contracts/{contract['id']}/activate", expect=200)
    draft = post(
        "contracts",
        {
            "customer": "world-co",
            "currency": "USD",
            "start_date": "2026-03-01",
            "end_date": "2026-09-01",
            "lines": [{"key": "svc", "product": "seats", "unit_price": "10.00", "quantity": "3"}],
        },
        expect=201,
    )
    events = [
        {
            "transaction_id": f"world-{d}",
            "customer": "world-co",
            "code": "api_calls",
            "timestamp": f"2026-01-{d:02d}T12:00:00+00:00",
        }
        for d in (5, 6, 7)
    ]
    post("events", {"events": [*events, {"transaction_id": "world-bad", "customer": "nobody"}]}, expect=200)
    post("webhook-endpoints", {"url": "https://hooks.example.com/concord"}, expect=201)
    for as_of in ("2026-01-01", "2026-02-01"):
        post("billing-runs", {"as_of": as_of}, expect=202)
    first = Invoice.objects.order_by("pk").first()
    if first is not None:
        post(f"invoices/{first.pk}/finalize", expect=200)
    pending = RevenueSchedule.objects.filter(status="pending_approval").order_by("pk").first()
    if pending is not None:
        post(f"schedules/{pending.pk}/approve", {"comment": "ok"}, client=approver, expect=200)
    post("revenue-runs", {"period": "2026-01"}, expect=202)
    post("compliance/runs", expect=201)
    post("periods/2025-12/reopen", {"reason": "world"})
    amendment = {"effective_date": "2026-07-01", "changes": [{"line": "platform", "quantity": "2"}]}
    post(f"contracts/{contract['id']}/amend", amendment, expect=200)  # a modification awaiting a treatment

    def ids(model) -> list[int]:
        return list(model.objects.order_by("pk").values_list("pk", flat=True)[:5])

    return World(
        clients=clients,
        tokens=tokens,
        customer=Customer.objects.get(external_id="world-co"),
        contract_id=contract["id"],
        draft_contract_id=draft["id"],
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
