"""The month-end board's records: stage and action codes, statuses, and the frozen dataclasses the
stage builders (``compliance.month_end.stages``) fill in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from compliance.services.close import ChecklistItem
from revops.core.approvals.models import Approval
from revops.core.models import Job
from revrec.models import AccountingPeriod

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
        if self.before_books or self.closed:  # docs/api.md: null once closed — nothing is offered
            return None
        return next((s for s in self.stages if s.status != DONE), None)

    def stage(self, code: str) -> Stage:
        return next(s for s in self.stages if s.code == code)


def job_progress(job: Job | None) -> Progress | None:
    if job is None:
        return None
    return Progress(job.progress_done, job.progress_total, job.percent)


def first_line(text: str) -> str:
    text = (text or "").strip()
    return text.splitlines()[0][:300] if text else ""
