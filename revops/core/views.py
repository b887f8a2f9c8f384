"""Core UI pages: dashboard, job progress (HTMX partial), problem-type docs, error pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect, render

from revops.core import selectors
from revops.core.api.problems import SLUGS, problem_json
from revops.core.approvals.registry import approval_kinds
from revops.core.approvals.selectors import approvals_waiting
from revops.core.dashboard import dashboard_widgets
from revops.core.models import Job
from revops.core.notifications.models import Notification
from revops.core.notifications.services import notification_mark_read
from revops.core.search.selectors import search
from revops.core.ui import require_area
from revops.roles import can_decide

QUEUE_SHOWN = 5


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The cards a user's roles may read; an approver's dashboard leads with their queue (the oldest
    requests they may decide, never their own)."""
    context = {"widgets": dashboard_widgets(request.user)}
    if can_decide(request.user):
        waiting = approvals_waiting(request.user)
        context["queue"] = list(waiting[:QUEUE_SHOWN])
        context["queue_total"] = (
            waiting.count() if len(context["queue"]) == QUEUE_SHOWN else len(context["queue"])
        )
        labels = {kind: handler.label for kind, handler in approval_kinds().items()}
        for approval in context["queue"]:
            approval.kind_label = labels.get(approval.kind, approval.kind)
    return render(request, "core/dashboard.html", context)


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """The signed-in user's notifications, newest first; POST marks one (``id``) or all read."""
    if request.method == "POST":
        ids = request.POST.getlist("id") or None
        notification_mark_read(user=request.user, ids=ids)
        return redirect("notifications")
    notes = Notification.objects.filter(user=request.user).order_by("-id")[:100]
    return render(request, "core/notifications.html", {"notes": notes})


@login_required
def search_view(request: HttpRequest) -> HttpResponse:
    """Find by number or name across everything the user's roles may open: the page, its HTMX results
    (as you type) and the command palette's compact list (``?palette=1``)."""
    query, sections = search(user=request.user, text=request.GET.get("q"))
    context = {"query": query, "sections": sections, "count": sum(len(s.hits) for s in sections)}
    if request.GET.get("palette"):
        return render(request, "core/search.html#palette", context)
    if request.htmx and request.htmx.target == "search-results":
        return render(request, "core/search.html#results", context)
    return render(request, "core/search.html", context)


@login_required
@require_area("jobs")
def job_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind") or None
    return render(request, "core/jobs.html", {"jobs": selectors.job_list(kind=kind), "kind": kind})


@login_required
@require_area("jobs")
def job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress-bar partial; it re-polls itself every second until the job finishes."""
    job = get_object_or_404(Job, pk=job_id)
    return render(request, "core/jobs.html#job-progress", {"job": job})


PROBLEM_DOCS = {
    "validation-error": "One or more fields are invalid. `errors` lists each one with its JSON path.",
    "unauthenticated": "Send `Authorization: Bearer <token>`. Tokens come from `manage.py create_api_token`.",
    "forbidden": "Your token's role may not perform this operation.",
    "not-found": "No such endpoint or record.",
    "method-not-allowed": "The endpoint exists but not with this HTTP method.",
    "conflict": "The request conflicts with the record's current state (for example approving your own request).",
    "invalid-transition": "The record's workflow does not allow this step from its current status.",
    "unprocessable": "The request is well-formed but a business rule refuses it; `detail` says which.",
    "idempotency-key-reused": "The Idempotency-Key was used before with a different request. Use a new key.",
    "rate-limited": "Too many requests; retry after the number of seconds in Retry-After.",
    "server-error": "An unexpected error. Nothing was half-saved; retry, and report it if it persists.",
}


def problem_doc(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in PROBLEM_DOCS:
        raise Http404("Unknown problem type")
    status = next((code for code, (s, _t) in SLUGS.items() if s == slug), 422)
    title = next((t for _c, (s, t) in SLUGS.items() if s == slug), slug.replace("-", " ").capitalize())
    return render(
        request,
        "core/problem.html",
        {"slug": slug, "title": title, "status": status, "text": PROBLEM_DOCS[slug]},
    )


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_json(404, f"No API endpoint at {request.path}.")
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_json(500, "An unexpected error occurred. Nothing was half-saved; please retry.")
    return render(request, "500.html", status=500)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says: a permanent redirect to the static icon,
    resolved per request (the production static storage's manifest is read at request time, never when
    the URLconf is imported)."""
    from django.templatetags.static import static

    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
