"""The month-end board's stages, one builder per stage (billing run, drafts awaiting review,
finalization, revenue run, compliance checks, close): each reads aggregates or single rows only."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from django.db.models import Count, Exists, Min, OuterRef, Q

from billing.models import BillingRun, BillingRunItem, FinalizationRun, Invoice, InvoiceLine
from compliance.models import CheckRun, ComplianceException
from compliance.month_end.model import (
    BILLING,
    BLOCKED,
    CHECKS,
    CLOSE,
    DONE,
    DRAFTS,
    FAILED,
    FINALIZATION,
    NOT_STARTED,
    OPEN_RUN,
    REVENUE,
    RUN_NAMES,
    RUNNING,
    Action,
    Progress,
    RunRef,
    Stage,
    first_line,
    job_progress,
)
from compliance.services.close import ChecklistItem
from revops.formatting import day
from revrec.models import AccountingPeriod, RevenueRun, RevenueRunItem
from revrec.services.periods import current_key


def billing_stage(start: date, end: date) -> Stage:
    # The run that bills the month: a run of every customer as of the period end or later (the close
    # checklist's rule), the latest first.
    run = (
        BillingRun.objects.filter(as_of__gte=end, customers=[]).select_related("job").order_by("-id").first()
    )
    if run is None:
        return Stage(
            BILLING,
            "Billing run",
            NOT_STARTED,
            f"No billing run of all customers as of {day(end)} or later yet.",
            action=Action("billing_run", f"Start billing run as of {day(end)}", "billing"),
        )
    items = BillingRunItem.objects.filter(run=run).aggregate(
        done=Count("id", filter=Q(status=BillingRunItem.Status.DONE)),
        skipped=Count("id", filter=Q(status=BillingRunItem.Status.SKIPPED)),
        parked=Count("id", filter=Q(status=BillingRunItem.Status.FAILED)),
        pending=Count("id", filter=Q(status=BillingRunItem.Status.PENDING)),
    )
    counts = {"invoices_created": run.invoices_created, **items}
    ref = RunRef(
        "billing_run",
        run.pk,
        run.status,
        run.started_at or run.created_at,
        run.finished_at,
        job_progress(run.job),
        first_line(run.job.error),
    )
    restart = Action("billing_run", f"Run billing again as of {day(end)}", "billing")
    as_of = day(run.as_of)
    if run.status in OPEN_RUN:
        status, summary, action = RUNNING, f"Run #{run.pk} as of {as_of} is billing every customer.", None
    elif run.status == BillingRun.Status.FAILED:
        status, summary, action = FAILED, f"Run #{run.pk} as of {as_of} failed: {ref.error}", restart
    elif items["parked"]:
        status, action = BLOCKED, restart
        summary = (
            f"Run #{run.pk} as of {as_of}: {items['parked']:,} contracts parked (not billed); "
            "fix them and run again — what is billed is skipped."
        )
    else:
        status, action = DONE, None
        summary = f"Run #{run.pk} as of {as_of}: {run.invoices_created:,} invoices built."
    return Stage(
        BILLING, "Billing run", status, summary, counts=counts, run=ref, action=action, progress=ref.progress
    )


def period_drafts(end: date) -> dict:
    """Drafts holding fees or usage of the period or earlier (the close checklist's count): billed
    before its end, or billed later with a line whose service starts before it ends. Two queries
    without an OR, so neither reads every invoice line ever written: the drafts by billing date (one
    pass), then the few billed later, each probed for such a line. {"n", "oldest", "to_finalize"}:
    ``to_finalize`` is ``n`` — the month end finalizes exactly the drafts that block the close
    (:func:`finalize_filter`)."""
    drafts = Invoice.objects.filter(status=Invoice.Status.DRAFT)
    early = drafts.aggregate(
        n=Count("id", filter=Q(billing_date__lt=end)),
        oldest=Min("billing_date", filter=Q(billing_date__lt=end)),
    )
    early_line = InvoiceLine.objects.filter(invoice=OuterRef("pk"), service_start__lt=end)
    late = (
        drafts.filter(billing_date__gte=end)
        .filter(Exists(early_line))
        .aggregate(n=Count("id"), oldest=Min("billing_date"))
    )
    oldest = min((d for d in (early["oldest"], late["oldest"]) if d is not None), default=None)
    n = early["n"] + late["n"]
    return {"n": n, "oldest": oldest, "to_finalize": n}


def drafts_stage(end: date, billing: Stage, drafts: dict) -> Stage:
    n = drafts["n"]
    counts = {"drafts": n}
    if n:
        return Stage(
            DRAFTS,
            "Drafts awaiting review",
            BLOCKED,
            f"{n:,} draft invoice{'s hold' if n != 1 else ' holds'} fees or usage of the period"
            + (f" (the oldest billed {day(drafts['oldest'])})" if drafts["oldest"] else "")
            + ": review them, then finalize or void.",
            status_label="Awaiting review",
            counts=counts,
        )
    if billing.status == DONE:
        return Stage(
            DRAFTS,
            "Drafts awaiting review",
            DONE,
            "No draft holds fees or usage of the period.",
            counts=counts,
        )
    return Stage(
        DRAFTS,
        "Drafts awaiting review",
        NOT_STARTED,
        "Drafts appear here as the billing run builds them.",
        counts=counts,
    )


def finalize_filter(key: str) -> dict:
    """The invoice list's filter the month end finalizes with: exactly the drafts that block the close
    of ``key`` (the close checklist's and :func:`period_drafts`' count) — billed before its end, or
    billed later with a line whose service starts before it ends (``holds_period``)."""
    return {"status": "draft", "holds_period": key}


def finalization_stage(key: str, start: date, end: date, billing: Stage, drafts: dict, posted: int) -> Stage:
    # The period's billing dates: its first day (fees in advance) through its end (the month-end run,
    # usage in arrears) — an invoice dated the end bills both months, so it counts in both.
    window = Invoice.objects.filter(billing_date__gte=start, billing_date__lte=end).aggregate(
        finalized=Count("id", filter=Q(status__in=[Invoice.Status.FINALIZED, Invoice.Status.PAID])),
        voided=Count("id", filter=Q(status=Invoice.Status.VOID)),
    )
    left = drafts["n"]
    counts = {**window, "drafts_left": left, "invoices_posted": posted}
    total = window["finalized"] + left
    progress = Progress(window["finalized"], total, window["finalized"] * 100 // total) if total else None
    to_finalize = drafts["to_finalize"]
    finalize = (
        Action(
            "finalize",
            f"Finalize {to_finalize:,} draft{'s' if to_finalize != 1 else ''} holding fees or usage of {key}",
            "billing",
        )
        if to_finalize
        else None
    )
    # Not a run started for another period's drafts (the month end's holds_period filter), nor one
    # started after this period closed: a later month's run made a closed period look out of date again.
    runs = FinalizationRun.objects.select_related("job").exclude(
        Q(filters__has_key="holds_period") & ~Q(filters__holds_period=key)
    )
    closed_at = AccountingPeriod.objects.filter(period=key, status="closed").values_list(
        "closed_at", flat=True
    )
    if closed_at.first() is not None:
        runs = runs.filter(created_at__lte=closed_at.first())
    run = runs.order_by("-id").first()
    ref = None
    if run is not None:
        ref = RunRef(
            "finalization_run",
            run.pk,
            run.status,
            run.started_at or run.created_at,
            run.finished_at,
            job_progress(run.job),
            first_line(run.job.error),
        )
        counts.update(run_finalized=run.finalized, run_parked=run.failed)
        if run.status in OPEN_RUN:
            summary = f"Run #{run.pk} is finalizing drafts: numbering, posting and audit, batch by batch."
            return Stage(FINALIZATION, "Finalization", RUNNING, summary, "", counts, ref, None, ref.progress)
        if run.status == FinalizationRun.Status.FAILED and left:
            summary = f"Run #{run.pk} failed: {ref.error}" if ref.error else f"Run #{run.pk} failed."
            return Stage(FINALIZATION, "Finalization", FAILED, summary, "", counts, ref, finalize, progress)
        if run.failed and left:
            summary = (
                f"Run #{run.pk} parked {run.failed:,} draft{'s' if run.failed != 1 else ''} (not finalized, "
                f"no number taken); {left:,} draft{'s' if left != 1 else ''} left: fix and finalize again."
            )
            return Stage(FINALIZATION, "Finalization", BLOCKED, summary, "", counts, ref, finalize, progress)
    if left:
        summary = (
            f"{window['finalized']:,} invoices finalized, {left:,} draft{'s' if left != 1 else ''} left."
            + _posted_note(key, window["finalized"], posted)
        )
        status = NOT_STARTED if not window["finalized"] else BLOCKED
        label = "Not started" if status == NOT_STARTED else "Drafts left"
        return Stage(FINALIZATION, "Finalization", status, summary, label, counts, ref, finalize, progress)
    if window["finalized"] or billing.status == DONE:
        summary = (
            f"{window['finalized']:,} invoices finalized (numbered and posted); no draft left."
            + _posted_note(key, window["finalized"], posted)
            if window["finalized"]
            else "Nothing to finalize: the billing run built no invoice for the period."
        )
        return Stage(FINALIZATION, "Finalization", DONE, summary, counts=counts, run=ref, progress=progress)
    summary = "Finalization follows the billing run and the review of its drafts."
    return Stage(FINALIZATION, "Finalization", NOT_STARTED, summary, counts=counts, run=ref)


def _posted_note(key: str, finalized: int, posted: int) -> str:
    """Why the invoices finalized (by billing date) and the invoice entries in the period's ledger (by
    the day each invoice was finalized) differ, when they do."""
    if finalized == posted:
        return ""
    return (
        f" Finalized counts the invoices billed in the period; {posted:,} invoice "
        f"entr{'ies are' if posted != 1 else 'y is'} in {key}'s ledger: an invoice posts on the day it "
        "is finalized, so one finalized in another month posts there."
    )


def revenue_stage(key: str, recognized: int, due: int = 0) -> Stage:
    run = RevenueRun.objects.filter(period=key).select_related("job").order_by("-id").first()
    counts = {"recognition_entries": recognized}
    if key > current_key():
        summary = f"{key} has not begun: its revenue runs once it has."
        return Stage(REVENUE, "Revenue run", NOT_STARTED, summary, counts=counts)
    start = Action("revenue_run", f"Start revenue run for {key}", "revenue")
    if run is None:
        return Stage(
            REVENUE, "Revenue run", NOT_STARTED, f"No revenue run for {key} yet.", counts=counts, action=start
        )
    items = RevenueRunItem.objects.filter(run=run).aggregate(
        contracts=Count("id"),
        parked=Count("id", filter=Q(status=RevenueRunItem.Status.FAILED)),
    )
    counts.update(entries_created=run.entries_created, **items)
    ref = RunRef(
        "revenue_run",
        run.pk,
        run.status,
        run.job.started_at or run.created_at,
        run.finished_at,
        job_progress(run.job),
        first_line(run.error or run.job.error),
    )
    again = Action("revenue_run", f"Run revenue again for {key}", "revenue")
    if run.status in OPEN_RUN:
        summary = f"Run #{run.pk} is posting what the schedules earned in {key}."
        return Stage(REVENUE, "Revenue run", RUNNING, summary, counts=counts, run=ref, progress=ref.progress)
    if run.status == RevenueRun.Status.FAILED:
        summary = f"Run #{run.pk} failed: {ref.error}" if ref.error else f"Run #{run.pk} failed."
        return Stage(
            REVENUE,
            "Revenue run",
            FAILED,
            summary,
            counts=counts,
            run=ref,
            action=again,
            progress=ref.progress,
        )
    if items["parked"]:
        summary = (
            f"Run #{run.pk}: {items['parked']:,} contract{'s' if items['parked'] != 1 else ''} parked "
            "(not recognized); fix them and run again — what is posted is not posted twice."
        )
        return Stage(
            REVENUE,
            "Revenue run",
            BLOCKED,
            summary,
            counts=counts,
            run=ref,
            action=again,
            progress=ref.progress,
        )
    counts["contracts_due"] = due
    if due:
        # Recognizable revenue through the period's end posted or approved after the run (usage of
        # drafts finalized later, a schedule approved later): the run no longer covers the period.
        summary = (
            f"Run #{run.pk} is out of date — {due:,} contract{'s have' if due != 1 else ' has'} revenue "
            f"to recognize through {key}; run again."
        )
        return Stage(
            REVENUE,
            "Revenue run",
            NOT_STARTED,
            summary,
            status_label="Out of date",
            counts=counts,
            run=ref,
            action=again,
            progress=ref.progress,
        )
    summary = f"Run #{run.pk}: {run.entries_created:,} entries created; {recognized:,} recognition entries in {key}."
    return Stage(
        REVENUE, "Revenue run", DONE, summary, counts=counts, run=ref, action=again, progress=ref.progress
    )


def checks_stage(before: list[Stage]) -> Stage:
    """The latest check run; out of date when it started before a run of an earlier stage finished
    (what that run wrote was not checked yet)."""
    run = CheckRun.objects.order_by("-id").only("pk", "started_at", "finished_at", "results").first()
    open_ = ComplianceException.objects.filter(status=ComplianceException.Status.OPEN).aggregate(
        open_exceptions=Count("id"),
        critical_exceptions=Count("id", filter=Q(severity=ComplianceException.Severity.CRITICAL)),
    )
    action = Action("compliance_run", "Run the checks", "compliance")
    if run is None:
        return Stage(
            CHECKS,
            "Compliance checks",
            NOT_STARTED,
            "The checks have never run.",
            counts=open_,
            action=action,
        )
    results = run.results or {}
    failing = sum(1 for r in results.values() if r.get("status") == "fail")
    counts = {"checks": len(results), "failing_checks": failing, **open_}
    status_ = "running" if run.finished_at is None else "completed"
    ref = RunRef("check_run", run.pk, status_, run.started_at, run.finished_at)
    if run.finished_at is None:
        summary = f"Check run #{run.pk} is running."
        return Stage(CHECKS, "Compliance checks", RUNNING, summary, counts=counts, run=ref)
    again = replace(action, label="Run the checks again")
    critical, total = open_["critical_exceptions"], open_["open_exceptions"]
    if critical:
        summary = f"{critical:,} open critical exception{'s' if critical != 1 else ''} (of {total:,} open): resolve or waive them."
        return Stage(CHECKS, "Compliance checks", BLOCKED, summary, counts=counts, run=ref, action=again)
    newer = max(
        (s for s in before if s.run is not None and s.run.finished_at is not None),
        key=lambda s: s.run.finished_at,
        default=None,
    )
    if newer is not None and run.started_at < newer.run.finished_at:
        summary = (
            f"Run #{run.pk} started before {RUN_NAMES[newer.run.kind]} #{newer.run.id} finished: "
            "run the checks again over what it wrote."
        )
        return Stage(CHECKS, "Compliance checks", NOT_STARTED, summary, "Out of date", counts, ref, again)
    summary = f"Run #{run.pk}: {len(results) - failing} of {len(results)} checks pass" + (
        f"; {total:,} open exceptions, none critical." if total else "; no open exception."
    )
    return Stage(CHECKS, "Compliance checks", DONE, summary, counts=counts, run=ref, action=again)


def close_stage(key: str, period: AccountingPeriod | None, checklist: list[ChecklistItem]) -> Stage:
    done = sum(i.ok for i in checklist)
    counts = {"checklist_done": done, "checklist_total": len(checklist)}
    if period is not None and period.status == AccountingPeriod.Status.CLOSED:
        by = period.closed_by
        who = (by.get_full_name() or by.username) if by else ""
        when = f" {day(period.closed_at.date())}" if period.closed_at else ""
        summary = f"Closed{when}" + (f" by {who}" if who else "") + ". Nothing posts into it any more."
        return Stage(CLOSE, "Close", DONE, summary, status_label="Closed", counts=counts)
    failing = len(checklist) - done
    if failing:
        summary = f"{done} of {len(checklist)} checklist items done; {failing} block{'s' if failing == 1 else ''} the close (listed below)."
        return Stage(CLOSE, "Close", BLOCKED, summary, counts=counts)
    from compliance.services.close import close_request_pending

    asked = close_request_pending(key)
    if asked is not None:
        who = asked.requested_by.get_username() if asked.requested_by_id else "system"
        summary = (
            f"Every checklist item is done; {who} asked an approver to close {key} (request #{asked.pk})."
        )
        return Stage(CLOSE, "Close", NOT_STARTED, summary, status_label="Awaiting approval", counts=counts)
    return Stage(
        CLOSE,
        "Close",
        NOT_STARTED,
        f"Every checklist item is done: {key} is ready to close once an approver approves it.",
        status_label="Ready to close",
        counts=counts,
        action=Action("close", f"Ask an approver to close {key}", "periods"),
    )


def checklist_count(checklist: list[ChecklistItem], code: str) -> int:
    return next((item.count for item in checklist if item.code == code), 0)
