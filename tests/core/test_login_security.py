"""Sign-in brute force and idle sessions (issue 12, point 7)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from compliance.audit import audit_verify_chain
from compliance.models import AuditEvent

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
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_COOKIE_AGE == 30 * 60
    assert _attempt(client, "/login/", PASSWORD).status_code == 302
    key = client.session.session_key
    first = Session.objects.get(session_key=key).expire_date
    assert timedelta(minutes=29) < first - timezone.now() <= timedelta(minutes=30)
    # Activity moves the expiry forward.
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(minutes=5))
    assert client.get("/").status_code == 200
    assert Session.objects.get(session_key=key).expire_date - timezone.now() > timedelta(minutes=29)
    # Idle for longer than the timeout: the session is gone, the next request goes to sign-in.
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
