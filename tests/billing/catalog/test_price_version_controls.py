"""Issue 12 §3: a price version never takes effect in a closed period, and one that is back-dated or
changes what existing contracts pay is published only once someone else approves it (maker-checker,
the impact view as the approver's preview) — through the API, the pricing pages and Django admin."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Invoice, PlanVersion
from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent
from revrec.models import AccountingPeriod
from tests.billing.factories import ContractFactory
from tests.builders import NOW, day, send_events
from tests.revops.factories import CustomerFactory

RECEIVED = datetime(2026, 11, 1, tzinfo=UTC)  # October's usage arrived before the invoice was built

pytestmark = pytest.mark.django_db

HYBRID = [
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
            "tiers": [{"up_to": 1000, "unit_amount": "0"}, {"up_to": None, "unit_amount": "0.01"}]
        },
    },
]


def priced(api_unit: str = "0.01", fee: str = "100.00") -> list[dict]:
    platform, api = (dict(c) for c in HYBRID)
    platform["properties"] = {"amount": fee}
    api["properties"] = {
        "tiers": [{"up_to": 1000, "unit_amount": "0"}, {"up_to": None, "unit_amount": api_unit}]
    }
    return [platform, api]


def close(period: str) -> None:
    """September 2026 is closed (the books' state the attack starts from)."""
    year, month = (int(x) for x in period.split("-"))
    start = date(year, month, 1)
    AccountingPeriod.objects.update_or_create(
        period=period,
        defaults={
            "start": start,
            "end": date(year + month // 12, month % 12 + 1, 1),
            "status": AccountingPeriod.Status.CLOSED,
            "closed_at": timezone.now(),
        },
    )


@pytest.fixture
def draft_invoice(catalog, django_capture_on_commit_callbacks):
    """An open draft invoice (billing date 1 Nov 2026) with October's API calls on the hybrid plan."""
    from billing.invoicing.build import invoice_build

    with django_capture_on_commit_callbacks(execute=True):
        contract = ContractFactory(
            customer=CustomerFactory(name="Acme"),
            lines=[{"key": "sub", "product": "platform", "plan": "hybrid"}],
            start_date=date(2026, 1, 1),
            end_date=date(2036, 1, 1),
        )
    send_events(
        contract.customer,
        [
            {"code": "api_calls", "timestamp": day(date(2026, 10, 10)), "transaction_id": f"o{i}"}
            for i in range(1500)
        ],
        received_at=RECEIVED,
    )
    invoice = invoice_build(contract_id=contract.pk, billing_date=date(2026, 11, 1), now=NOW)
    assert invoice.status == Invoice.Status.DRAFT
    close("2026-09")
    return invoice


# --- closed periods stay closed ---------------------------------------------------------------------


def test_api_refuses_a_version_effective_in_a_closed_period(api_for, draft_invoice):
    pricing = api_for("pricing")
    before = PlanVersion.objects.filter(plan__code="hybrid").count()
    response = pricing.post(
        "/api/v1/plans/hybrid/versions",
        {"effective_from": "2026-09-01", "charges": priced(api_unit="5.00")},
        format="json",
    )
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["field"] == "effective_from" and "closed accounting period" in error["message"]
    assert PlanVersion.objects.filter(plan__code="hybrid").count() == before
    # Earlier than the latest closed period is closed too.
    early = pricing.post(
        "/api/v1/plans/hybrid/versions", {"effective_from": "2025-06-01", "charges": priced()}, format="json"
    )
    assert early.status_code == 400
    # And a plan cannot start there either.
    plan = pricing.post(
        "/api/v1/plans",
        {
            "code": "new",
            "name": "New",
            "currency": "USD",
            "effective_from": "2026-09-15",
            "charges": priced(),
        },
        format="json",
    )
    assert plan.status_code == 400 and plan.json()["errors"][0]["field"] == "effective_from"


def test_a_draft_cannot_be_published_once_its_period_closed(api_for, draft_invoice):
    pricing = api_for("pricing")
    created = pricing.post(
        "/api/v1/plans/hybrid/versions",
        {"effective_from": "2026-10-01", "charges": priced(), "status": "draft"},
        format="json",
    )
    assert created.status_code == 201
    number = created.json()["number"]
    close("2026-10")
    published = pricing.post(f"/api/v1/plans/hybrid/versions/{number}/publish")
    assert published.status_code == 400
    assert published.json()["errors"][0]["field"] == "effective_from"
    assert PlanVersion.objects.get(plan__code="hybrid", number=number).status == "draft"
    assert not Approval.objects.filter(kind="price_version_publish", status="pending").exists()


def test_pricing_pages_refuse_a_version_in_a_closed_period(ui_for, draft_invoice):
    client = ui_for("pricing")
    response = client.post(
        "/pricing/plans/hybrid/versions/new", {"effective_from": "2026-09-01", "copy_from": "1"}
    )
    assert response.status_code == 400 and "closed accounting period" in response.content.decode()
    assert PlanVersion.objects.filter(plan__code="hybrid").count() == 1
    # A draft made before the close cannot be published into it.
    draft = PlanVersion.objects.create(
        plan_id=PlanVersion.objects.get(plan__code="hybrid", number=1).plan_id,
        number=2,
        effective_from=date(2026, 9, 1),
    )
    from billing.models import Charge

    for c in PlanVersion.objects.get(plan__code="hybrid", number=1).charges.all():
        Charge.objects.create(
            version=draft,
            position=c.position,
            code=c.code,
            name=c.name,
            product=c.product,
            meter=c.meter,
            model=c.model,
            properties=c.properties,
            timing=c.timing,
        )
    confirm = client.get("/pricing/plans/hybrid/versions/2/publish")
    assert confirm.status_code == 400 and "closed accounting period" in confirm.content.decode()
    refused = client.post("/pricing/plans/hybrid/versions/2/publish")
    assert refused.status_code == 400 and "closed accounting period" in refused.content.decode()
    assert PlanVersion.objects.get(pk=draft.pk).status == "draft"


# --- the re-pricing attack: back-dated versions need an approver -------------------------------------


def test_backdated_version_does_not_reprice_an_open_draft_until_approved(api_for, draft_invoice):
    pricing, approver = api_for("pricing"), api_for("approver")
    total = draft_invoice.total
    response = pricing.post(
        "/api/v1/plans/hybrid/versions",
        {"effective_from": "2026-10-01", "charges": priced(api_unit="5.00")},
        format="json",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "draft" and body["approval"]["status"] == "pending"
    assert any("back-dated" in r for r in body["approval"]["reasons"])
    assert any("existing contract" in r for r in body["approval"]["reasons"])
    refreshed = pricing_refresh(api_for, draft_invoice)
    assert refreshed == total  # still the prices in force
    assert api_for("finance").get("/api/v1/plans/hybrid?as_of=2026-10-15").json()["current_version"] == 1
    # The maker cannot decide; the approver sees the impact view and signs off.
    approval = Approval.objects.get(pk=body["approval"]["id"])
    assert approval.kind == "price_version_publish" and approval.requested_by_id == pricing.user.pk
    assert pricing.post(f"/api/v1/approvals/{approval.pk}/approve", {}, format="json").status_code == 403
    assert approver.post(f"/api/v1/approvals/{approval.pk}/approve", {}, format="json").status_code == 200
    version = PlanVersion.objects.get(plan__code="hybrid", number=body["number"])
    assert version.status == "published" and version.published_by_id == pricing.user.pk
    assert pricing_refresh(api_for, draft_invoice) > total  # now, and only now, re-priced
    actions = list(
        AuditEvent.objects.filter(object_type="billing.planversion", object_id=str(version.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["plan_version.created", "plan_version.publish_requested", "plan_version.published"]
    published = AuditEvent.objects.get(action="plan_version.published", object_id=str(version.pk))
    assert published.changes["approval"] == approval.pk and published.actor_id == approver.user.pk


def pricing_refresh(api_for, invoice) -> Decimal:
    response = api_for("finance").post(f"/api/v1/invoices/{invoice.pk}/refresh")
    assert response.status_code == 200, response.content
    return Decimal(response.json()["total"])


def test_the_requester_cannot_approve_their_own_price_version(api_for, draft_invoice):
    """The maker never checks: not even a pricing admin who also holds the approver role under a
    recorded segregation-of-duties exception; the admin role decides nothing at all (403)."""
    from django.contrib.auth.models import Group
    from django.db import transaction

    from revops.core.services.roles import sod_exception_record

    maker = api_for("pricing", username="pricing-maker")
    with transaction.atomic():
        sod_exception_record(user=maker.user, reason="Two-person team, signed off by the CFO", actor="cli")
        maker.user.groups.add(Group.objects.get(name="approver"))
    response = maker.post(
        "/api/v1/plans/hybrid/versions", {"effective_from": "2026-10-01", "charges": priced()}, format="json"
    )
    assert response.status_code == 202
    approval_id = response.json()["approval"]["id"]
    own = maker.post(f"/api/v1/approvals/{approval_id}/approve", {}, format="json")
    assert own.status_code == 409 and own.json()["type"] == "/problems/self-approval"
    admin = api_for("admin").post(f"/api/v1/approvals/{approval_id}/approve", {}, format="json")
    assert admin.status_code == 403
    assert PlanVersion.objects.get(plan__code="hybrid", number=2).status == "draft"


def test_a_future_version_that_changes_what_contracts_pay_needs_an_approver(api_for, draft_invoice):
    pricing = api_for("pricing")
    later = timezone.localdate() + timedelta(days=30)
    response = pricing.post(
        "/api/v1/plans/hybrid/versions",
        {"effective_from": str(later), "charges": priced(fee="150.00")},
        format="json",
    )
    assert response.status_code == 202
    reasons = response.json()["approval"]["reasons"]
    assert reasons and all("back-dated" not in r for r in reasons)
    # The same prices again change nothing anyone pays: published at once.
    same = pricing.post(
        "/api/v1/plans/hybrid/versions",
        {"effective_from": str(later + timedelta(days=1)), "charges": priced()},
        format="json",
    )
    assert same.status_code == 201 and same.json()["status"] == "published"


def test_versions_of_a_plan_no_contract_uses(api_for, catalog):
    pricing = api_for("pricing")
    later = timezone.localdate() + timedelta(days=10)
    direct = pricing.post(
        "/api/v1/plans/tokens/versions",
        {"effective_from": str(later), "charges": [_tokens_charge("0.000003")]},
        format="json",
    )
    assert direct.status_code == 201 and direct.json()["status"] == "published"
    backdated = pricing.post(
        "/api/v1/plans/tokens/versions",
        {"effective_from": str(timezone.localdate() - timedelta(days=1)), "charges": [_tokens_charge("0.1")]},
        format="json",
    )
    assert backdated.status_code == 202 and backdated.json()["approval"]["reasons"][0].startswith(
        "back-dated"
    )


def _tokens_charge(price: str) -> dict:
    return {
        "code": "tokens",
        "product": "tokens",
        "meter": "llm_tokens",
        "model": "standard",
        "properties": {"unit_amount": price},
    }


def test_pricing_page_publish_submits_a_backdated_version_for_approval(ui_for, draft_invoice, make_user):
    client = ui_for("pricing")
    created = client.post(
        "/pricing/plans/hybrid/versions/new", {"effective_from": "2026-10-01", "copy_from": "1"}
    )
    assert created.status_code == 302
    confirm = client.get("/pricing/plans/hybrid/versions/2/publish").content.decode()
    assert "Needs an approver" in confirm and "Submit version 2 for approval" in confirm
    response = client.post("/pricing/plans/hybrid/versions/2/publish", follow=True)
    assert "submitted for approval" in response.content.decode()
    version = PlanVersion.objects.get(plan__code="hybrid", number=2)
    assert version.status == "draft"
    approval = Approval.objects.get(kind="price_version_publish", status="pending")
    # While it waits, the draft cannot change or be discarded.
    edit = client.post(
        "/pricing/plans/hybrid/versions/2/edit", {"effective_from": "2026-10-02", "notes": "x"}, follow=True
    )
    assert "waiting for an approver" in edit.content.decode()
    assert PlanVersion.objects.get(pk=version.pk).effective_from == date(2026, 10, 1)
    client.post("/pricing/plans/hybrid/versions/2/discard", {"confirm": "1"})
    assert PlanVersion.objects.filter(pk=version.pk).exists()
    # The approver's queue shows the impact view under the request, and approving publishes it.
    approver = make_user("checker", "approver")
    client.force_login(approver)
    queue = client.get("/approvals/").content.decode()
    assert "impact on customers" in queue and "Acme" in queue
    decided = client.post("/approvals/", {"ids": [approval.pk], "action": "approve", "comment": "ok"})
    assert decided.status_code == 302
    assert PlanVersion.objects.get(pk=version.pk).status == "published"


def test_approval_publishes_only_what_was_submitted(api_for, draft_invoice, make_user):
    from revops.core.approvals.services import approval_decide
    from revops.errors import Conflict

    pricing = api_for("pricing")
    body = pricing.post(
        "/api/v1/plans/hybrid/versions", {"effective_from": "2026-10-01", "charges": priced()}, format="json"
    ).json()
    version = PlanVersion.objects.get(plan__code="hybrid", number=body["number"])
    version.charges.filter(code="platform").update(properties={"amount": "99999.00"})  # behind its back
    with pytest.raises(Conflict):
        approval_decide(
            approval=Approval.objects.get(pk=body["approval"]["id"]),
            user=make_user("checker", "approver"),
            approve=True,
        )
    assert PlanVersion.objects.get(pk=version.pk).status == "draft"


def test_django_admin_cannot_publish_or_discard_a_version_waiting_for_approval(
    client, make_user, api_for, draft_invoice
):
    body = (
        api_for("pricing")
        .post(
            "/api/v1/plans/hybrid/versions",
            {"effective_from": "2026-10-01", "charges": priced()},
            format="json",
        )
        .json()
    )
    version = PlanVersion.objects.get(plan__code="hybrid", number=body["number"])
    admin_user = make_user("root", "admin")
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    page = client.get(f"/admin/billing/planversion/{version.pk}/change/")
    assert page.status_code == 200
    change = client.post(f"/admin/billing/planversion/{version.pk}/change/", {"status": "published"})
    assert change.status_code == 403
    delete = client.post(f"/admin/billing/planversion/{version.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert PlanVersion.objects.get(pk=version.pk).status == "draft"
