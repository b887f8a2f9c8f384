"""Usage reads for the API and the UI (aggregation lives in ``aggregation.py``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.models import IngestionBatch, Meter, QuarantinedEvent
from billing.usage import aggregation
from revops.core.api.fields import decimal_str
from revops.core.ids import parse_id
from revops.errors import NotFound
from revops.parties.models import Customer


def customer_resolve(*, ref: str) -> Customer:
    """A customer by ``id`` or ``external_id`` (api.md: wherever a customer is referenced)."""
    customer = Customer.objects.filter(external_id=ref).first()
    if customer is None and parse_id(ref) is not None:
        customer = Customer.objects.filter(pk=parse_id(ref)).first()
    if customer is None:
        raise NotFound(f"No customer with id or external_id '{ref}'.")
    return customer


def quarantine_list(
    *, status: str | None = None, customer: str | None = None, meter: str | None = None
) -> QuerySet[QuarantinedEvent]:
    qs = QuarantinedEvent.objects.select_related("resolved_by")
    if status:
        qs = qs.filter(status=status)
    if customer:
        qs = qs.filter(customer_ref=customer)
    if meter:
        qs = qs.filter(meter_code=meter)
    return qs.order_by("-id")


def quarantine_open_count() -> int:
    return QuarantinedEvent.objects.filter(status=QuarantinedEvent.Status.OPEN).count()


def quarantine_open_groups(*, limit: int = 20) -> list[dict]:
    """Open items per (customer as sent, meter code as sent), largest first: what to fix first."""
    return list(
        QuarantinedEvent.objects.filter(status=QuarantinedEvent.Status.OPEN)
        .values("customer_ref", "meter_code")
        .annotate(n=Count("id"))
        .order_by("-n", "customer_ref", "meter_code")[:limit]
    )


def ingestion_stats(*, days: int = 30, now: datetime | None = None) -> list[dict]:
    """Accepted / duplicates / rejected per UTC day for the last ``days`` days (every day listed)."""
    today = (now or timezone.now()).date()
    first = today - timedelta(days=days - 1)
    rows = (
        IngestionBatch.objects.filter(received_at__date__gte=first)
        .annotate(day=TruncDate("received_at"))
        .values("day")
        .annotate(
            accepted=Sum("accepted"),
            duplicates=Sum("duplicates"),
            rejected=Sum("rejected"),
            batches=Count("id"),
        )
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    out = []
    for offset in range(days):
        day: date = first + timedelta(days=offset)
        row = by_day.get(day) or {}
        out.append(
            {
                "date": day,
                "accepted": row.get("accepted") or 0,
                "duplicates": row.get("duplicates") or 0,
                "rejected": row.get("rejected") or 0,
                "batches": row.get("batches") or 0,
            }
        )
    return out


def usage_report(*, customer, meter: Meter, start: date, end: date, group_by: list[str]) -> dict:
    """The usage endpoint's body (also rendered by the explorer), aggregated in the customer's zone."""
    days = aggregation.usage_daily(customer=customer, meter=meter, start_date=start, end_date=end)
    lo, hi = aggregation.local_bounds(start, end, customer.timezone)
    body = {
        "meter": meter.code,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "total": decimal_str(aggregation.usage_total(customer=customer, meter=meter, start=lo, end=hi)),
        "days": [{"date": d.isoformat(), "value": decimal_str(v)} for d, v in days],
    }
    if group_by:
        groups = aggregation.usage_total(customer=customer, meter=meter, start=lo, end=hi, group_by=group_by)
        body["groups"] = [{"key": g["key"], "total": decimal_str(g["total"])} for g in groups]
    return body
