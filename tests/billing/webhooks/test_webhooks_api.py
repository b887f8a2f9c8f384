"""Webhook API: endpoints CRUD (secret shown once), rotate, delivery log, retry, roles."""

from __future__ import annotations

import pytest

from billing.models import WebhookDelivery, WebhookEndpoint
from billing.webhooks.dispatch import webhooks_dispatch_outbox
from revops.core.audit.models import AuditEvent
from tests.billing.webhooks.conftest import EndpointFactory, OutboxEventFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.billing.webhooks.urls")]

BASE = "/api/v1/webhook-endpoints"


def create(api, **body):
    body = {"url": "https://erp.example.com/hooks", "description": "ERP", **body}
    return api.post(BASE, body, format="json")


def test_create_returns_the_secret_once(api_for):
    api = api_for("finance")
    response = create(api, event_types=["invoice.paid", "invoice.finalized"])
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "url", "description", "event_types", "active", "created_at", "secret"}
    assert body["secret"].startswith("whsec_") and body["active"] is True
    assert body["event_types"] == ["invoice.paid", "invoice.finalized"]
    assert WebhookEndpoint.objects.get().secret == body["secret"]

    listed = api.get(BASE).json()
    assert listed["next"] is None and listed["previous"] is None
    assert [set(r) for r in listed["results"]] == [
        {"id", "url", "description", "event_types", "active", "created_at"}
    ]
    detail = api.get(f"{BASE}/{body['id']}").json()
    assert "secret" not in detail
    assert body["secret"] not in api.get(f"{BASE}/{body['id']}/").content.decode()  # trailing slash works too


