"""First schedules of many obligations at once (a bulk activation or import): obligations claimed in
batches with ``SELECT … FOR UPDATE SKIP LOCKED``, each batch one transaction written set-based — the
same records as :func:`revrec.services.schedules.schedules_generate` makes one contract at a time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from revops.core.approvals.services import approval_request_many
from revops.core.audit.actions import AuditAction
from revops.core.enqueue import enqueue
from revrec.models import PerformanceObligation, RevenueSchedule, ScheduleLine
from revrec.services.schedules import KIND, schedule_created_changes, schedule_lines_for, schedule_summary

log = logging.getLogger(__name__)
ZERO = Decimal(0)
# Obligations a worker claims and schedules per transaction (settings.REVREC_SCHEDULE_BATCH_SIZE
# overrides it); a killed worker rolls back at most one batch, which is claimed again.
BATCH_SIZE = 500
# Workers sent for the contracts activated in one transaction when they are more than one batch
# (settings.REVREC_SCHEDULE_PARALLELISM overrides it).
PARALLELISM = 2
GENERATE_MANY_TASK = "revrec.generate_schedules_many"
LINES_MEMO = 10_000  # distinct schedule inputs remembered by one schedules_generate_many call


def _needing_schedule():
    """Active fixed obligations without any schedule: the work :func:`schedules_generate_many` claims."""
    return PerformanceObligation.objects.filter(
        status=PerformanceObligation.Status.ACTIVE, variable=False
    ).exclude(Exists(RevenueSchedule.objects.filter(obligation=OuterRef("pk"))))


def _scopes(contract_ids, obligation_ids, size: int) -> Iterator[dict]:
    """The filters of the successive claims: chunks of the ids given (or everything pending)."""
    if contract_ids is not None:
        ids = sorted(set(contract_ids))
        extra = {} if obligation_ids is None else {"pk__in": sorted(set(obligation_ids))}
        for start in range(0, len(ids), size):
            yield {"contract_id__in": ids[start : start + size], **extra}
    elif obligation_ids is not None:
        ids = sorted(set(obligation_ids))
        for start in range(0, len(ids), size):
            yield {"pk__in": ids[start : start + size]}
    else:
        yield {}


def _claim(scope: dict, size: int, failed: set[int] = frozenset()) -> tuple[int, list[PerformanceObligation]]:
    """Lock up to ``size`` obligations needing a schedule (skipping those another worker holds and
    those that failed in this call), then drop any that got one between the claim's snapshot and its
    lock (a worker that just committed): (how many were locked, the ones to schedule), in the single
    path's order (contract, id)."""
    qs = (
        _needing_schedule()
        .filter(**scope)
        .exclude(pk__in=failed)
        .select_related("contract")
        .order_by("contract_id", "id")
    )
    if connection.vendor == "postgresql":
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    locked = list(qs[:size])
    if not locked:
        return 0, []
    done = set(
        RevenueSchedule.objects.filter(obligation_id__in=[po.pk for po in locked]).values_list(
            "obligation_id", flat=True
        )
    )
    return len(locked), [po for po in locked if po.pk not in done]


def schedules_generate_many(
    *, contract_ids=None, obligation_ids=None, actor=None, batch_size: int | None = None
) -> int:
    """First schedules for many activated contracts (a bulk activation or import, the activation
    events of a transaction): what :func:`schedules_generate` does per contract — every active fixed
    obligation without a schedule gets version 1, its lines from :mod:`revrec.recognition`, a
    ``schedule.created`` event and a maker-checker request (requested by ``actor``) with its
    ``approval.requested`` event — with identical records, written per batch set-based.

    Obligations are claimed ``batch_size`` at a time (``settings.REVREC_SCHEDULE_BATCH_SIZE``) with
    ``SELECT … FOR UPDATE SKIP LOCKED`` and each batch is ONE transaction: its lines computed in
    memory, then its schedules, lines, approval requests and audit events written with a handful of
    statements. Any number of workers may run it over the same ids: a batch another worker holds is
    skipped (that worker schedules it), an obligation scheduled meanwhile is dropped after its lock,
    and a killed worker's batch rolls back whole and is claimed again — nothing is lost or repeated.
    An obligation whose schedule cannot be made (its terms refused by the recognition functions, a
    version made meanwhile by the single path) does not stop the others: the batch is rolled back to
    its savepoint and made again one obligation at a time, each in a savepoint of its own; the failing
    one is logged and left without a schedule, as the per-contract path leaves its contract.
    ``contract_ids`` and/or ``obligation_ids`` narrow the work (neither: every obligation waiting for
    one). Returns how many schedules it created."""
    size = max(1, int(batch_size or getattr(settings, "REVREC_SCHEDULE_BATCH_SIZE", BATCH_SIZE)))
    created = 0
    computed: dict[tuple, list] = {}
    failed: set[int] = set()
    for scope in _scopes(contract_ids, obligation_ids, size):
        while True:
            with transaction.atomic():
                locked, pos = _claim(scope, size, failed)
                if not locked:
                    break
                _replan_foreign_key_checks()
                created += _generate_or_park(pos, actor=actor, computed=computed, failed=failed)
            if len(computed) > LINES_MEMO:
                computed.clear()
    return created


def _generate_or_park(pos, *, actor, computed, failed: set[int]) -> int:
    """The batch together; if that raises, one obligation at a time, the failing ones parked."""
    try:
        with transaction.atomic():
            return len(_generate_batch(pos, actor=actor, computed=computed))
    except Exception as exc:  # noqa: BLE001 - made again one by one below, where each failure is parked
        log.info("schedules: a batch of %s failed (%s); making them one at a time", len(pos), exc)
    made = 0
    for po in pos:
        try:
            with transaction.atomic():
                made += len(_generate_batch([po], actor=actor, computed=computed))
        except Exception as exc:  # noqa: BLE001 - parked: rolled back to its savepoint, logged
            failed.add(po.pk)
            log.warning("schedules: obligation %s (%s) has no schedule: %s", po.pk, po.key, exc)
    return made


