"""Job services: any long job creates one and reports progress to it; the UI polls it."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import F
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