def test_create_update_deactivate_and_rotate_are_audited_without_the_secret(api_for):
    api = api_for("finance")
    created = create(api).json()
    pk = created["id"]

    patched = api.patch(
        f"{BASE}/{pk}", {"event_types": ["invoice.voided"], "description": "ERP v2"}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["event_types"] == ["invoice.voided"]
    assert "secret" not in patched.json()

    rotated = api.post(f"{BASE}/{pk}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != created["secret"]
    assert WebhookEndpoint.objects.get(pk=pk).secret == new_secret

    deleted = api.delete(f"{BASE}/{pk}")
    assert deleted.status_code == 200 and deleted.json()["active"] is False
    assert WebhookEndpoint.objects.filter(pk=pk, active=False).exists()  # kept, with its log

    events = AuditEvent.objects.filter(object_type="billing.webhookendpoint", object_id=str(pk)).order_by(
        "seq"
    )
    assert [e.action for e in events] == [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint.deactivated",
    ]
    assert all(e.actor_label == api.user.username for e in events)
    assert events[1].changes["event_types"] == [[], ["invoice.voided"]]
    for event in events:
        assert created["secret"] not in str(event.changes) and new_secret not in str(event.changes)


def test_unknown_event_types_are_400_problems_naming_the_index(api_for):
    response = create(api_for("finance"), event_types=["invoice.paid", "invoice.exploded"])
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 400 and problem["type"].endswith("validation-error")
    assert [e["field"] for e in problem["errors"]] == ["event_types[1]"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", ["not a url", "ftp://files.example.com/x", ""])
def test_bad_urls_are_refused(api_for, url):
    response = create(api_for("finance"), url=url)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["url"]


def test_patch_validates_too(api_for):
    api = api_for("finance")
    pk = create(api).json()["id"]
    response = api.patch(f"{BASE}/{pk}", {"event_types": ["nope"]}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "event_types[0]"
    assert api.get(f"{BASE}/999999").status_code == 404


@pytest.mark.parametrize("role", ["pricing", "auditor", "approver"])
def test_roles_without_billing_write_get_403(api_for, role):
    endpoint = EndpointFactory()
    api = api_for(role)
    assert api.get(BASE).status_code == 200  # reading is fine
    assert create(api).status_code == 403
    assert api.patch(f"{BASE}/{endpoint.pk}", {"description": "x"}, format="json").status_code == 403
    assert api.delete(f"{BASE}/{endpoint.pk}").status_code == 403
    assert api.post(f"{BASE}/{endpoint.pk}/rotate-secret").status_code == 403
    assert not WebhookEndpoint.objects.exclude(pk=endpoint.pk).exists()


def test_anonymous_is_401(client):
    assert client.get(BASE).status_code == 401


def test_delivery_log_filters_and_retry(api_for, monkeypatch, django_capture_on_commit_callbacks):
    from billing.webhooks import tasks

    enqueued: list[int] = []
    monkeypatch.setattr(tasks.deliver_webhook, "delay", lambda pk: enqueued.append(pk))
    api = api_for("finance")
    erp, crm = EndpointFactory(), EndpointFactory(event_types=["invoice.paid"])
    OutboxEventFactory(topic="invoice.finalized")
    OutboxEventFactory(topic="invoice.paid")
    webhooks_dispatch_outbox()
    failed = WebhookDelivery.objects.get(endpoint=crm)
    WebhookDelivery.objects.filter(pk=failed.pk).update(status="failed", attempts=10, last_status_code=500)

    everything = api.get("/api/v1/webhook-deliveries").json()["results"]
    assert len(everything) == 3
    assert set(everything[0]) >= {"id", "endpoint", "event_id", "event_type", "status", "attempts", "payload"}
    by_endpoint = api.get(f"/api/v1/webhook-deliveries?endpoint={erp.pk}").json()["results"]
    assert {d["endpoint"] for d in by_endpoint} == {erp.pk}
    by_status = api.get("/api/v1/webhook-deliveries?status=failed").json()["results"]
    assert [d["id"] for d in by_status] == [failed.pk]
    by_type = api.get("/api/v1/webhook-deliveries?event_type=invoice.paid").json()["results"]
    assert len(by_type) == 2 and {d["event_type"] for d in by_type} == {"invoice.paid"}
    bad = api.get("/api/v1/webhook-deliveries?status=lost")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "status"
    assert len(api.get("/api/v1/webhook-deliveries?page_size=1").json()["results"]) == 1

    with django_capture_on_commit_callbacks(execute=True):
        retried = api.post(f"/api/v1/webhook-deliveries/{failed.pk}/retry")
    assert retried.status_code == 202 and retried.json()["status"] == "pending"
    assert enqueued == [failed.pk]
    assert api_for("auditor").post(f"/api/v1/webhook-deliveries/{failed.pk}/retry").status_code == 403

    WebhookDelivery.objects.filter(pk=failed.pk).update(status="succeeded")
    conflict = api.post(f"/api/v1/webhook-deliveries/{failed.pk}/retry")
    assert conflict.status_code == 409 and "already succeeded" in conflict.json()["detail"]


def test_the_signing_secret_is_never_stored_in_the_idempotency_table(api_for):
    """Issue 12 §10: the stored response of an Idempotency-Key POST held the whsec_ secret."""
    from revops.core.models import IdempotencyKey

    api = api_for("finance")
    created = api.post(
        BASE, {"url": "https://erp.example.com/hooks"}, format="json", HTTP_IDEMPOTENCY_KEY="create-1"
    )
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    pk = created.json()["id"]
    rotated = api.post(f"{BASE}/{pk}/rotate-secret", HTTP_IDEMPOTENCY_KEY="rotate-1")
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != secret
    stored = " ".join(str(row.response_body) for row in IdempotencyKey.objects.all())
    assert IdempotencyKey.objects.count() == 2
    assert secret not in stored and new_secret not in stored and "whsec_" not in stored
    replay = api.post(
        BASE, {"url": "https://erp.example.com/hooks"}, format="json", HTTP_IDEMPOTENCY_KEY="create-1"
    )
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == pk and replay.json()["secret"] is None
