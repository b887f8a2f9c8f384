"""Sign-in brute force, idle sessions and the Content-Security-Policy (issue 12, point 7)."""

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from revops.core.audit.models import AuditEvent
from revops.core.audit.verify import audit_verify_chain

pytestmark = pytest.mark.django_db
PASSWORD = "Right-pass-4410"


@pytest.fixture
def victim(make_user):
    return make_user("victim", "finance", password=PASSWORD)


def _attempt(client, url, password, username="victim", ip="203.0.113.7"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_forty_wrong_passwords_then_the_right_one_is_locked_out(client, victim, url):
    if url == "/admin/login/":
        victim.is_staff = True
        victim.save()
    statuses = [_attempt(client, url, f"guess-{i}").status_code for i in range(40)]
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses[: limit - 1] == [200] * (limit - 1)  # the form again, with its error
    assert set(statuses[limit - 1 :]) == {429}  # locked from the limit-th failure on
    right = _attempt(client, url, PASSWORD)
    assert right.status_code == 429
    assert "sign-in is locked" in right.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # still signed out

    # The failures up to the lockout and the lockout itself are in the chain — once, not 40 times.
    failed = AuditEvent.objects.filter(action="auth.login_failed", object_id="victim")
    assert failed.count() == limit
    assert failed.first().changes["ip"] == "203.0.113.7" and failed.first().changes["path"] == url
    locked = AuditEvent.objects.filter(action="auth.locked_out", object_id="victim")
    assert locked.count() == 1 and locked.get().changes["ip"] == "203.0.113.7"
    assert not any("guess" in str(e.changes) for e in AuditEvent.objects.all())  # no password logged
    assert audit_verify_chain().valid


def test_lockout_is_per_username_and_address_and_lapses_after_the_cool_off(client, victim):
    from axes.models import AccessAttempt

    for i in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "/login/", f"guess-{i}")
    assert _attempt(client, "/login/", PASSWORD).status_code == 429
    # Another address may still sign in as the victim (the lockout is per username + address).
    other = _attempt(client, "/login/", PASSWORD, ip="198.51.100.9")
    assert other.status_code == 302 and client.session["_auth_user_id"] == str(victim.pk)
    client.logout()
    # After the cool-off the locked address can sign in again.
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert _attempt(client, "/login/", PASSWORD).status_code == 302


def test_unknown_usernames_count_too(client):
    for i in range(settings.AXES_FAILURE_LIMIT + 3):
        _attempt(client, "/login/", f"guess-{i}", username="nobody")
    assert AuditEvent.objects.filter(action="auth.locked_out", object_id="nobody").count() == 1


def test_idle_session_expires_and_activity_renews_it(client, victim):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert _attempt(client, "/login/", PASSWORD).status_code == 302
    key = client.session.session_key
    first = Session.objects.get(session_key=key).expire_date
    assert timedelta(minutes=29) < first - timezone.now() <= timedelta(minutes=30)
    # Activity within the renewal interval writes nothing...
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(minutes=5))
    assert client.get("/").status_code == 200
    assert Session.objects.get(session_key=key).expire_date - timezone.now() < timedelta(minutes=6)
    # ... activity after it (here: the last renewal a minute ago) moves the expiry forward again.
    session = client.session
    session["_idle_renewed"] = int(time.time()) - settings.SESSION_RENEW_SECONDS
    session.save()
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(minutes=5))
    assert client.get("/").status_code == 200
    assert Session.objects.get(session_key=key).expire_date - timezone.now() > timedelta(minutes=29)
    # Idle for longer than the timeout: the session is gone, the next request goes to sign-in.
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# --- Content-Security-Policy -------------------------------------------------------------------
def _directives(header: str) -> dict[str, str]:
    return {d.split()[0]: d.strip() for d in header.split(";") if d.strip()}


def test_strict_csp_on_pages_login_and_admin(client, ui_for):
    for response in (client.get("/login/"), client.get("/admin/login/")):
        policy = _directives(response["Content-Security-Policy"])
        assert policy["default-src"] == "default-src 'self'"
        assert policy["script-src"] == "script-src 'self'"
        assert policy["style-src"] == "style-src 'self'"
        assert policy["frame-ancestors"] == "frame-ancestors 'none'"
        assert policy["object-src"] == "object-src 'none'"
    page = ui_for("finance").get("/")
    header = page["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
HANDLER = re.compile(r"\s(on[a-z]+|hx-on(:[a-z:-]+)?|style)\s*=", re.I)


def test_no_template_has_inline_script_handler_or_style():
    """The policy forbids them, so a template that brings one back breaks in the browser."""
    offenders = []
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, HANDLER):
            for match in pattern.finditer(text):
                offenders.append(f"{path.name}: {match.group(0).strip()}")
    assert offenders == []


# One page of each area finance reads; every one of them exists (a 404 here is a broken page, not a skip).
FINANCE_PAGES = [
    "/",
    "/approvals/",
    "/jobs/",
    "/customers/",
    "/contracts/",
    "/invoices/",
    "/billing/runs/",
    "/usage/ingestion/",
    "/revenue/",
    "/revenue/reports/waterfall/",
    "/compliance/",
]


@pytest.mark.parametrize("url", FINANCE_PAGES)
def test_rendered_pages_have_no_inline_script(ui_for, url):
    response = ui_for("finance").get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html) and not HANDLER.search(html), url
    assert "js/concord.js" in html


def test_api_docs_render_under_their_own_policy(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert not INLINE_SCRIPT.search(html)
    policy = _directives(page["Content-Security-Policy"])
    assert policy["script-src"] == "script-src 'self'"  # still no inline script
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
