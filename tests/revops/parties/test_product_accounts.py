"""Issue 12 §2: a product's revenue maps only to a revenue account (service, API, pricing page, Django
admin), the ledger never credits revenue to a non-revenue account, and moving the mapping of a
product that has postings needs a second person (maker-checker), applied from the approval's payload."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from revops.core.approvals.models import Approval
from revops.core.approvals.services import approval_decide
from revops.core.audit.models import AuditEvent
from revops.parties.models import Product
from revrec.models import Account, JournalLine
from tests.billing.factories import ContractFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, make_user):
    user = make_user("root", "admin")
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    client.user = user
    return client


# --- the attack: map revenue to 1000 Cash -------------------------------------------------------------


@pytest.mark.parametrize("code", ["1000", "1200", "2100", "4900"])
def test_api_refuses_mapping_a_product_to_a_non_revenue_account(api_for, catalog, code):
    pricing = api_for("pricing")
    patched = pricing.patch("/api/v1/products/onboarding", {"revenue_account": code}, format="json")
    assert patched.status_code == 400, patched.content
    body = patched.json()
    assert body["errors"][0]["field"] == "revenue_account"
    assert "revenue account" in body["errors"][0]["message"]
    assert Product.objects.get(code="onboarding").revenue_account == "4000"
    created = pricing.post(
        "/api/v1/products", {"code": "gpu", "name": "GPU", "revenue_account": code}, format="json"
    )
    assert created.status_code == 400 and not Product.objects.filter(code="gpu").exists()


def test_api_accepts_a_revenue_account_and_a_new_revenue_sub_account(api_for, catalog):
    pricing = api_for("pricing")
    ok = pricing.post(
        "/api/v1/products", {"code": "gpu", "name": "GPU", "revenue_account": "4800"}, format="json"
    )
    assert ok.status_code == 201 and ok.json()["revenue_account"] == "4800"  # breakage is a revenue account
    new = pricing.patch("/api/v1/products/gpu", {"revenue_account": "4150"}, format="json")
    assert new.status_code == 200 and new.json()["revenue_account"] == "4150"  # no postings: direct
    unknown = pricing.patch("/api/v1/products/gpu", {"revenue_account": "9999"}, format="json")
    assert unknown.status_code == 400 and "no account 9999" in unknown.json()["errors"][0]["message"]


def test_pricing_page_refuses_cash_as_revenue_account(ui_for, catalog):
    client = ui_for("pricing")
    response = client.post(
        "/pricing/catalog/",
        {
            "kind": "product",
            "product-code": "gpu",
            "product-name": "GPU",
            "product-recognition": "usage",
            "product-revenue_account": "1000",
        },
    )
    assert response.status_code == 400
    assert "asset account" in response.content.decode()
    assert not Product.objects.filter(code="gpu").exists()


def test_django_admin_refuses_cash_as_revenue_account(admin_client, catalog):
    product = Product.objects.get(code="onboarding")
    data = {
        "name": product.name,
        "description": "",
        "recognition": product.recognition,
        "revenue_account": "1000",
        "active": "on",
    }
    response = admin_client.post(f"/admin/contracts/product/{product.pk}/change/", data)
    assert response.status_code == 200 and "asset account" in response.content.decode()
    assert Product.objects.get(pk=product.pk).revenue_account == "4000"
    added = admin_client.post(
        "/admin/contracts/product/add/", {**data, "code": "gpu", "recognition": "usage"}
    )
    assert added.status_code == 200 and not Product.objects.filter(code="gpu").exists()


def test_ledger_never_credits_revenue_to_a_non_revenue_account():
    """A product that (from before this control) maps to 1000 Cash: posting its revenue is refused,
    and no account is made up from an arbitrary code."""
    from revrec.services.ledger import AccountMisconfigured, ensure_chart, revenue_account

    ensure_chart()
    for code in ("1000", "1200", "4900"):
        with pytest.raises(AccountMisconfigured):
            revenue_account(code)
        assert Account.objects.get(code=code).type != "revenue"
    with pytest.raises(AccountMisconfigured):
        revenue_account("1500")
    assert not Account.objects.filter(code="1500").exists()
    sub = revenue_account("4010")
    assert sub.type == "revenue" and sub.role == "revenue_sub"
    assert revenue_account("4000").role == "revenue"


def test_account_types_are_enforced_by_the_database():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(code="7000", name="Made up", type="equity")
    assert {c for c, _ in Account.Type.choices} == {
        "asset",
        "liability",
        "revenue",
        "contra_revenue",
        "expense",
    }


# --- changing the mapping of a product with postings needs a second person ---------------------------


@pytest.fixture
def posted(catalog, django_capture_on_commit_callbacks):
    """The onboarding product has revenue posted (a one-time service recognized in January 2026)."""
    from revrec.models import RevenueSchedule
    from revrec.services.postings import recognize_contract_period
    from revrec.services.schedules import schedule_decide

    with django_capture_on_commit_callbacks(execute=True):
        contract = ContractFactory(
            lines=[{"key": "setup", "product": "onboarding", "amount": "1200.00", "billing": "one_time"}],
            start_date=date(2026, 1, 1),
            end_date=date(2026, 7, 1),
        )
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    checker = get_user_model().objects.create_user("sched-checker")
    checker.groups.add(Group.objects.get(name="approver"))
    for schedule in RevenueSchedule.objects.filter(obligation__contract=contract):
        schedule_decide(schedule=schedule, user=checker, approve=True, comment="ok")
    recognize_contract_period(contract=contract, period="2026-01")
    lines = JournalLine.objects.filter(product__code="onboarding", account__code="4000")
    assert lines.exists() and sum(ln.credit for ln in lines) == Decimal("1200.00")
    return contract


def test_api_mapping_change_of_a_product_with_postings_waits_for_an_approver(api_for, posted):
    pricing, approver = api_for("pricing"), api_for("approver")
    response = pricing.patch("/api/v1/products/onboarding", {"revenue_account": "4010"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["revenue_account"] == "4000" and body["approval"]["status"] == "pending"
    assert Product.objects.get(code="onboarding").revenue_account == "4000"  # not applied yet
    approval = Approval.objects.get(pk=body["approval"]["id"])
    assert approval.kind == "product_account_change"
    assert approval.payload["revenue_account"] == {"from": "4000", "to": "4010"}
    # The maker cannot decide; an approver can.
    assert pricing.post(f"/api/v1/approvals/{approval.pk}/approve", {}, format="json").status_code == 403
    decided = approver.post(f"/api/v1/approvals/{approval.pk}/approve", {"comment": "ok"}, format="json")
    assert decided.status_code == 200
    assert Product.objects.get(code="onboarding").revenue_account == "4010"
    product = Product.objects.get(code="onboarding")
    actions = list(
        AuditEvent.objects.filter(object_type="contracts.product", object_id=str(product.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["product.account_change_requested", "product.updated"]
    applied = AuditEvent.objects.filter(action="product.updated", object_id=str(product.pk)).last()
    assert applied.changes["approval"] == approval.pk and applied.actor_id == approver.user.pk
    assert AuditEvent.objects.filter(action="approval.approved", object_id=str(approval.pk)).exists()


def test_the_requester_cannot_approve_their_own_mapping_change(api_for, posted):
    admin = api_for("admin")
    response = admin.patch("/api/v1/products/onboarding", {"revenue_account": "4010"}, format="json")
    assert response.status_code == 202
    approval_id = response.json()["approval"]["id"]
    own = admin.post(f"/api/v1/approvals/{approval_id}/approve", {}, format="json")
    # The admin role prepares and never decides (segregation of duties): refused before the
    # self-approval rule is even reached.
    assert own.status_code == 403
    assert Product.objects.get(code="onboarding").revenue_account == "4000"


def test_a_rejected_mapping_change_is_not_applied_and_is_audited(api_for, posted):
    pricing, approver = api_for("pricing"), api_for("approver")
    approval_id = pricing.patch(
        "/api/v1/products/onboarding", {"revenue_account": "4010"}, format="json"
    ).json()["approval"]["id"]
    rejected = approver.post(
        f"/api/v1/approvals/{approval_id}/reject", {"comment": "wrong account"}, format="json"
    )
    assert rejected.status_code == 200
    assert Product.objects.get(code="onboarding").revenue_account == "4000"
    assert AuditEvent.objects.filter(action="product.account_change_rejected").count() == 1


def test_a_second_different_change_while_one_is_pending_is_refused(api_for, posted):
    pricing = api_for("pricing")
    assert (
        pricing.patch("/api/v1/products/onboarding", {"revenue_account": "4010"}, format="json").status_code
        == 202
    )
    other = pricing.patch("/api/v1/products/onboarding", {"revenue_account": "4020"}, format="json")
    assert other.status_code == 409
    pending = Approval.objects.get(kind="product_account_change", status="pending")
    assert pending.payload["revenue_account"]["to"] == "4010"


def test_approval_applies_the_payload_and_refuses_a_stale_one(api_for, posted, make_user):
    """What is applied is what was approved: if the mapping moved meanwhile, approving fails and
    nothing changes."""
    pricing = api_for("pricing")
    approval_id = pricing.patch(
        "/api/v1/products/onboarding", {"revenue_account": "4010"}, format="json"
    ).json()["approval"]["id"]
    Product.objects.filter(code="onboarding").update(revenue_account="4030")  # moved behind its back
    checker = make_user("checker", "approver")
    from revops.errors import Conflict

    with pytest.raises(Conflict):
        approval_decide(approval=Approval.objects.get(pk=approval_id), user=checker, approve=True)
    assert Product.objects.get(code="onboarding").revenue_account == "4030"
    assert Approval.objects.get(pk=approval_id).status == "pending"


def test_django_admin_mapping_change_of_a_product_with_postings_waits_for_an_approver(admin_client, posted):
    product = Product.objects.get(code="onboarding")
    data = {
        "name": product.name,
        "description": "",
        "recognition": product.recognition,
        "revenue_account": "4010",
        "active": "on",
    }
    response = admin_client.post(f"/admin/contracts/product/{product.pk}/change/", data, follow=True)
    assert response.status_code == 200
    assert "waits for an approver" in response.content.decode()
    assert Product.objects.get(pk=product.pk).revenue_account == "4000"
    approval = Approval.objects.get(kind="product_account_change", status="pending")
    assert approval.requested_by_id == admin_client.user.pk
    assert approval.payload["revenue_account"] == {"from": "4000", "to": "4010"}


def test_recognition_method_change_of_a_product_with_postings_waits_for_an_approver(api_for, posted):
    """Abuse test F10: ratable → point in time (or any method) on a product with postings used to
    apply at once; now it is a ``product_recognition_change`` request, applied from its payload by a
    second person and audited."""
    pricing, approver = api_for("pricing"), api_for("approver")
    before = Product.objects.get(code="onboarding").recognition
    to = "ratable_daily" if before != "ratable_daily" else "point_in_time"
    response = pricing.patch("/api/v1/products/onboarding", {"recognition": to}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["recognition"] == before and body["approval"]["status"] == "pending"
    assert Product.objects.get(code="onboarding").recognition == before  # not applied yet
    approval = Approval.objects.get(pk=body["approval"]["id"])
    assert approval.kind == "product_recognition_change"
    assert approval.payload["recognition"] == {"from": before, "to": to}
    assert pricing.post(f"/api/v1/approvals/{approval.pk}/approve", {}, format="json").status_code == 403
    decided = approver.post(f"/api/v1/approvals/{approval.pk}/approve", {"comment": "ok"}, format="json")
    assert decided.status_code == 200, decided.content
    product = Product.objects.get(code="onboarding")
    assert product.recognition == to
    applied = AuditEvent.objects.filter(action="product.updated", object_id=str(product.pk)).last()
    assert applied.changes["recognition"] == {"from": before, "to": to}
    assert applied.changes["approval"] == approval.pk and applied.actor_id == approver.user.pk


def test_recognition_method_change_without_postings_applies_at_once(api_for, catalog):
    pricing = api_for("pricing")
    assert pricing.post("/api/v1/products", {"code": "gpu", "name": "GPU"}, format="json").status_code == 201
    response = pricing.patch("/api/v1/products/gpu", {"recognition": "point_in_time"}, format="json")
    assert response.status_code == 200, response.content
    assert Product.objects.get(code="gpu").recognition == "point_in_time"
