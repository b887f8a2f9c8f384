"""Accounting periods (accounting.md §9).

Periods form one continuous sequence of months from the books' first period. They close strictly in
order and reopen only from the latest closed one backwards (reopening needs an approval, see
compliance.services.close). Nothing posts into a closed period: anything whose business date falls on
or before the end of the latest closed period posts into the **first open period**, dated its first
day, as a correction for the period of its business date (``correction_for_period``), keeping the
business date on the entry (``business_date``). So a closed period's balances — and every report as
of a closed period — never change. Each close stores a snapshot of the ledger through the period
(``PeriodCloseSnapshot``) against which the controls re-check it."""

from __future__ import annotations

import calendar
import hashlib
import json
from datetime import date

from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.dates import PERIOD_RANGE_MESSAGE, period_error
from revops.errors import InvalidTransition, ValidationFailed
from revops.money import stored_sum
from revrec.models import AccountingPeriod, JournalLine, PeriodCloseSnapshot

OPEN = AccountingPeriod.Status.OPEN
CLOSED = AccountingPeriod.Status.CLOSED
MAX_NEW_PERIODS = 3600  # 300 years of months: a gap wider than that is a typo, not a posting


def period_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def period_bounds(key: str) -> tuple[date, date]:
    if isinstance(key, str) and period_error(key) == PERIOD_RANGE_MESSAGE:
        raise ValidationFailed(PERIOD_RANGE_MESSAGE, field="period")  # 1900-01 to 2199-12 (revops.dates)
    try:
        year, month = (int(x) for x in key.split("-"))
        start = date(year, month, 1)
        end = date(year + (month == 12), month % 12 + 1, 1)
    except (ValueError, TypeError, OverflowError):
        raise ValidationFailed(f"'{key}' is not an accounting period (YYYY-MM).", field="period")
    return start, end


def next_key(key: str) -> str:
    _, end = period_bounds(key)
    return period_key(end)


def previous_key(key: str) -> str:
    start, _ = period_bounds(key)
    year, month = (start.year - 1, 12) if start.month == 1 else (start.year, start.month - 1)
    return f"{year:04d}-{month:02d}"


def _keys(first: str, last: str) -> list[str]:
    """``first`` … ``last`` inclusive."""
    out, key = [], first
    while key <= last:
        out.append(key)
        key = next_key(key)
    return out


def latest_closed_key() -> str | None:
    return AccountingPeriod.objects.filter(status=CLOSED).aggregate(k=Max("period"))["k"]


def first_period_key() -> str | None:
    """The books' first period (the earliest one stored)."""
    return AccountingPeriod.objects.aggregate(k=Min("period"))["k"]


def current_key() -> str:
    """Today's period (the local date's month)."""
    return period_key(timezone.localdate())


def posting_horizon_key() -> str:
    """The latest period anything may post into or open: next month. Today's postings, a revenue run
    for the current month (dated its last day) and a billing run's in-advance invoices never need
    more; a date beyond is a typo or an attack (a revenue run for 2199-12 used to recognize every
    remaining schedule line and open two thousand periods)."""
    return next_key(current_key())


def check_posting_horizon(key: str, *, field: str = "date") -> None:
    horizon = posting_horizon_key()
    if key > horizon:
        raise ValidationFailed(
            f"{key} is beyond the books' horizon ({horizon}, next month): nothing posts into, or "
            "opens, a later period.",
            field=field,
        )


def ensure_period(key: str) -> AccountingPeriod:
    """The period ``key``, created open if new — together with every month between it and the
    periods already stored, so the sequence stays continuous. A new period can never appear before a
    closed one (postings dated there go to the first open period instead, see :func:`posting_period`)."""
    start, end = period_bounds(key)
    period = AccountingPeriod.objects.filter(period=key).first()
    if period is not None:
        return period
    closed = latest_closed_key()
    if closed is not None and key < closed:
        raise InvalidTransition(
            f"{key} comes before the latest closed period {closed}: it cannot be opened now."
        )
    span = AccountingPeriod.objects.aggregate(lo=Min("period"), hi=Max("period"))
    if span["hi"] is not None and key > span["hi"]:
        keys = _keys(next_key(span["hi"]), key)
    elif span["lo"] is not None and key < span["lo"]:
        keys = _keys(key, previous_key(span["lo"]))
    else:
        keys = [key]
    check_posting_horizon(key)
    if len(keys) > MAX_NEW_PERIODS:
        raise ValidationFailed(
            f"{key} is {len(keys)} months away from the books' periods; that is not a plausible date.",
            field="date",
        )
    AccountingPeriod.objects.bulk_create(
        [AccountingPeriod(period=k, start=period_bounds(k)[0], end=period_bounds(k)[1]) for k in keys],
        ignore_conflicts=True,
    )
    return AccountingPeriod.objects.get(period=key)


