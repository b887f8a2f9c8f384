"""Month-end page of a period (issue 15 §6): its stages with live progress, what blocks the close, and
the action that starts the next stage for those allowed to. The stage board is a partial that polls
itself while a run is under way — every two seconds, or less often when the board takes long to read
(a 100,000-contract month), so polling never loads the database much — and stops once nothing runs.

Actions call the same services as the API and the stage pages (billing run, revenue run, check run,
period close); each is allowed by its own area (revops.roles), so an approver may run the checks and
close, finance may also bill and recognize, and auditors and the pricing role only read."""

from __future__ import annotations

import math
import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from compliance.confirmations import CONFIRMED_STEPS, month_end_confirmation
from compliance.month_end import allowed_action, finalize_filter, month_end, month_end_key
from compliance.views.close import checklist_fix_url
from revops.core.confirm import confirm_page, is_confirmed
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.formatting import day
from revops.roles import can_write
from revrec.services.periods import current_key, next_key, previous_key

POLL_SECONDS = 2  # at least; a board that takes longer to read polls less often (POLL_LOAD)
POLL_LOAD = 5  # poll no sooner than five times the board's own read time: at most ~20% of a database
BADGES = {
    "not_started": "",
    "running": "badge-running",
    "done": "badge-ok",
    "blocked": "badge-warn",
    "failed": "badge-failed",
}
BARS = {"running": "running", "done": "completed", "failed": "failed"}
RUN_LABELS = {
    "finalization_run": "Finalization run",
    "billing_run": "Billing run",
    "revenue_run": "Revenue run",
    "check_run": "Check run",
}
# stage -> the counts shown on its card, in order, with their labels
FACTS = {
    "billing_run": [
        ("invoices_created", "invoices built"),
        ("skipped", "nothing to bill"),
        ("parked", "parked"),
        ("pending", "pending"),
    ],
    "drafts": [("drafts", "drafts left")],
    "finalization": [
        ("finalized", "finalized"),
        ("drafts_left", "drafts left"),
        ("invoices_posted", "invoice entries in the period's ledger"),
        ("voided", "voided"),
        ("run_parked", "parked by the run"),
    ],
    "revenue_run": [
        ("entries_created", "entries by the run"),
        ("recognition_entries", "recognition entries"),
        ("contracts_due", "contracts with revenue left to recognize"),
    ],
    "checks": [
        ("failing_checks", "checks failing"),
        ("open_exceptions", "open exceptions"),
        ("critical_exceptions", "critical"),
    ],
    "close": [("checklist_done", "checklist items done")],
}

# run kind -> (url name, takes the run id, query)
RUN_PAGES = {
    "billing_run": ("billing-run", True, ""),
    "finalization_run": ("jobs", False, "?kind=invoice_finalization"),
    "revenue_run": ("revenue-runs", False, ""),
    "check_run": ("compliance", False, ""),
}
# stage -> where its records are listed
STAGE_LINKS = {
    "drafts": ("invoices", "?status=draft", "Review queue"),
    "finalization": ("invoices", "?status=finalized", "Finalized invoices"),
    "revenue_run": ("revenue-ledger-lines", "?period={key}&kind=recognition", "Recognition lines"),
    "checks": ("compliance-exceptions", "?status=open", "Open exceptions"),
    "close": ("compliance-period", "", "Close checklist"),
}


def _url(name: str, *args, query: str = "") -> str | None:
    try:
        return reverse(name, args=args) + query
    except NoReverseMatch:
        return None


def _board(request, key: str) -> dict:
    started = time.perf_counter()
    state = month_end(key=key)
    elapsed = time.perf_counter() - started
    stages, nxt = [], state.next_stage
    for stage in state.stages:
        run_url = None
        if stage.run is not None:
            name, with_id, query = RUN_PAGES[stage.run.kind]
            run_url = _url(name, *([stage.run.id] if with_id else []), query=query)
        link = STAGE_LINKS.get(stage.code)
        records = None
        if link:
            name, query, text = link
            url = _url(name, key) if name == "compliance-period" else _url(name, query=query.format(key=key))
            records = {"url": url, "text": text} if url else None
        stages.append(
            {
                "stage": stage,
                "badge": BADGES[stage.status],
                "bar": BARS.get(stage.status, "queued"),
                "run_label": RUN_LABELS[stage.run.kind] if stage.run else "",
                "facts": [(label, stage.counts[k]) for k, label in FACTS[stage.code] if k in stage.counts],
                "run_url": run_url,
                "records": records,
                "action": allowed_action(stage, request.user),
                "next": nxt is not None and stage.code == nxt.code,
            }
        )
    nxt_row = next((row for row in stages if row["next"]), None)
    then_row = None
    if nxt_row is not None and nxt_row["stage"].code == "drafts":
        then_row = next(
            (row for row in stages if row["stage"].code == "finalization" and row["action"]), None
        )
    for row in stages:
        if row["stage"].code == "close" and "checklist_total" in row["stage"].counts:
            row["facts"] = [
                (f"of {row['stage'].counts['checklist_total']} checklist items done", row["facts"][0][1])
            ]
    blockers = [{"item": i, "url": checklist_fix_url(i.code, key)} for i in state.blockers]
    return {
        "key": key,
        "me": state,
        "stages": stages,
        "blockers": blockers,
        "poll": max(POLL_SECONDS, math.ceil(elapsed * POLL_LOAD)) if state.running else None,
        "previous": previous_key(key),
        "following": next_key(key) if next_key(key) <= next_key(current_key()) else None,
        "next_row": nxt_row,
        # Reviewing drafts is people's work: the next step offers the review queue and, for those who
        # may, the finalization that follows it.
        "then_row": then_row,
        "can_review": can_write(request.user, "billing"),  # reviewers get a button, readers a link
    }


