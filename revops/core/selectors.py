from django.db.models import QuerySet

from revops.core.models import Job


def job_list(*, kind: str | None = None, limit: int = 50) -> QuerySet[Job]:
    qs = Job.objects.select_related("started_by")
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-id")[:limit]
