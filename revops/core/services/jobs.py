"""Job services: any long job creates one and reports progress to it; the UI polls it. A run whose
job stops reporting is resumed by the one stalled-run resumer (:func:`runs_resume_stalled`, beat)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from revops.core.models import Job


def job_create(*, kind: str, started_by=None, params: dict | None = None, total: int = 0) -> Job:
    return Job.objects.create(kind=kind, started_by=started_by, params=params or {}, progress_total=total)


def job_start(*, job_id: int, total: int | None = None) -> None:
    now = timezone.now()
    fields = {"status": Job.Status.RUNNING, "heartbeat_at": now}
    if total is not None:
        fields["progress_total"] = total
    Job.objects.filter(pk=job_id, started_at__isnull=True).update(started_at=now)
    Job.objects.filter(pk=job_id).exclude(status__in=[Job.Status.COMPLETED]).update(**fields)


def job_set_total(*, job_id: int, total: int) -> None:
    Job.objects.filter(pk=job_id).update(progress_total=total, heartbeat_at=timezone.now())


def job_advance(*, job_id: int, by: int = 1) -> None:
    """Count finished work items (safe from several workers at once: one UPDATE … SET done = done + n)."""
    Job.objects.filter(pk=job_id).update(progress_done=F("progress_done") + by, heartbeat_at=timezone.now())


def job_set_progress(*, job_id: int, done: int, total: int | None = None) -> None:
    fields = {"progress_done": done, "heartbeat_at": timezone.now()}
    if total is not None:
        fields["progress_total"] = total
    Job.objects.filter(pk=job_id).update(**fields)


def job_complete(*, job_id: int, result: dict | None = None) -> None:
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        job.status = Job.Status.COMPLETED
        job.finished_at = timezone.now()
        job.heartbeat_at = job.finished_at
        job.progress_done = job.progress_total
        if result is not None:
            job.result = result
        job.save(update_fields=["status", "finished_at", "heartbeat_at", "progress_done", "result"])


def job_fail(*, job_id: int, error: str) -> None:
    now = timezone.now()
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.FAILED, error=error[:10000], finished_at=now, heartbeat_at=now
    )


def jobs_reap_stale(*, older_than: timedelta = timedelta(minutes=30)) -> int:
    """Fail running jobs that stopped reporting (their worker died and nothing re-queued them)."""
    cutoff = timezone.now() - older_than
    minutes = int(older_than.total_seconds() // 60)
    return Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff).update(
        status=Job.Status.FAILED,
        error=f"No progress for {minutes} minutes; the worker was probably lost. Start the job again: "
        "work already done is not repeated.",
        finished_at=timezone.now(),
    )


# --- the stalled-run resumer ----------------------------------------------------------------------


@dataclass(frozen=True)
class ResumableRun:
    """A kind of run driven by a job: ``model`` has ``status``, ``created_at`` and a ``job`` foreign
    key; ``resume(run)`` sends its lost work again (through the enqueue seam) and says whether it
    did (``False``: there was nothing left to send, e.g. it only had to be marked finished)."""

    model: type
    active: tuple[str, ...]
    resume: Callable[[object], bool]


_RESUMABLE: dict[str, ResumableRun] = {}


def register_resumable_run(name: str, *, model: type, active: tuple[str, ...], resume) -> None:
    """Let an app's runs be resumed by the kernel's one resumer (billing runs, revenue runs)."""
    _RESUMABLE[name] = ResumableRun(model, tuple(active), resume)


def runs_resume_stalled(*, stall_seconds: int | None = None) -> int:
    """Beat: resume every run still queued or running whose job has not reported progress for
    ``BILLING_RUN_STALL_SECONDS`` (the broker lost its message — Redis restarted without persistence —
    or every worker died). Safe to over-trigger: the runs' services claim their work with row locks
    and skip what is done, so extra workers find nothing to do. Returns how many runs were resumed."""
    stall = stall_seconds if stall_seconds is not None else int(settings.BILLING_RUN_STALL_SECONDS)
    cutoff = timezone.now() - timedelta(seconds=stall)
    stalled = Q(job__heartbeat_at__lt=cutoff) | Q(job__heartbeat_at__isnull=True, created_at__lt=cutoff)
    count = 0
    for kind in _RESUMABLE.values():
        runs = kind.model.objects.filter(stalled, status__in=kind.active).select_related("job")
        for run in runs.order_by("pk"):
            if kind.resume(run):
                count += 1
    return count
