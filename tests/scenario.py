"""One scenario builder for tests that tell a story through the public API: given a catalog, an SSP
book, customers and contracts; when usage arrives, billing runs, invoices are finalized, revenue runs,
contracts are amended and approvers decide; then read allocations, schedules and modifications back.

    scenario = Scenario(settle=...).customer("ie", name="IE Co")
    scenario.product("widget", "point_in_time").ssp("widget", "100.00", "2025-01-01")
    scenario.contract("2026-01-01", "2027-01-01", lines).approve_as("approver")
    scenario.usage([...]).bill("2026-01-01", "2026-02-01").finalize().recognize("2026-01")
    assert scenario.allocations() == {...}

Given/when steps return the scenario, so they chain; then-readers return what the API answers. Each
role acts through its own API token (``scenario.finance``, ``.admin``, ``.approver``, ``as_(role)``):
the requester never decides, as in production (maker-checker). ``settle`` wraps every step that
schedules work on commit: ``contextlib.nullcontext`` (the default) when the scenario runs in
autocommit, ``django_capture_on_commit_callbacks(execute=True)`` (or ``TestCase.captureOnCommitCallbacks``)
inside a test transaction. The ``scenario`` fixture (tests/builders.py) makes one for a test."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from rest_framework.test import APIClient

_tokens = itertools.count(1)


class Scenario:
    def __init__(
        self,
        *,
        settle: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
        name: str = "scenario",
    ):
        self.settle = settle
        self.name = name
        self.clients: dict[str, APIClient] = {}
        self.tokens: dict[str, str] = {}
        self.contracts: dict[str, int] = {}  # contract key -> id
        self.id: int | None = None  # the contract the last step made or amended
        self.customer_ref: str | None = None  # the external id of the last customer

    # --- actors -------------------------------------------------------------------------------------

    def as_(self, role: str) -> APIClient:
        """The API client of ``role`` (one bearer token per role and scenario)."""
        if role not in self.clients:
            from revops.core.services.roles import sync_role_groups
            from revops.core.services.tokens import api_token_create

            sync_role_groups()
            with transaction.atomic():
                token, raw = api_token_create(username=f"{self.name}-{role}-{next(_tokens)}", role=role)
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
            client.user = token.user
            self.clients[role], self.tokens[role] = client, raw
        return self.clients[role]

    admin = property(lambda self: self.as_("admin"))
    finance = property(lambda self: self.as_("finance"))
    approver = property(lambda self: self.as_("approver"))

    @staticmethod
    def ok(response, status=(200, 201, 202)):
        """The response's JSON, asserting its status (one code or several)."""
        expected = (status,) if isinstance(status, int) else status
        assert response.status_code in expected, (response.status_code, response.content[:500])
        return response.json() if response.content else {}

    def post(self, path: str, body: dict | None = None, *, role: str = "finance", status=(200, 201, 202)):
        """POST /api/v1/<path> as ``role``, running what it schedules on commit."""
        with self.settle():
            response = self.as_(role).post(f"/api/v1/{path}", body or {}, format="json")
        return self.ok(response, status)

    def get(self, path: str, *, role: str = "finance"):
        return self.ok(self.as_(role).get(f"/api/v1/{path}"), 200)

    # --- given ----------------------------------------------------------------------------------------

    def product(self, code: str, recognition: str, *, name: str | None = None, role: str = "admin"):
        body = {"code": code, "name": name or code.title(), "recognition": recognition}
        self.post("products", body, role=role)
        return self

    def meter(self, code: str, *, name: str | None = None, aggregation: str = "count", **fields) -> Scenario:
        body = {"code": code, "name": name or code, "aggregation": aggregation, **fields}
        self.post("meters", body, role="admin", status=201)
        return self

    def plan(self, body: dict) -> Scenario:
        """A plan (a back-dated one waits for its publication's approval: ``approve_as`` next)."""
        self.post("plans", body, role="admin", status=(201, 202))
        return self

    def ssp(self, product: str, ssp: str, effective_from: str, *, currency: str = "USD") -> Scenario:
        """An observable standalone selling price in the SSP book, approved by a second person."""
        body = {
            "product": product,
            "currency": currency,
            "effective_from": effective_from,
            "ssp": ssp,
            "method": "observable",
        }
        self.post("ssp", body)
        return self.approve_as("approver")

    def customer(self, external_id: str, *, name: str | None = None, currency: str = "USD", **fields):
        body = {"external_id": external_id, "name": name or external_id.title(), "currency": currency}
        self.post("customers", {**body, **fields}, status=201)
        self.customer_ref = external_id
        return self

    def contract(
        self,
        start: str,
        end: str,
        lines: list[dict],
        *,
        key: str | None = None,
        customer: str | None = None,
        currency: str = "USD",
        activate: bool = True,
        approved_by: str | None = None,
    ) -> Scenario:
        """A contract of the last customer (or ``customer``), activated as finance unless told not to;
        a custom price's override and the initial schedules then wait for an approver —
        ``approved_by="approver"`` approves them at once (``approve_as``)."""
        body = {
            "customer": customer or self.customer_ref,
            "currency": currency,
            "start_date": start,
            "end_date": end,
            "lines": lines,
        }
        self.id = self.post("contracts", body, status=201)["id"]
        self.contracts[key or str(len(self.contracts))] = self.id
        if activate:
            self.post(f"contracts/{self.id}/activate")
        return self.approve_as(approved_by) if approved_by else self

    def webhook_endpoint(self, url: str) -> Scenario:
        self.post("webhook-endpoints", {"url": url}, status=201)
        return self

    def closed(self, period: str, *, actor=None) -> Scenario:
        """A period of the books closed by the revenue service (as ``actor``, by default finance):
        a given the story starts from, not the close checklist under test (POST periods/…/close)."""
        from revrec.services.periods import period_close

        with transaction.atomic(), self.settle():
            period_close(key=period, actor=actor or self.finance.user)
        return self

    # --- when -----------------------------------------------------------------------------------------

    def events(self, events: list[dict], *, status=200) -> Scenario:
        """Usage through the public ingestion API (POST /events): events are sent as given, so a bad
        one is quarantined as a client's would be."""
        self.post("events", {"events": events}, status=status)
        return self

    def usage(self, events: list[dict], *, customer: str | None = None, received_at: datetime | None = None):
        """Usage events of a customer, ingested by the service (``received_at`` pins the server's
        receipt time, as late events need; events are ``{"code", "timestamp", ...}``)."""
        from revops.parties.models import Customer
        from tests.builders import send_events

        send_events(
            Customer.objects.get(external_id=customer or self.customer_ref), events, received_at=received_at
        )
        return self

    def bill(self, *as_of: str) -> Scenario:
        """A billing run on each date (drafts for everything due)."""
        for day in as_of:
            self.post("billing-runs", {"as_of": day}, status=202)
        return self

    def finalize(
        self, *, actor_role: str = "finance", limit: int | None = None, through_api: bool = False
    ) -> Scenario:
        """Finalize every draft invoice (or the first ``limit``) in billing-date order, issued on its
        billing date — or, ``through_api``, each by POST invoices/{id}/finalize as ``actor_role``,
        issued today as a user's click issues it."""
        from billing.invoicing.lifecycle import invoice_finalize
        from billing.models import Invoice

        actor = self.as_(actor_role).user
        for invoice in Invoice.objects.filter(status="draft").order_by("billing_date", "id")[:limit]:
            if through_api:
                self.post(f"invoices/{invoice.pk}/finalize", role=actor_role, status=200)
                continue
            with transaction.atomic(), self.settle():
                invoice_finalize(invoice=invoice, actor=actor, issue_date=invoice.billing_date)
        return self

    def recognize(self, *periods: str) -> Scenario:
        """A revenue run for each period."""
        for period in periods:
            self.post("revenue-runs", {"period": period})
        return self

    def amend(self, body: dict, *, contract: int | None = None) -> dict:
        """Amend as finance; an added or re-priced custom line first waits for its price override,
        which a second person approves here, so what follows is the modification itself. Returns the
        contract as amended."""
        self.id = contract or self.id
        result = self.post(f"contracts/{self.id}/amend", body)
        for approval in self.get("approvals?status=pending")["results"]:
            if approval["kind"] == "price_override":
                self.post(f"approvals/{approval['id']}/approve", {}, role="approver")
                result = self.get(f"contracts/{self.id}")
        return result

    def approve_as(
        self, role: str = "approver", *, kind: str | None = None, limit: int | None = None
    ) -> Scenario:
        """Approve what waits (of ``kind``), as ``role`` — a person who requested none of it — until
        nothing does: approving a price override activates a contract, which opens its schedules'
        requests in turn. ``limit`` approves only the oldest ``limit`` requests and leaves the rest
        waiting."""
        for _ in range(5):
            pending = [
                a
                for a in self.get("approvals?status=pending")["results"]
                if kind is None or a["kind"] == kind
            ]
            if limit is not None:
                pending = sorted(pending, key=lambda a: a["id"])[:limit]
            if not pending:
                return self
            for approval in pending:
                self.post(f"approvals/{approval['id']}/approve", {"comment": "ok"}, role=role)
            if limit is not None:
                return self
        raise AssertionError("approvals keep opening")

    def check(self) -> Scenario:
        """A compliance run of every check (POST compliance/runs)."""
        self.post("compliance/runs", status=201)
        return self

    def reopen(self, period: str, *, reason: str, status=(200, 201, 202)) -> Scenario:
        """Ask to reopen a closed period (an approver other than the requester decides)."""
        self.post(f"periods/{period}/reopen", {"reason": reason}, status=status)
        return self

    # --- then -----------------------------------------------------------------------------------------

    def modification(self) -> dict:
        return self.get(f"contracts/{self.id}/modifications")["results"][0]

    def allocations(self) -> dict[str, Decimal]:
        pos = self.get(f"contracts/{self.id}")["performance_obligations"]
        return {po["line_keys"][0]: Decimal(po["allocated_amount"]) for po in pos if not po["variable"]}

    def schedule(self) -> dict[str, dict[str, Decimal]]:
        """{line key: {period: amount}} from the approved schedules."""
        keys = {
            po["id"]: po["line_keys"][0] for po in self.get(f"contracts/{self.id}")["performance_obligations"]
        }
        return {
            keys[po["id"]]: {p["period"]: Decimal(p["amount"]) for p in po["schedule"]["periods"]}
            for po in self.get(f"contracts/{self.id}/schedule")["performance_obligations"]
        }

    def recognized(self) -> dict[str, Decimal]:
        pos = self.get(f"contracts/{self.id}/schedule")["performance_obligations"]
        return {po["line_keys"][0]: Decimal(po["recognized_to_date"]) for po in pos if not po["variable"]}
