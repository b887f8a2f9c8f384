"""Browser-facing security: the Content-Security-Policy header, the client address the login lockout
counts by, and sign-in failures and lockouts in the audit chain.

The UI serves every script from this origin (static/js: htmx, Chart.js, concord.js) and has no inline
script, event handler or style attribute, so the default policy is strict. A route prefix may have its
own policy (``CSP_ROUTE_POLICIES``): the Swagger UI page needs inline styles.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone

from revops.core.audit.actions import AuditAction


def _policy_for(path: str) -> str:
    for prefix, policy in getattr(settings, "CSP_ROUTE_POLICIES", {}).items():
        if path.startswith(prefix):
            return policy
    return settings.CSP_POLICY


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.CSP_POLICY and "Content-Security-Policy" not in response:
            header = (
                "Content-Security-Policy-Report-Only"
                if settings.CSP_REPORT_ONLY
                else "Content-Security-Policy"
            )
            response[header] = _policy_for(request.path)
        return response


class IdleSessionMiddleware:
    """Idle timeout: a signed-in session's expiry (SESSION_COOKIE_AGE) moves forward with activity.

    Rather than writing the session on every request (SESSION_SAVE_EVERY_REQUEST: a write per page,
    per htmx poll, and concurrent writes of one row), the expiry is renewed at most once every
    SESSION_RENEW_SECONDS, so a session ends between SESSION_COOKIE_AGE minus that and
    SESSION_COOKIE_AGE after its last request. Sits just after SessionMiddleware."""

    KEY = "_idle_renewed"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.get("_auth_user_id"):
            now = int(time.time())
            if now - int(session.get(self.KEY, 0)) >= settings.SESSION_RENEW_SECONDS:
                session[self.KEY] = now  # modified: SessionMiddleware saves it with a fresh expiry
        return response


def client_ip(request) -> str:
    """The client address: the socket peer, or — behind TRUSTED_PROXIES proxies — the address the
    outermost trusted proxy saw (the same rule as the API's rate limit)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return remote


def _username(credentials) -> str:
    return str((credentials or {}).get("username") or "")[:150]


def _audit(action: AuditAction, *, username: str, request, extra: dict | None = None) -> None:
    from django.db import transaction

    from revops.core.audit.services import audit_record

    changes = {"username": username, "ip": client_ip(request) if request is not None else ""}
    if request is not None:
        changes["path"] = request.path[:200]
    changes.update(extra or {})
    with transaction.atomic():
        audit_record(
            actor="anonymous",
            action=action,
            object_type="auth.login",
            object_id=username[:64],
            changes=changes,
        )


def login_failed(sender, credentials=None, request=None, **kwargs) -> None:
    """A wrong password (or unknown user) is an audit event; attempts refused during a lockout are
    not (the lockout itself is), so a locked-out attacker cannot flood the chain."""
    if request is not None and getattr(request, "axes_locked_out", False):
        return
    _audit(AuditAction.AUTH_LOGIN_FAILED, username=_username(credentials), request=request)


def locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """One audit event per lockout (axes signals every refused attempt while it lasts)."""
    from revops.core.audit.models import AuditEvent

    username = str(username or "")[:150]
    since = timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    if AuditEvent.objects.filter(
        action=AuditAction.AUTH_LOCKED_OUT,
        object_id=username[:64],
        occurred_at__gte=since,
        changes__ip=ip_address or "",
    ).exists():
        return
    _audit(
        AuditAction.AUTH_LOCKED_OUT,
        username=username,
        request=request,
        extra={
            "ip": ip_address or "",
            "failures": settings.AXES_FAILURE_LIMIT,
            "minutes": settings.LOGIN_LOCKOUT_MINUTES,
        },
    )


def connect() -> None:
    from axes import signals as axes_signals
    from django.contrib.auth.signals import user_login_failed

    # Ahead of axes' own receiver: this one must see the failure that locks the account before axes
    # marks the request as locked out (which it also does for attempts refused during a lockout).
    user_login_failed.disconnect(axes_signals.handle_user_login_failed)
    user_login_failed.connect(login_failed, dispatch_uid="security-login-failed")
    user_login_failed.connect(axes_signals.handle_user_login_failed)
    axes_signals.user_locked_out.connect(locked_out, dispatch_uid="security-locked-out")


class NulQueryMiddleware:
    """A NUL character in a query parameter (``/search/?q=ab%00``) is never meaningful and PostgreSQL
    refuses it in a text value: a 500 from any filter or search that passed it on. One step for every
    page, before any view reads ``request.GET``: the character is dropped and the page shows the rest
    (its filter form shows the value it used). The API refuses it with a 400 problem+json naming the
    parameter (revops.core.api.views), so ``/api/`` is left to it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        has_nul = any("\x00" in key + "".join(values) for key, values in request.GET.lists())
        if has_nul and not request.path.startswith("/api/"):
            cleaned = QueryDict(mutable=True)
            for key, values in request.GET.lists():
                cleaned.setlist(key.replace("\x00", ""), [v.replace("\x00", "") for v in values])
            cleaned._mutable = False
            request.GET = cleaned
            request.META["QUERY_STRING"] = cleaned.urlencode()
        return self.get_response(request)
