"""Month end of one accounting period, read in one place (issue 15 §6): its stages in working order —
billing run, drafts awaiting review, finalization, revenue run, compliance checks, close — each with
a status, a few counts, its latest run and the action that starts it, plus what blocks the close.

Reads only, and every read is an aggregate or a single row: the cost does not grow with the number of
contracts beyond what the database counts (no per-contract loop), so a 100,000-contract month renders
as fast as a small one. Compliance is the top layer, so it reads billing and revrec directly. Who may
start what is decided per user by ``allowed_action``: each stage's action names the area it writes.

Statuses: ``not_started``, ``running`` (a job is under way: its progress is live), ``done``,
``blocked`` (something must be dealt with first: drafts to review, parked failures, failing close
checklist items, open critical exceptions) and ``failed`` (the latest run failed)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.db.models import Count, Exists, Min, OuterRef, Q

from billing.models import BillingRun, BillingRunItem, FinalizationRun, Invoice, InvoiceLine
from compliance.models import CheckRun, ComplianceException
from compliance.services.close import REOPEN, ChecklistItem, close_checklist
from revops.core.approvals.models import Approval
from revops.core.models import Job
from revops.formatting import day
from revrec.models import AccountingPeriod, JournalEntry, RevenueRun, RevenueRunItem
from revrec.services.periods import (
    current_key,
    first_period_key,
    latest_closed_key,
    next_key,
    period_bounds,
    previous_key,
)

NOT_STARTED, RUNNING, DONE, BLOCKED, FAILED = "not_started", "running", "done", "blocked", "failed"
STATUSES = (NOT_STARTED, RUNNING, DONE, BLOCKED, FAILED)
STATUS_LABELS = {
    NOT_STARTED: "Not started",
    RUNNING: "Running",
    DONE: "Done",
    BLOCKED: "Blocked",
    FAILED: "Failed",
}

BILLING, DRAFTS, FINALIZATION, REVENUE, CHECKS, CLOSE = (
    "billing_run",
    "drafts",
    "finalization",
    "revenue_run",
    "checks",
    "close",
)
STAGE_CODES = (BILLING, DRAFTS, FINALIZATION, REVENUE, CHECKS, CLOSE)
ACTION_CODES = ("billing_run", "finalize", "revenue_run", "compliance_run", "close")
OPEN_RUN = ("queued", "running")
RUN_NAMES = {
    "billing_run": "billing run",
    "finalization_run": "finalization run",
    "revenue_run": "revenue run",
    "check_run": "check run",
}  # a run in one of these states is under way


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    percent: int


@dataclass(frozen=True)
class RunRef:
    """The latest run of a stage: which, its state, and (for job-backed runs) its progress."""

    kind: str  # billing_run, finalization_run, revenue_run, check_run
    id: int
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    progress: Progress | None = None
    error: str = ""


@dataclass(frozen=True)
class Action:
    """What starts (or restarts) a stage. ``area`` is the area a user must be able to write."""

    code: str  # billing_run, finalize, revenue_run, compliance_run, close
    label: str
    area: str


@dataclass(frozen=True)
class Stage:
    code: str
    title: str
    status: str
    summary: str
    status_label: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    run: RunRef | None = None
    action: Action | None = None
    progress: Progress | None = None  # the run's job, or (finalization) finalized vs drafts left

    @property
    def label(self) -> str:
        return self.status_label or STATUS_LABELS[self.status]


@dataclass(frozen=True)
class MonthEnd:
    key: str
    start: date
    end: date  # exclusive
    closed: bool
    period: AccountingPeriod | None
    stages: list[Stage]
    checklist: list[ChecklistItem]
    reopen_pending: Approval | None = None
    before_books: str = ""  # why the period is not one of the books (before they begin), else ""

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def running(self) -> bool:
        return any(s.status == RUNNING for s in self.stages)

    @property
    def blockers(self) -> list[ChecklistItem]:
        return [] if self.closed else [i for i in self.checklist if not i.ok]

    @property
    def next_stage(self) -> Stage | None:
        """The first stage not done (None once the period is closed, or before the books begin)."""
        if self.before_books:
            return None
        return next((s for s in self.stages if s.status != DONE), None)

    def stage(self, code: str) -> Stage:
        return next(s for s in self.stages if s.code == code)


def _progress(job: Job | None) -> Progress | None:
    if job is None:
        return None
    return Progress(job.progress_done, job.progress_total, job.percent)


def _first_line(text: str) -> str:
    text = (text or "").strip()
    return text.splitlines()[0][:300] if text else ""


def _billing_stage(start: date, end: date) -> Stage:
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
        _progress(run.job),
        _first_line(run.job.error),
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


def _drafts_stage(end: date, billing: Stage, drafts: dict) -> Stage:
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


def _finalization_stage(key: str, start: date, end: date, billing: Stage, drafts: dict, posted: int) -> Stage:
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
    run = FinalizationRun.objects.select_related("job").order_by("-id").first()
    ref = None
    if run is not None:
        ref = RunRef(
            "finalization_run",
            run.pk,
            run.status,
            run.started_at or run.created_at,
            run.finished_at,
            _progress(run.job),
            _first_line(run.job.error),
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


def _revenue_stage(key: str, recognized: int, due: int = 0) -> Stage:
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
        _progress(run.job),
        _first_line(run.error or run.job.error),
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


def _checks_stage(before: list[Stage]) -> Stage:
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


def _close_stage(key: str, period: AccountingPeriod | None, checklist: list[ChecklistItem]) -> Stage:
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
    return Stage(
        CLOSE,
        "Close",
        NOT_STARTED,
        f"Every checklist item is done: {key} is ready to close.",
        status_label="Ready to close",
        counts=counts,
        action=Action("close", f"Close {key}", "periods"),
    )


def _count(checklist: list[ChecklistItem], code: str) -> int:
    return next((item.count for item in checklist if item.code == code), 0)


def month_end_key() -> str:
    """The period whose month end is under way: the one after the latest closed period (periods close
    in order), else the books' first period, else last month — never later than the current one."""
    closed = latest_closed_key()
    key = next_key(closed) if closed else (first_period_key() or previous_key(current_key()))
    return min(key, current_key())


