"""Core UI pages: dashboard, job progress (HTMX partial), problem-type docs, error pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from revops.core import selectors
from revops.core.api.problems import SLUGS, problem_json
from revops.core.dashboard import dashboard_widgets
from revops.core.models import Job
from revops.core.search.selectors import search
from revops.core.ui import require_area


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "core/dashboard.html", {"widgets": dashboard_widgets(request.user)})


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
