"""A real task through a real Celery worker process, against PostgreSQL and Redis (issue 2)."""

import pytest

from revops.core.models import Job
from revops.core.services.jobs import job_create
from tests.workers import real_workers, wait_for

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_real_worker_runs_a_task_and_writes_to_the_database():
    from revops.core.tasks import probe

    job = job_create(kind="probe")
    with real_workers() as workers:
        probe.delay(job.pk)
        done = wait_for(
            lambda: Job.objects.filter(pk=job.pk, status=Job.Status.COMPLETED).first(),
            timeout=60,
            message=f"the worker to finish the job\n{workers.output()}",
        )
    assert done.result == {"worker": "ok"}
    assert done.progress_done == done.progress_total == 1