def allowed_action(stage: Stage, user) -> Action | None:
    """The stage's action if ``user`` may take it (writes its area), else None: auditors and the
    pricing role see no action; approvers may run the checks and close, not bill or recognize."""
    from revops.roles import can_write

    return stage.action if stage.action is not None and can_write(user, stage.action.area) else None


WAITING = "Waiting"
BEFORE_BOOKS = "Before the books"


def _waiting(stages: list[Stage]) -> list[Stage]:
    """A stage is not done before the stages ahead of it are: one that reads as done while an
    earlier stage has not run, runs, failed or is blocked is shown waiting (not started, its action
    kept) — finalization 'done' over a billing run not started, checks 'done' over a revenue run
    not started would read as green ticks over work not yet done."""
    out: list[Stage] = []
    pending: Stage | None = None  # the first earlier stage not done
    for stage in stages:
        if stage.status == DONE and pending is not None:
            stage = replace(
                stage,
                status=NOT_STARTED,
                status_label=WAITING,
                summary=f"Waits for the {pending.title.lower()} ({pending.label.lower()}). {stage.summary}",
            )
        if stage.status != DONE and pending is None:
            pending = stage
        out.append(stage)
    return out


def _before_books(key: str, start: date, end: date, period, first: str) -> MonthEnd:
    """A period before the books' first one, with a period closed: nothing was booked in it, nothing
    can open or close it (what belongs to it posts into the first open period), so every stage says so
    and none acts."""
    text = f"{key} is before the books begin ({first}): nothing is billed, recognized or closed in it."
    stages = [
        Stage(code, title, NOT_STARTED, text, status_label=BEFORE_BOOKS)
        for code, title in zip(
            STAGE_CODES,
            (
                "Billing run",
                "Drafts awaiting review",
                "Finalization",
                "Revenue run",
                "Compliance checks",
                "Close",
            ),
            strict=True,
        )
    ]
    return MonthEnd(key, start, end, False, period, stages, [], None, text)


def month_end(*, key: str) -> MonthEnd:
    """The month end of period ``key`` (YYYY-MM; ValidationFailed naming ``period`` otherwise)."""
    start, end = period_bounds(key)
    first = first_period_key()
    # Before the books' first period once a period is closed (none can open before it any more; while
    # nothing is closed a backdated posting or run may still open earlier months).
    if first is not None and key < first and latest_closed_key() is not None:
        return _before_books(key, start, end, None, first)
    period = AccountingPeriod.objects.select_related("closed_by").filter(period=key).first()
    closed = period is not None and period.status == AccountingPeriod.Status.CLOSED
    drafts = period_drafts(end)
    posted = JournalEntry.objects.filter(period=key).aggregate(
        invoices=Count("id", filter=Q(source=JournalEntry.Source.INVOICE)),
        recognition=Count("id", filter=Q(source=JournalEntry.Source.RECOGNITION)),
    )
    checklist = close_checklist(key)
    billing = _billing_stage(start, end)
    stages = [
        billing,
        _drafts_stage(end, billing, drafts),
        _finalization_stage(key, start, end, billing, drafts, posted["invoices"]),
        _revenue_stage(key, posted["recognition"], _count(checklist, "revenue_run")),
    ]
    stages.append(_checks_stage(stages))
    stages.append(_close_stage(key, period, checklist))
    if not closed:
        stages = _waiting(stages)
    if closed:  # a closed period starts nothing: its stages are history (reopening is an approval)
        stages = [replace(s, action=None) for s in stages]
    reopen = (
        Approval.objects.filter(
            kind=REOPEN, object_type="revrec.accountingperiod", object_id=str(period.pk), status="pending"
        ).first()
        if closed
        else None
    )
    return MonthEnd(key, start, end, closed, period, stages, checklist, reopen)
