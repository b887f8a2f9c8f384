"""Thin tasks: ids in, one service call, explicit stable names, safe to run twice."""

from celery import shared_task


@shared_task(name="core.reap_stale_jobs")
def reap_stale_jobs() -> int:
    from revops.core.services.jobs import jobs_reap_stale

    return jobs_reap_stale()


@shared_task(name="core.probe")
def probe(job_id: int) -> None:
    """Round trip used by the health check and tests: a worker marks the job completed."""
    from revops.core.services.jobs import job_complete, job_start

    job_start(job_id=job_id, total=1)
    job_complete(job_id=job_id, result={"worker": "ok"})