def posting_period(day: date) -> tuple[str, str]:
    """(period to post into, correction-for period or ""): the day's own period while it is after the
    latest closed period; otherwise the first open period (the one after the latest closed), as a
    correction for the day's period."""
    key = period_key(day)
    check_posting_horizon(key)
    closed = latest_closed_key()
    if closed is not None and key <= closed:
        target = next_key(closed)
        ensure_period(target)
        return target, key
    ensure_period(key)
    return key, ""


def lock_posting_period(day: date) -> tuple[AccountingPeriod, str]:
    """:func:`posting_period`, with the target period row locked until the caller's transaction ends,
    so a close running at the same time waits for the posting (and the posting never lands in a period
    that closed in between).

    The lock is shared (``FOR SHARE`` on PostgreSQL): postings into one period do not wait for each
    other — two revenue-run or finalization workers post their batches side by side — while the close
    and the reopen, which lock the row ``FOR UPDATE``, wait for every posting holding it, and a posting
    waits for a close under way, then reads the period as the close left it."""
    for _ in range(3):
        key, correction_for = posting_period(day)
        period = _period_shared(key)
        if period.status == OPEN:
            return period, correction_for
    raise InvalidTransition("No open accounting period to post into; try again.")


def lock_books_for_posting() -> None:
    """Take, up front, the accounting-period lock a transaction that will post needs: the earliest open
    period (the only one a close can take) under a shared lock until the transaction ends.

    Lock order (docs/architecture.md, "Lock order"): invoice rows → document counter → accounting
    period → audit chain head. A close locks its period ``FOR UPDATE`` and then audits (the chain
    head); a service that audits before it posts would hold the head and then wait for the period —
    a deadlock. Such a service calls this first (through :func:`revops.books.lock_for_posting`), so
    no close can start before it commits, and its postings' own locks
    (:func:`lock_posting_period`) never wait for a close. No period stored (or the earliest open one
    beyond the horizon, where nothing closes): nothing to lock."""
    for _ in range(3):
        closed = latest_closed_key()
        key = next_key(closed) if closed else first_period_key()
        if key is None or key > posting_horizon_key():
            return
        ensure_period(key)
        if _period_shared(key).status == OPEN:
            return
    raise InvalidTransition("No open accounting period to post into; try again.")


def _period_shared(key: str) -> AccountingPeriod:
    """The period row, read under a shared row lock held until the transaction ends (SQLite locks the
    whole database for a writing transaction: a plain read)."""
    if connection.vendor != "postgresql":
        return AccountingPeriod.objects.get(period=key)
    table = connection.ops.quote_name(AccountingPeriod._meta.db_table)
    rows = list(
        AccountingPeriod.objects.raw(f"SELECT * FROM {table} WHERE period = %s FOR SHARE", [key])  # noqa: S608
    )
    if not rows:
        raise AccountingPeriod.DoesNotExist(f"Accounting period {key} does not exist.")
    return rows[0]


def first_day(key: str) -> date:
    return period_bounds(key)[0]


def is_closed(key: str) -> bool:
    return AccountingPeriod.objects.filter(period=key, status=CLOSED).exists()


# --- the ledger as of a period's end --------------------------------------------------------------------


def ledger_snapshot(key: str, *, line_model=JournalLine) -> tuple[dict, str, int]:
    """(balances, digest, line count) of the ledger through ``key``: every line whose entry is in the
    period or before, or dated on or before its last day. ``balances`` = {currency: {account code:
    {"debit", "credit"}}} (cumulative); ``digest`` = sha256 of the same sums broken down by contract,
    obligation and product."""
    _start, end = period_bounds(key)
    rows = (
        line_model.objects.filter(Q(entry__period__lte=key) | Q(entry__date__lt=end))
        .values("entry__currency", "account__code", "contract_id", "obligation_id", "product_id")
        .annotate(d=Sum("debit"), c=Sum("credit"), n=Count("id"))
        .order_by("entry__currency", "account__code", "contract_id", "obligation_id", "product_id")
    )
    balances: dict = {}
    count = 0
    # The digest is the sha256 of the JSON list of the detail rows, hashed row by row as the grouped
    # rows stream in (one per contract, obligation and product: never all held at once).
    digest = hashlib.sha256(b"[")
    for row in rows.iterator(chunk_size=2000):
        debit, credit = stored_sum(row["d"]), stored_sum(row["c"])
        currency, code = row["entry__currency"], row["account__code"]
        acct = balances.setdefault(currency, {}).setdefault(code, {"debit": "0", "credit": "0"})
        acct["debit"] = str(stored_sum(acct["debit"]) + debit)
        acct["credit"] = str(stored_sum(acct["credit"]) + credit)
        if count:
            digest.update(b",")
        count += row["n"]
        detail = [
            currency,
            code,
            row["contract_id"],
            row["obligation_id"],
            row["product_id"],
            str(debit),
            str(credit),
            row["n"],
        ]
        digest.update(json.dumps(detail, separators=(",", ":")).encode())
    digest.update(b"]")
    return balances, digest.hexdigest(), count


