"""CSRF on every UI form (issue 8 §6).

- Every non-API route comes from the URL resolver; none is ``csrf_exempt``, and a POST to each one
  from a logged-in browser that lacks the token is refused with 403 by the CSRF check, before the
  view runs (nothing is written).
- Every ``<form method="post">`` in the templates carries ``{% csrf_token %}``; every page, rendered
  with real records, carries a non-empty ``csrfmiddlewaretoken`` in each POST form and sends the
  ``X-CSRFToken`` header (``hx-headers`` on an ancestor) from each element that posts with HTMX.
- The token-authenticated API is exempt by design: a browser session does not authenticate it, and an
  unknown API path answers a 404 problem for every method (never an HTML CSRF page).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import get_resolver

from revops.core.audit.models import AuditEvent
from tests.api.world import seed_world
from tests.security.routes import fill_path, walk_patterns

pytestmark = pytest.mark.django_db

UI_ROUTES = [
    (regex, pattern)
    for regex, pattern in walk_patterns(get_resolver().url_patterns)
    if not regex.startswith(("api/", "admin/"))
]
UNSAFE_HX = ("hx-post", "hx-put", "hx-patch", "hx-delete")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def _sample_path(regex: str, values: dict[str, str] | None = None) -> str:
    defaults = {
        "pk": "1",
        "job_id": "1",
        "line_id": "1",
        "payment_id": "1",
        "note_id": "1",
        "sid": "1",
        "code": "hybrid",
        "number": "1",
        "index": "0",
        "key": "2026-01",
        "slug": "validation-error",
        "fmt": "csv",
    }
    return "/" + fill_path(regex, {**defaults, **(values or {})})


@pytest.fixture
def browser(make_user):
    """A logged-in admin's browser that enforces CSRF like a real one, holding the csrftoken cookie."""
    user = make_user("csrf-admin", "admin")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/").status_code == 200
    assert settings.CSRF_COOKIE_NAME in client.cookies
    return client


def test_no_ui_view_is_csrf_exempt():
    exempt = [regex for regex, p in UI_ROUTES if getattr(p.callback, "csrf_exempt", False)]
    assert exempt == []
    assert len(UI_ROUTES) >= 40  # the walk found the UI


@pytest.mark.parametrize(("regex", "pattern"), UI_ROUTES, ids=[r for r, _ in UI_ROUTES])
def test_a_post_without_the_token_is_refused(regex, pattern, browser):
    before = AuditEvent.objects.count()
    path = _sample_path(regex)
    for data in ({}, {"comment": "x", "reason": "x", "name": "x"}):
        response = browser.post(path, data)
        assert response.status_code == 403, (path, response.status_code)
        assert b"CSRF" in response.content, path  # Django's CSRF failure, not a role refusal
    # The same, with a forged header value and a cookie the attacker cannot read:
    response = browser.post(path, {}, HTTP_X_CSRFTOKEN="forged-token-value-0123456789abcdef0123456789")
    assert response.status_code == 403, path
    assert AuditEvent.objects.count() == before