class _Activated:
    """The contracts activated in one transaction, by actor: when it commits, their schedules are
    sent to the workers as one job per actor (not one task per contract)."""

    def __init__(self) -> None:
        self.by_actor: dict[int | None, set[int]] = {}
        self.sent = False

    def add(self, contract_id: int, actor_id: int | None) -> None:
        self.by_actor.setdefault(actor_id, set()).add(contract_id)

    def __call__(self) -> None:
        self.sent = True
        parallel = max(1, int(getattr(settings, "REVREC_SCHEDULE_PARALLELISM", PARALLELISM)))
        size = max(1, int(getattr(settings, "REVREC_SCHEDULE_BATCH_SIZE", BATCH_SIZE)))
        for actor_id, ids in self.by_actor.items():
            # Several workers over the same ids claim disjoint batches (SKIP LOCKED); one is enough
            # for fewer contracts than a batch.
            for _ in range(parallel if len(ids) > size else 1):
                enqueue(GENERATE_MANY_TASK, sorted(ids), actor_id)


_activated = threading.local()


def schedules_generate_later(*, contract_id: int, actor_id: int | None = None) -> None:
    """Queue the first schedules of a contract just activated (the ``contract.activated`` consumer):
    every contract activated in the same transaction — a bulk activation or import — goes to the
    workers together once it commits (``revrec.generate_schedules_many``: batches claimed with SKIP
    LOCKED); nothing is sent if it rolls back."""
    pending = getattr(_activated, "pending", None)
    registered = transaction.get_connection().run_on_commit
    if pending is None or pending.sent or not any(entry[1] is pending for entry in registered):
        # This transaction's first activation (the last one's callback has run or was discarded).
        pending = _activated.pending = _Activated()
        pending.add(contract_id, actor_id)
        transaction.on_commit(pending)  # outside a transaction: sent at once
        return
    pending.add(contract_id, actor_id)


def _replan_foreign_key_checks() -> None:
    """Let PostgreSQL plan this session's foreign-key checks again (as the billing run does): each
    line's check of its schedule runs from a plan cached when the session first checked one — made
    with the schedule table's size at that moment (empty, on a first bulk activation), so every
    later check would scan the whole, growing table. ``DISCARD PLANS`` drops this session's cached
    plans only; the batch's first check is planned again with the current sizes."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DISCARD PLANS")


def _lines_of(po: PerformanceObligation, computed: dict[tuple, list]) -> list:
    """:func:`schedule_lines_for`, computed once per distinct set of its inputs: the recognition
    functions are pure, and a bulk activation repeats the same terms (price, dates, method) across
    many contracts. An input-measured obligation reads its own costs: never shared."""
    if po.progress_measure == "input":
        return schedule_lines_for(po)
    key = (po.recognition, po.currency, po.allocated_amount, po.start, po.end)
    if key not in computed:
        computed[key] = schedule_lines_for(po)
    return computed[key]


_COPY_LINES = f'COPY {ScheduleLine._meta.db_table} (schedule_id, period, start, "end", amount) FROM STDIN'


def _insert_lines(rows) -> None:
    """Insert schedule lines given as (schedule id, period, start, end, amount): on PostgreSQL with one
    ``COPY`` (as usage ingestion does; a batch holds about a dozen lines per schedule, and building a
    model instance per line costs more CPU than the rest of the line's work), elsewhere with
    ``bulk_create``."""
    if connection.vendor != "postgresql":
        ScheduleLine.objects.bulk_create(
            [ScheduleLine(schedule_id=s, period=p, start=a, end=b, amount=m) for s, p, a, b, m in rows]
        )
        return
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor, cursor.copy(_COPY_LINES) as copy:
        write = copy.write_row
        for row in rows:
            write(row)


def _generate_batch(
    pos: list[PerformanceObligation], *, actor, computed: dict[tuple, list] | None = None
) -> list[RevenueSchedule]:
    """Version 1 of the schedule of each obligation (none has a schedule: the claim checked it under
    its lock), written set-based: one INSERT of schedules, one of lines, one of approval requests, one
    of audit events (hash-chained, in the single path's order: each schedule's ``schedule.created``,
    then its ``approval.requested``)."""
    user = actor if getattr(actor, "pk", None) else None
    planned = []
    memo = {} if computed is None else computed
    for po in pos:
        lines = _lines_of(po, memo)
        sched = RevenueSchedule(
            obligation=po,
            version=1,
            status=RevenueSchedule.Status.PENDING_APPROVAL,
            treatment=RevenueSchedule.Treatment.INITIAL,
            treatment_note="",
            method=po.recognition,
            amount=sum((ln.amount for ln in lines), ZERO),
            currency=po.currency,
            prepared_by=user,
        )
        planned.append((po, sched, lines))
    RevenueSchedule.objects.bulk_create([sched for _po, sched, _c in planned])
    _insert_lines(
        (sched.pk, ln.period, ln.start, ln.end, ln.amount) for _po, sched, lines in planned for ln in lines
    )
    approval_request_many(
        kind=KIND,
        requested_by=actor,
        requests=[
            {
                "obj": sched,
                "summary": schedule_summary(po, sched),
                "audit_before": [
                    {
                        "actor": actor,
                        "action": AuditAction.SCHEDULE_CREATED,
                        "obj": sched,
                        "changes": schedule_created_changes(po, sched, lines),
                    }
                ],
            }
            for po, sched, lines in planned
        ],
    )
    return [sched for _po, sched, _c in planned]
