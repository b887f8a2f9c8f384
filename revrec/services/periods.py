"""Accounting periods: nothing posts into a closed period; a posting dated in one goes to the first
open period after it, marked as a correction for the closed one (accounting.md §5, §7.8)."""

from __future__ import annotations

import calendar
from datetime import date

from django.db import transaction
from django.utils import timezone

from compliance.audit import audit_record
from revops.dates import PERIOD_RANGE_MESSAGE, period_error
from revops.errors import InvalidTransition, ValidationFailed
from revrec.models import AccountingPeriod


def period_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def period_bounds(key: str) -> tuple[date, date]:
    if isinstance(key, str) and period_error(key) == PERIOD_RANGE_MESSAGE:
        raise ValidationFailed(PERIOD_RANGE_MESSAGE, field="period")  # 1900-01 to 2199-12 (revops.dates)
    try:
        year, month = (int(x) for x in key.split("-"))
        start = date(year, month, 1)
    except (ValueError, TypeError):
        raise ValidationFailed(f"'{key}' is not an accounting period (YYYY-MM).", field="period")
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def ensure_period(key: str) -> AccountingPeriod:
    start, end = period_bounds(key)
    period, _ = AccountingPeriod.objects.get_or_create(period=key, defaults={"start": start, "end": end})
    return period


def next_key(key: str) -> str:
    _, end = period_bounds(key)
    return period_key(end)


def posting_period(day: date) -> tuple[str, str]:
    """(period to post into, correction-for period or ""): the day's own period if open, else the first
    open period after it."""
    key = period_key(day)
    original = key
    for _ in range(600):
        period = ensure_period(key)
        if period.status == AccountingPeriod.Status.OPEN:
            return key, "" if key == original else original
        key = next_key(key)
    raise InvalidTransition("No open accounting period found.")


def is_closed(key: str) -> bool:
    return AccountingPeriod.objects.filter(period=key, status=AccountingPeriod.Status.CLOSED).exists()


@transaction.atomic
def period_close(*, key: str, actor=None) -> AccountingPeriod:
    period = ensure_period(key)
    period = AccountingPeriod.objects.select_for_update().get(pk=period.pk)
    if period.status == AccountingPeriod.Status.CLOSED:
        raise InvalidTransition(f"{key} is already closed.")
    period.status = AccountingPeriod.Status.CLOSED
    period.closed_at = timezone.now()
    period.closed_by = actor if getattr(actor, "pk", None) else None
    period.save(update_fields=["status", "closed_at", "closed_by"])
    audit_record(actor=actor, action="period.closed", obj=period, changes={"period": key})
    return period


@transaction.atomic
def period_reopen_apply(*, key: str, actor=None) -> AccountingPeriod:
    """Reopen (called once the reopen request is approved)."""
    period = AccountingPeriod.objects.select_for_update().get(period=key)
    if period.status == AccountingPeriod.Status.OPEN:
        raise InvalidTransition(f"{key} is already open.")
    period.status = AccountingPeriod.Status.OPEN
    period.save(update_fields=["status"])
    audit_record(actor=actor, action="period.reopened", obj=period, changes={"period": key})
    return period


def last_day(key: str) -> date:
    start, _ = period_bounds(key)
    return date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])