def test_the_token_lets_the_same_post_through(browser):
    """Control: the 403 above is the missing token, nothing else."""
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    response = browser.post(
        "/customers/new/",
        {"external_id": "csrf-ok", "name": "CSRF OK", "currency": "USD", "timezone": "UTC"},
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code in (200, 302), response.status_code
    assert b"CSRF verification failed" not in response.content


def test_login_and_admin_login_need_the_token(make_user):
    make_user("csrf-login", "finance")
    anonymous = Client(enforce_csrf_checks=True)
    for path in ("/login/", "/admin/login/"):
        response = anonymous.post(path, {"username": "csrf-login", "password": "pw-123456!"})
        assert response.status_code == 403, path
    assert "_auth_user_id" not in anonymous.session


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/no-such-endpoint", "/api/v1/customers/x/y/z", "/api/v9/x"])
def test_api_paths_answer_problems_not_csrf_pages(browser, method, path):
    response = getattr(browser, method)(path, "{}", content_type="application/json")
    assert response.status_code == 404, (method, path, response.status_code)
    assert response["Content-Type"] == "application/problem+json"


def test_a_browser_session_does_not_authenticate_the_api(browser):
    """The API takes bearer tokens only, so a victim's session cookie cannot drive it (no CSRF)."""
    response = browser.post("/api/v1/customers", {"external_id": "x", "name": "x", "currency": "USD"})
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


# --- the templates and the rendered pages ------------------------------------------------------------

TEMPLATE_DIRS = [Path(d) for t in settings.TEMPLATES for d in t.get("DIRS", [])]
FORM_TAG = re.compile(r"<form\b[^>]*>", re.IGNORECASE | re.DOTALL)
POST_METHOD = re.compile(r"""\bmethod\s*=\s*["']?post\b""", re.IGNORECASE)


def _templates() -> list[Path]:
    return sorted(p for d in TEMPLATE_DIRS for p in d.rglob("*.html"))


def test_every_post_form_in_the_templates_has_the_csrf_token():
    missing, found = [], 0
    for template in _templates():
        text = template.read_text()
        for match in FORM_TAG.finditer(text):
            if not POST_METHOD.search(match.group(0)):
                continue
            found += 1
            end = text.find("</form>", match.end())
            body = text[match.end() : end if end != -1 else len(text)]
            if "{% csrf_token %}" not in body:
                line = text.count("\n", 0, match.start()) + 1
                missing.append(f"{template}:{line}")
    assert missing == [], missing
    assert found >= 30, found


def _has_csrf_header(attrs: dict) -> bool:
    raw = attrs.get("hx-headers")
    if not raw:
        return False
    try:
        return bool(json.loads(raw).get("X-CSRFToken"))
    except (ValueError, AttributeError):
        return False


class FormAudit(HTMLParser):
    """POST forms without a token, and HTMX writes without the CSRF header, in one rendered page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.form: dict | None = None
        self.post_forms: list[dict] = []
        self.hx_writes = 0
        self.unprotected: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self.form = {"action": a.get("action", ""), "token": False}
            self.post_forms.append(self.form)
        if tag == "input" and a.get("name") == "csrfmiddlewaretoken" and a.get("value") and self.form:
            self.form["token"] = True
        if any(attr in a for attr in UNSAFE_HX):
            self.hx_writes += 1
            if not any(_has_csrf_header(x) for _, x in [*self.stack, (tag, a)]):
                self.unprotected.append(f"<{tag} {' '.join(k for k in a if k in UNSAFE_HX)}>")
        if tag not in VOID:
            self.stack.append((tag, a))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break


def _audit(html: str) -> FormAudit:
    audit = FormAudit()
    audit.feed(html)
    audit.close()
    return audit


@pytest.fixture
def world(django_capture_on_commit_callbacks, settings, tmp_path, monkeypatch):
    from billing.webhooks import delivery as webhook_delivery

    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr(
        webhook_delivery, "post_webhook", lambda *a, **k: webhook_delivery.AttemptResult(status_code=200)
    )
    return seed_world(lambda: django_capture_on_commit_callbacks(execute=True))


def _values_for(regex: str, world) -> dict[str, str]:
    """Path parameters that address the world's records, by the route's prefix."""
    from billing.models import InvoiceLine
    from revrec.models import JournalEntry

    by_prefix = {
        "contracts/": world.contract_id,
        "revenue/contracts/": world.contract_id,
        "customers/": world.customer.pk,
        "invoices/": (world.ids["invoice"] or [1])[0],
        "billing/runs/": (world.ids["billing_run"] or [1])[0],
        "compliance/exceptions/": (world.ids["exception"] or [1])[0],
        "usage/quarantine/": (world.ids["quarantine"] or [1])[0],
        "billing/webhooks/endpoints/": (world.ids["webhook_endpoint"] or [1])[0],
        "billing/webhooks/deliveries/": (world.ids["webhook_delivery"] or [1])[0],
        "revenue/ledger/entries/": JournalEntry.objects.values_list("pk", flat=True).first() or 1,
    }
    pk = next((v for prefix, v in by_prefix.items() if regex.startswith(prefix)), 1)
    line = InvoiceLine.objects.filter(invoice_id=(world.ids["invoice"] or [0])[0]).first()
    return {
        "pk": str(pk),
        "job_id": str((world.ids["job"] or [1])[0]),
        "line_id": str(line.pk if line else 1),
    }


def test_rendered_pages_carry_the_token(world, make_user, client):
    client.force_login(make_user("csrf-render", "admin"))
    pages, post_forms, hx_writes, problems = 0, 0, 0, []
    for regex, _ in UI_ROUTES:
        path = _sample_path(regex, _values_for(regex, world))
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        pages += 1
        audit = _audit(response.content.decode())
        post_forms += len(audit.post_forms)
        hx_writes += audit.hx_writes
        problems += [
            f"{path}: form -> {f['action'] or '(self)'} has no token"
            for f in audit.post_forms
            if not f["token"]
        ]
        problems += [f"{path}: {tag} sends no X-CSRFToken" for tag in audit.unprotected]
    login = _audit(Client().get("/login/").content.decode())
    problems += ["/login/: form has no token" for f in login.post_forms if not f["token"]]
    assert problems == [], problems
    assert pages >= 25 and post_forms >= 20 and hx_writes >= 3, (pages, post_forms, hx_writes)
