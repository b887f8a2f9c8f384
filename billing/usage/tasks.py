"""Usage tasks: thin, named, safe to run twice."""

from celery import shared_task

__all__ = ["ensure_event_partitions"]


@shared_task(name="billing.ensure_event_partitions")
def ensure_event_partitions(months_ahead: int = 3) -> list[str]:
    """Daily (beat): create next months' partitions of the usage table ahead of time."""
    from billing.usage.partitions import ensure_partitions

    return ensure_partitions(months_ahead=months_ahead, months_back=1).created
