"""Issue 12.4: a coupon is created or changed only through an approved request (API, UI); Django admin
is read-only for coupons; every change is an audit event with its before and after."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from billing.models import Coupon, InvoiceLine
from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent
from tests.billing.factories import ContractFactory

pytestmark = pytest.mark.django_db

LAUNCH = {
    "code": "launch-20",
    "name": "Launch offer",
    "kind": "percent",
    "value": "20",
    "duration": "repeating",
    "duration_periods": 3,
}


def _approved_coupon(api_for, body=LAUNCH):
    pricing, approver = api_for("pricing"), api_for("approver")
    response = pricing.post("/api/v1/coupons", body, format="json")
    assert response.status_code == 202, response.json()
    approval = response.json()["approval"]
    assert not Coupon.objects.filter(code=body["code"]).exists()  # nothing before the approval
    decided = approver.post(f"/api/v1/approvals/{approval['id']}/approve", {"comment": ""}, format="json")
    assert decided.status_code == 200, decided.json()
    return Coupon.objects.get(code=body["code"]), pricing, approver


def test_admin_cannot_change_or_add_a_coupon(client, make_user, api_for):
    """The attack: an admin changed 20 %/3 periods to 100 %/forever in Django admin, unaudited."""
    coupon, *_ = _approved_coupon(api_for)
    root = make_user("root", "admin")
    root.is_staff = root.is_superuser = True
    root.save()
    client.force_login(root)
    assert client.get("/admin/billing/coupon/").status_code == 200  # still visible
    changed = client.post(
        f"/admin/billing/coupon/{coupon.pk}/change/",
        {**LAUNCH, "value": "100", "duration": "forever", "duration_periods": "", "active": "on"},
    )
    assert changed.status_code == 403
    added = client.post("/admin/billing/coupon/add/", {**LAUNCH, "code": "free", "value": "100"})
    assert added.status_code == 403
    coupon.refresh_from_db()
    assert (coupon.value, coupon.duration, coupon.duration_periods) == (Decimal(20), "repeating", 3)
    assert not Coupon.objects.filter(code="free").exists()


def test_api_coupon_change_takes_effect_only_once_approved_and_is_audited(api_for):
    coupon, pricing, approver = _approved_coupon(api_for)
    created = AuditEvent.objects.get(action="coupon.created", object_id=coupon.code)
    assert created.changes["after"]["value"] == "20" and created.changes["before"] is None
    response = pricing.patch(
        "/api/v1/coupons/launch-20", {"value": "100", "duration": "forever"}, format="json"
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["value"] == "20" and body["duration"] == "repeating"  # unchanged until approved
    assert body["approval"]["payload"]["after"]["value"] == "100"
    coupon.refresh_from_db()
    assert (coupon.value, coupon.duration, coupon.version) == (Decimal(20), "repeating", 1)
    again = pricing.patch("/api/v1/coupons/launch-20", {"value": "90"}, format="json")
    assert again.status_code == 409  # one pending change per coupon

    own = pricing.post(f"/api/v1/approvals/{body['approval']['id']}/approve", {"comment": ""}, format="json")
    assert own.status_code in (403, 409)
    decided = approver.post(
        f"/api/v1/approvals/{body['approval']['id']}/approve", {"comment": "ok"}, format="json"
    )
    assert decided.status_code == 200, decided.json()
    coupon.refresh_from_db()
    assert (coupon.value, coupon.duration, coupon.duration_periods, coupon.version) == (
        Decimal(100),
        "forever",
        None,
        2,
    )
    event = AuditEvent.objects.get(action="coupon.changed", object_id=coupon.code)
    assert event.changes["before"]["value"] == "20" and event.changes["after"]["value"] == "100"
    assert event.changes["approval"] == body["approval"]["id"]
    assert pricing.get("/api/v1/coupons/launch-20").json()["version"] == 2


def test_a_coupon_change_approved_after_the_coupon_moved_on_applies_nothing(api_for):
    coupon, pricing, approver = _approved_coupon(api_for)
    first = pricing.patch("/api/v1/coupons/launch-20", {"value": "30"}, format="json").json()["approval"]
    Coupon.objects.filter(pk=coupon.pk).update(value=Decimal(25))  # changed behind the request's back
    response = approver.post(f"/api/v1/approvals/{first['id']}/approve", {"comment": ""}, format="json")
    assert response.status_code == 409
    coupon.refresh_from_db()
    assert coupon.value == Decimal(25) and Approval.objects.get(pk=first["id"]).status == "pending"


def test_coupon_request_validation(api_for):
    pricing = api_for("pricing")
    bad = pricing.post("/api/v1/coupons", {**LAUNCH, "value": "120"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "value"
    fixed = pricing.post("/api/v1/coupons", {**LAUNCH, "kind": "fixed"}, format="json")
    assert fixed.status_code == 400 and fixed.json()["errors"][0]["field"] == "currency"
    assert api_for("finance").post("/api/v1/coupons", LAUNCH, format="json").status_code == 403
    assert not Approval.objects.filter(kind="coupon_change").exists()


def test_approved_coupon_applies_to_the_invoice(api_for, catalog):
    from billing.invoicing.build import invoice_build
    from billing.invoicing.coupons import coupon_apply
    from tests.builders import NOW

    coupon, *_ = _approved_coupon(api_for)
    contract = ContractFactory(lines=[{"key": "platform", "product": "platform", "plan": "hybrid"}])
    with transaction.atomic():
        coupon_apply(coupon=coupon, contract=contract, applied_from=contract.start_date)
        invoice = invoice_build(contract_id=contract.pk, billing_date=date(2026, 1, 1), now=NOW)
    discount = InvoiceLine.objects.get(invoice=invoice, kind="discount")
    assert discount.amount == Decimal("-20.00")  # 20 % of the 100.00 platform fee


def test_ui_coupon_request_and_change_wait_for_an_approver(ui_for, make_user, client):
    ui = ui_for("pricing")
    response = ui.post("/pricing/coupons/", {**LAUNCH, "active": "on"}, follow=True)
    assert response.status_code == 200
    assert b"waits for approval" in response.content
    assert not Coupon.objects.exists()
    approval = Approval.objects.get(kind="coupon_change")
    client.force_login(make_user("checker", "approver"))
    client.post("/approvals/", {"ids": [approval.pk], "action": "approve"})
    coupon = Coupon.objects.get(code="launch-20")
    client.force_login(ui.user)
    change = client.post(
        f"/pricing/coupons/{coupon.code}/",
        {**LAUNCH, "value": "100", "duration": "forever", "duration_periods": "", "active": "on"},
        follow=True,
    )
    assert b"waits for approval" in change.content
    coupon.refresh_from_db()
    assert coupon.value == Decimal(20)
    assert Approval.objects.filter(kind="coupon_change", status="pending").count() == 1
    client.force_login(make_user("checker2", "approver"))
    queue = client.get("/approvals/?kind=coupon_change").content.decode()
    assert "Coupon change" in queue and "version 1 → 2" in queue
    assert "<strong>forever</strong>" in queue and "<strong>100</strong>" in queue