def snapshot_differences(snapshot: PeriodCloseSnapshot) -> list[str]:
    """What differs between the ledger through the snapshot's period now and at its close."""
    balances, digest, count = ledger_snapshot(snapshot.period.period)
    if digest == snapshot.digest:
        return []
    out = []
    for currency in sorted(set(balances) | set(snapshot.balances)):
        now, then = balances.get(currency, {}), snapshot.balances.get(currency, {})
        for code in sorted(set(now) | set(then)):
            a = then.get(code, {"debit": "0", "credit": "0"})
            b = now.get(code, {"debit": "0", "credit": "0"})
            if stored_sum(a["debit"]) != stored_sum(b["debit"]) or stored_sum(a["credit"]) != stored_sum(
                b["credit"]
            ):
                out.append(
                    f"{currency} {code}: at close Dr {a['debit']} / Cr {a['credit']}, "
                    f"now Dr {b['debit']} / Cr {b['credit']}"
                )
    if count != snapshot.lines:
        out.append(f"{snapshot.lines} journal lines at close, {count} now")
    if not out:
        out.append("balances by contract, obligation or product differ from the close")
    return out


def latest_snapshot(period: AccountingPeriod) -> PeriodCloseSnapshot | None:
    return period.snapshots.order_by("-id").first()


# --- close and reopen -----------------------------------------------------------------------------------


def books_period_refusal(key: str) -> str | None:
    """Why ``key`` is not a period of the books (None when it is, or may open as the next one): before
    the books' first period, or beyond the posting horizon (next month)."""
    period_bounds(key)
    first = first_period_key()
    if first is not None and key < first:
        return f"{key} is not a period of the books: they begin in {first}."
    horizon = posting_horizon_key()
    if key > horizon:
        return f"{key} is not a period of the books yet: periods open up to {horizon} (next month)."
    return None


def check_books_period(key: str) -> None:
    refusal = books_period_refusal(key)
    if refusal:
        raise ValidationFailed(refusal, field="period")


@transaction.atomic
def period_close(*, key: str, actor=None) -> AccountingPeriod:
    """Close ``key``: only the period after the latest closed one (or the books' first period), and
    only when every period before it is closed."""
    check_books_period(key)
    closed = latest_closed_key()
    if closed is not None and key <= closed:
        if is_closed(key):
            raise InvalidTransition(f"{key} is already closed.")
        raise InvalidTransition(
            f"{key} comes before the latest closed period {closed}; periods close in order."
        )
    period = ensure_period(key)
    earlier_open = AccountingPeriod.objects.filter(period__lt=key, status=OPEN).order_by("period").first()
    if earlier_open is not None:
        raise InvalidTransition(
            f"{earlier_open.period} is still open: periods close in order, so close "
            f"{earlier_open.period} before {key}."
        )
    period = AccountingPeriod.objects.select_for_update().get(pk=period.pk)
    if period.status == CLOSED:
        raise InvalidTransition(f"{key} is already closed.")
    period.status = CLOSED
    period.closed_at = timezone.now()
    period.closed_by = actor if getattr(actor, "pk", None) else None
    period.save(update_fields=["status", "closed_at", "closed_by"])
    balances, digest, count = ledger_snapshot(key)
    PeriodCloseSnapshot.objects.create(
        period=period,
        closed_at=period.closed_at,
        closed_by=period.closed_by,
        balances=balances,
        digest=digest,
        lines=count,
    )
    audit_record(
        actor=actor,
        action=AuditAction.PERIOD_CLOSED,
        obj=period,
        changes={"period": key, "ledger_digest": digest},
    )
    return period


def reopen_refusal(key: str) -> str | None:
    """Why ``key`` cannot reopen now (None when it can): it must be the latest closed period."""
    period = AccountingPeriod.objects.filter(period=key).first()
    if period is None or period.status != CLOSED:
        return f"{key} is not closed."
    closed = latest_closed_key()
    if key != closed:
        return (
            f"{key} is not the latest closed period ({closed}): periods reopen from the latest closed "
            f"one backwards, so {closed} must reopen first."
        )
    return None


@transaction.atomic
def period_reopen_apply(*, key: str, actor=None) -> AccountingPeriod:
    """Reopen (called once the reopen request is approved)."""
    period = AccountingPeriod.objects.select_for_update().get(period=key)
    refusal = reopen_refusal(key)
    if refusal:
        raise InvalidTransition(refusal)
    period.status = OPEN
    period.save(update_fields=["status"])
    audit_record(actor=actor, action=AuditAction.PERIOD_REOPENED, obj=period, changes={"period": key})
    return period


def last_day(key: str) -> date:
    start, _ = period_bounds(key)
    return date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])