@login_required
@require_area("periods")
def month_end_page(request, key: str):
    return render(request, "compliance/month_end.html", _board(request, key))


@login_required
@require_area("periods")
def month_end_current(request):
    """/compliance/month-end/: the month end under way (the first period still to close)."""
    return redirect("compliance-month-end", key=month_end_key())


@login_required
@require_area("periods")
def month_end_live(request, key: str):
    """The stage board alone; it re-polls itself while a stage runs and stops once none does."""
    return render(request, "compliance/month_end.html#board", _board(request, key))


def _offered(request, key: str, code: str):
    """The period's month end, when it offers stage ``code``'s action now to this user (404 when it
    does not offer it, 403 when the user's role does not write its area)."""
    state = month_end(key=key)
    stage = next((s for s in state.stages if s.action is not None and s.action.code == code), None)
    if stage is None:
        raise Http404("Nothing to start.")
    if allowed_action(stage, request.user) is None:
        raise PermissionDenied("Your role does not allow this.")
    return state


def _start(request, key: str, code: str):
    """Take stage ``code``'s action for ``key`` (only if the period's month end offers it now and the
    user's role writes its area); returns the message to show."""
    state = _offered(request, key, code)
    if code == "billing_run":
        from billing.invoicing.runs import billing_run_start

        run = billing_run_start(as_of=state.end, actor=request.user)
        return f"Billing run #{run.pk} as of {day(run.as_of)} started."
    if code == "revenue_run":
        from revrec.services.runs import revenue_run_start

        run = revenue_run_start(period=key, actor=request.user)
        return f"Revenue run #{run.pk} for {key} started."
    if code == "finalize":
        from billing.invoicing.finalization import finalization_start

        run = finalization_start(filters=finalize_filter(key), actor=request.user)
        return (
            f"Finalization run #{run.pk} started: the drafts holding fees or usage of {key} are being "
            "finalized."
        )
    if code == "compliance_run":
        from compliance.services.exceptions import compliance_run

        run = compliance_run(trigger="manual", actor=request.user)
        failing = sum(1 for r in run.results.values() if r["status"] == "fail")
        return f"Check run #{run.pk}: {len(run.results) - failing} of {len(run.results)} checks pass."
    if code == "close":
        from compliance.services.close import period_close_request

        approval = period_close_request(key=key, actor=request.user)
        return f"Asked an approver to close {key} (request #{approval.pk}): another approver must approve it."
    raise Http404("Nothing to start.")


@login_required
@require_area("periods")
@require_POST
def month_end_start(request, key: str, code: str):
    if code == "finalize":
        # The review queue's bulk-finalize confirmation: count and total per currency first, and the
        # digest of exactly those drafts — a set or total changed since starts nothing.
        from billing.views.invoices import finalize_confirmation

        back = reverse("compliance-month-end", args=[key])
        try:
            _offered(request, key, code)
        except Http404:  # finalized or started elsewhere since the page was shown
            messages.warning(
                request, f"Nothing was finalized: the month end of {key} offers no finalization now."
            )
            return redirect(back)
        try:
            page = finalize_confirmation(
                request,
                filters=finalize_filter(key),
                back=back,
                action=request.path,
                back_label=f"Month end {key}",
                of=key,
                scope=f"Every draft holding fees or usage of {key} (the drafts that block its close)",
            )
        except DomainError as error:
            messages.error(request, f"Nothing was finalized — {error.detail}")
            return redirect(back)
        if page is not None:
            return page
    elif code in CONFIRMED_STEPS and not is_confirmed(request):
        _offered(request, key, code)
        return confirm_page(request, month_end_confirmation(key, code))
    try:
        text = _start(request, key, code)
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, text)
    return redirect("compliance-month-end", key=key)
