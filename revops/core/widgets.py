from django.urls import reverse

from revops.core.models import Job


def job_widgets(user) -> list[dict]:
    running = Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).count()
    failed = Job.objects.filter(status=Job.Status.FAILED).count()
    return [
        {
            "title": "Jobs running",
            "value": running,
            "tone": "bad" if failed else None,
            "note": f"{failed} failed job(s) need attention." if failed else "No failed jobs.",
            "url": reverse("jobs"),
            "link_label": "Jobs",
        }
    ]
