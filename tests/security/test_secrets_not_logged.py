"""Secrets are never logged (issue 8 §6): raw API tokens, passwords and webhook signing secrets appear
in no log record (every logger the project configures, captured at DEBUG) and in no audit event,
through the flows that handle them: API requests with a bearer token (good and bad), the
``create_api_token`` command, webhook endpoint creation, secret rotation and a signed delivery, and
logging in (right and wrong password). The signing secret also appears in no API response except
the two that hand it over once (create, rotate)."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from revops.core.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "S3cret-Passw0rd-for-logs!"
PROJECT_LOGGERS = (
    "",
    "django",
    "django.request",
    "django.security",
    "revops",
    "billing",
    "revrec",
    "compliance",
    "celery",
)


@pytest.fixture
def logs(caplog):
    """Every record at DEBUG from the root and the project's loggers (SQL logging stays at WARNING, as
    revops/settings/base.py configures it: see the last test)."""
    for name in PROJECT_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    parts += [repr(v) for k, v in vars(record).items() if k not in ("msg", "args", "exc_info")]
    return "\n".join(parts)


def assert_nowhere(secret: str, caplog, *, what: str) -> None:
    assert secret and len(secret) >= 8
    assert caplog.records, "nothing was captured: the capture itself is broken"
    leaked = [r.name for r in caplog.records if secret in _record_text(r)]
    assert leaked == [], f"{what} logged by {leaked}"
    for event in AuditEvent.objects.all():
        text = json.dumps(
            {"changes": event.changes, "object_id": event.object_id, "actor": event.actor_label},
            default=str,
        )
        assert secret not in text, f"{what} in audit event {event.action}"


def test_api_requests_with_a_token(api_for, client, logs):
    api = api_for("finance")
    raw = api._credentials["HTTP_AUTHORIZATION"].split()[1]
    logging.getLogger("django.request").debug("capture check")
    assert api.get("/api/v1/customers").status_code == 200
    assert api.post("/api/v1/customers", {"name": "no id"}, format="json").status_code == 400
    assert api.get("/api/v1/customers/nope").status_code == 404
    assert api_for("auditor").post("/api/v1/customers", {}, format="json").status_code == 403
    wrong = raw[:-4] + "abcd"
    assert client.get("/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {wrong}").status_code == 401
    assert client.get("/api/v1/customers", HTTP_AUTHORIZATION=f"Token {raw} extra").status_code == 401
    assert_nowhere(raw, logs, what="the raw API token")
    assert_nowhere(wrong, logs, what="a wrong token")


def test_create_api_token_command(logs):
    out = io.StringIO()
    call_command("create_api_token", "cli-user", "--role", "finance", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    logging.getLogger("revops").info("capture check")
    assert_nowhere(raw, logs, what="the token printed by create_api_token")
    event = AuditEvent.objects.get(action="api_token.created")
    assert event.changes["prefix"] == raw[:12] and len(raw) > 20


def test_webhook_secret_at_creation_rotation_and_delivery(
    api_for, logs, monkeypatch, django_capture_on_commit_callbacks
):
    from billing.models import WebhookDelivery, WebhookEndpoint
    from billing.webhooks import delivery as webhook_delivery
    from billing.webhooks.dispatch import webhooks_dispatch_outbox
    from billing.webhooks.signing import verify
    from revops.core.models import OutboxEvent

    sent = []

    def receiver(url, body, headers, **kwargs):
        sent.append((body, headers))
        return webhook_delivery.AttemptResult(status_code=200)

    monkeypatch.setattr(webhook_delivery, "post_webhook", receiver)
    api = api_for("admin")
    created = api.post(
        "/api/v1/webhook-endpoints",
        {"url": "https://hooks.example.com/in", "description": "d"},
        format="json",
    )
    assert created.status_code == 201
    first = created.json()["secret"]
    endpoint_id = created.json()["id"]
    rotated = api.post(f"/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret").json()["secret"]
    assert rotated != first
    assert WebhookEndpoint.objects.get(pk=endpoint_id).secret == rotated
    OutboxEvent.objects.create(  # what finalizing an invoice publishes (no inline consumers here)
        topic="invoice.finalized", object_type="billing.invoice", object_id="1", payload={"id": 1}
    )
    webhooks_dispatch_outbox()
    delivery = WebhookDelivery.objects.get()
    assert webhook_delivery.webhook_deliver(delivery_id=delivery.pk) == "succeeded"
    body, headers = sent[-1]
    verify(rotated, headers, body, now=int(headers["webhook-timestamp"]))  # signed with the current secret

    for path in (
        "/api/v1/webhook-endpoints",
        f"/api/v1/webhook-endpoints/{endpoint_id}",
        "/api/v1/webhook-deliveries",
        f"/api/v1/webhook-deliveries/{delivery.pk}",
    ):
        response = api.get(path)
        assert response.status_code == 200 and rotated.encode() not in response.content, path
        assert first.encode() not in response.content, path
    patched = api.patch(f"/api/v1/webhook-endpoints/{endpoint_id}", {"description": "e"}, format="json")
    assert rotated.encode() not in patched.content
    with django_capture_on_commit_callbacks(execute=True):
        retried = api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/retry")
    assert rotated.encode() not in retried.content

    for secret in (first, rotated):
        assert_nowhere(secret, logs, what="a webhook signing secret")
    assert not any(secret in h for _, hs in sent for h in hs.values() for secret in (first, rotated))


def test_login_right_and_wrong(make_user, client, logs):
    make_user("login-user", "finance", password=PASSWORD)
    wrong = "Wrong-" + PASSWORD
    assert client.post("/login/", {"username": "login-user", "password": wrong}).status_code == 200
    assert client.post("/login/", {"username": "login-user", "password": PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    user = get_user_model().objects.get(username="login-user")
    assert PASSWORD not in user.password  # stored hashed
    for secret in (PASSWORD, wrong):
        assert_nowhere(secret, logs, what="a password")


def test_sql_is_not_logged_even_at_debug():
    """With DEBUG on, Django logs every SQL statement with its parameters (a webhook secret is stored
    in clear, a password hash, a token hash) on django.db.backends at DEBUG; the project keeps that
    logger at WARNING whatever LOG_LEVEL says."""
    from django.conf import settings

    configured = settings.LOGGING["loggers"]["django.db.backends"]["level"]
    assert logging.getLevelName(configured) >= logging.WARNING
    assert logging.getLogger("django.db.backends").getEffectiveLevel() >= logging.WARNING
