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

from dataclasses import replace
from datetime import date

from django.db.models import Count, Q

from compliance.month_end.model import (
    ACTION_CODES,
    BLOCKED,
    DONE,
    FAILED,
    NOT_STARTED,
    RUNNING,
    STAGE_CODES,
    STATUS_LABELS,
    STATUSES,
    Action,
    MonthEnd,
    Progress,
    RunRef,
    Stage,
)
from compliance.month_end.stages import (
    billing_stage,
    checklist_count,
    checks_stage,
    close_stage,
    drafts_stage,
    finalization_stage,
    finalize_filter,
    period_drafts,
    revenue_stage,
)
from compliance.services.close import REOPEN, close_checklist
from revops.core.approvals.models import Approval
from revrec.models import AccountingPeriod, JournalEntry
from revrec.services.periods import (
    current_key,
    first_period_key,
    latest_closed_key,
    next_key,
    period_bounds,
    previous_key,
)

__all__ = [
    "ACTION_CODES",
    "BLOCKED",
    "DONE",
    "FAILED",
    "NOT_STARTED",
    "RUNNING",
    "STAGE_CODES",
    "STATUSES",
    "STATUS_LABELS",
    "Action",
    "MonthEnd",
    "Progress",
    "RunRef",
    "Stage",
    "allowed_action",
    "finalize_filter",
    "month_end",
    "month_end_key",
    "period_drafts",
]


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
    billing = billing_stage(start, end)
    stages = [
        billing,
        drafts_stage(end, billing, drafts),
        finalization_stage(key, start, end, billing, drafts, posted["invoices"]),
        revenue_stage(key, posted["recognition"], checklist_count(checklist, "revenue_run")),
    ]
    stages.append(checks_stage(stages))
    stages.append(close_stage(key, period, checklist))
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
