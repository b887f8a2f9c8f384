"""Schedules for bulk activations, batched (issue 15 §3): ``schedules_generate_many`` writes, per batch
and set-based, exactly what ``schedules_generate`` writes contract by contract — the same schedule
versions, lines, approval requests (content and hash) and audit events (sequence numbers and hashes of
the chain) — over varied contracts, for any batch size.

How the two paths are compared: the clock is frozen, the single path runs inside a savepoint, every
row it wrote is read, the savepoint is rolled back (on PostgreSQL the id sequences rewound too), and
the batched path runs from the same state: the rows must be equal field for field, ids and hashes
included."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from billing.contracts.services import contract_activate, contract_create
from revops.core.approvals.models import Approval
from revops.core.approvals.services import SelfApproval
from revops.core.audit.models import AuditChainHead, AuditEvent
from revops.core.audit.verify import audit_verify_chain
from revrec.models import PerformanceObligation, RevenueSchedule, ScheduleLine
from revrec.services.schedule_batches import schedules_generate_many
from revrec.services.schedules import (
    _content,
    _content_many,
    schedule_decide,
    schedules_generate,
)

pytestmark = pytest.mark.django_db

FROZEN = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
PRICES = st.integers(min_value=1, max_value=5000).map(lambda n: Decimal(n) * 10 + Decimal("0.07"))


def _month(i: int, day: int = 1) -> date:
    return date(2026 + i // 12, i % 12 + 1, day)


@st.composite
def contract_lines(draw):
    """One to four lines of every kind a schedule comes from: ratable by day (a recurring line and a
    hybrid plan whose usage obligation gets no schedule), ratable by month, point in time, milestone
    and an input-measured project."""
    out = []
    for i in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["recurring", "hybrid", "delivery", "project", "milestone", "input"]))
        key = f"l{i}"
        first = draw(st.integers(min_value=0, max_value=9))
        last = draw(st.integers(min_value=first + 1, max_value=12))
        if kind == "recurring":
            out.append({"key": key, "product": "platform", "unit_price": str(draw(PRICES))})
        elif kind == "hybrid":
            out.append({"key": key, "product": "platform", "plan": "hybrid"})
        elif kind == "delivery":
            out.append(
                {
                    "key": key,
                    "product": "onboarding",
                    "billing": "one_time",
                    "quantity": str(draw(st.integers(min_value=1, max_value=50))),
                    "unit_price": str(draw(PRICES)),
                    "service_start": str(_month(first, draw(st.integers(1, 28)))),
                }
            )
        else:
            out.append(
                {
                    "key": key,
                    "product": "seats",
                    "billing": "one_time",
                    "amount": str(draw(PRICES) * 7),
                    "recognition": "milestone" if kind == "milestone" else "ratable_monthly",
                    "service_start": str(_month(first, draw(st.sampled_from([1, 1, 17])))),
                    "service_end": str(_month(last)),
                    **({"progress_measure": "input"} if kind == "input" else {}),
                }
            )
    return out


def _activated(lines_per_contract, *, customer="bulk"):
    from revops.parties.models import Customer
    from revops.parties.services.customers import customer_create

    if not Customer.objects.filter(external_id=customer).exists():
        customer_create(external_id=customer, name="Bulk Co", currency="USD")
    contracts = []
    for n, lines in enumerate(lines_per_contract):
        contract = contract_create(
            customer=customer,
            currency="USD",
            start_date=date(2026, 1, 1),
            end_date=date(2027, 1, 1) if n % 2 else date(2027, 1, 15),
            lines=lines,
        )
        contracts.append(contract_activate(contract=contract, actor="bench"))
    return sorted(contracts, key=lambda c: c.pk)


def _written(seq: int) -> dict:
    """Every row the schedule services write, field for field (ids, timestamps, hashes included)."""
    return {
        "schedules": list(RevenueSchedule.objects.order_by("pk").values()),
        "lines": list(ScheduleLine.objects.order_by("pk").values()),
        "approvals": list(Approval.objects.filter(kind="revenue_schedule").order_by("pk").values()),
        "events": list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq").values()),
        "head": list(AuditChainHead.objects.values()),
    }


TABLES = (RevenueSchedule, ScheduleLine, Approval, AuditEvent)


def _sequences() -> list[tuple]:
    """PostgreSQL's id sequences of the tables written (a rollback does not rewind them; SQLite's
    AUTOINCREMENT counters are rows, rewound with the rest)."""
    if connection.vendor != "postgresql":
        return []
    out = []
    with connection.cursor() as cur:
        for model in TABLES:
            cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
            (name,) = cur.fetchone()
            cur.execute(f"SELECT last_value, is_called FROM {name}")  # noqa: S608 - a catalog name
            out.append((name, *cur.fetchone()))
    return out


def _rewind(sequences: list[tuple]) -> None:
    with connection.cursor() as cur:
        for name, last_value, is_called in sequences:
            cur.execute("SELECT setval(%s, %s, %s)", [name, last_value, is_called])


def _both_paths(contracts, *, actor, batch_size, monkeypatch) -> tuple[dict, dict]:
    monkeypatch.setattr(timezone, "now", lambda: FROZEN)
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    sequences = _sequences()
    with transaction.atomic():
        made = [s for c in contracts for s in schedules_generate(contract=c, actor=actor)]
        one = _written(seq)
        one["returned"] = len(made)
        transaction.set_rollback(True)
    _rewind(sequences)
    assert RevenueSchedule.objects.count() == 0
    with transaction.atomic():
        many = _written(seq)  # nothing yet: the rollback restored everything
        assert many["schedules"] == [] and many["events"] == []
        count = schedules_generate_many(
            contract_ids=[c.pk for c in contracts], actor=actor, batch_size=batch_size
        )
        many = _written(seq)
        many["returned"] = count
        transaction.set_rollback(True)
    return one, many


def test_batched_schedules_equal_the_single_path_row_for_row(catalog, make_user, monkeypatch):
    maker = make_user("maker", "finance")
    contracts = _activated(
        [
            [{"key": "platform", "product": "platform", "unit_price": "1000.00"}],
            [
                {"key": "platform", "product": "platform", "plan": "hybrid"},
                {
                    "key": "setup",
                    "product": "onboarding",
                    "billing": "one_time",
                    "quantity": "3",
                    "unit_price": "333.33",
                    "service_start": "2026-02-10",
                },
            ],
            [
                {
                    "key": "build",
                    "product": "seats",
                    "billing": "one_time",
                    "amount": "100000.01",
                    "recognition": "milestone",
                    "service_start": "2026-01-01",
                    "service_end": "2026-09-01",
                },
                {
                    "key": "project",
                    "product": "seats",
                    "billing": "one_time",
                    "amount": "7777.77",
                    "recognition": "ratable_monthly",
                    "progress_measure": "input",
                    "service_start": "2026-03-01",
                    "service_end": "2026-12-01",
                },
            ],
            [{"key": "seats", "product": "seats", "unit_price": "12.34", "quantity": "17"}],
        ]
    )
    fixed = PerformanceObligation.objects.filter(status="active", variable=False).count()
    assert PerformanceObligation.objects.filter(variable=True).exists()  # the hybrid plan's usage
    for batch_size in (1, 2, 500):
        one, many = _both_paths(contracts, actor=maker, batch_size=batch_size, monkeypatch=monkeypatch)
        assert one["returned"] == many["returned"] == fixed == len(one["schedules"])
        assert len(one["events"]) == 2 * fixed  # schedule.created, approval.requested per schedule
        assert one == many


@settings(
    max_examples=15,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # shrinking a database example takes minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    contracts=st.lists(contract_lines(), min_size=1, max_size=5),
    batch_size=st.integers(min_value=1, max_value=6),
    by_user=st.booleans(),
)
def test_property_any_contracts_any_batch_size_same_records(
    catalog, make_user, monkeypatch, contracts, batch_size, by_user
):
    with transaction.atomic():
        actor = make_user(f"maker-{id(contracts)}", "finance") if by_user else "revrec"
        activated = _activated(contracts)
        one, many = _both_paths(activated, actor=actor, batch_size=batch_size, monkeypatch=monkeypatch)
        assert one == many
        transaction.set_rollback(True)


def test_bulk_content_is_the_single_content(catalog):
    contracts = _activated(
        [
            [{"key": "platform", "product": "platform", "unit_price": "1000.00"}],
            [{"key": "seats", "product": "seats", "unit_price": "12.34", "quantity": "17"}],
        ]
    )
    assert schedules_generate_many(contract_ids=[c.pk for c in contracts]) == 2
    approvals = list(Approval.objects.filter(kind="revenue_schedule").order_by("pk"))
    assert _content_many(approvals) == [_content(a) for a in approvals]
    assert all(a.content["content"]["lines"] for a in approvals)


def test_batched_requests_keep_maker_checker_and_a_second_run_adds_nothing(catalog, make_user):
    maker, checker = make_user("maker", "approver"), make_user("checker", "approver")
    contracts = _activated(
        [[{"key": "platform", "product": "platform", "unit_price": f"{100 * n}.00"}] for n in range(1, 6)]
    )
    assert schedules_generate_many(contract_ids=[c.pk for c in contracts], actor=maker, batch_size=2) == 5
    assert schedules_generate_many(contract_ids=[c.pk for c in contracts], actor=maker, batch_size=2) == 0
    assert schedules_generate_many(actor=maker) == 0  # nothing is waiting for a schedule anywhere
    schedules = list(RevenueSchedule.objects.order_by("pk"))
    assert [s.version for s in schedules] == [1] * 5
    assert all(s.status == "pending_approval" and s.prepared_by == maker for s in schedules)
    with pytest.raises(SelfApproval):
        schedule_decide(schedule=schedules[0], user=maker, approve=True)
    assert schedule_decide(schedule=schedules[0], user=checker, approve=True).status == "approved"
    assert Approval.objects.filter(kind="revenue_schedule", status="pending").count() == 4
    assert audit_verify_chain().valid


def test_only_the_ids_given_are_scheduled(catalog):
    contracts = _activated(
        [[{"key": "platform", "product": "platform", "unit_price": f"{100 * n}.00"}] for n in range(1, 4)]
    )
    assert schedules_generate_many(contract_ids=[contracts[1].pk]) == 1
    assert set(RevenueSchedule.objects.values_list("obligation__contract_id", flat=True)) == {contracts[1].pk}
    po = PerformanceObligation.objects.get(contract=contracts[2])
    assert schedules_generate_many(obligation_ids=[po.pk]) == 1
    assert schedules_generate_many(contract_ids=[]) == 0
    assert schedules_generate_many() == 1  # the last one waiting


# --- bulk activations: one job per transaction, batches claimed with SKIP LOCKED -----------------------


@pytest.fixture
def sent(monkeypatch):
    """What activation sends to the workers, instead of running it in-process."""
    from revops.core.enqueue import task_named

    calls: list[tuple] = []
    for name in ("revrec.generate_schedules", "revrec.generate_schedules_many"):
        monkeypatch.setattr(task_named(name), "delay", lambda *a, _n=name, **kw: calls.append((_n, a)))
    return calls


def _draft(n: int, customer="bulk"):
    from revops.parties.models import Customer
    from revops.parties.services.customers import customer_create

    if not Customer.objects.filter(external_id=customer).exists():
        customer_create(external_id=customer, name="Bulk Co", currency="USD")
    return [
        contract_create(
            customer=customer,
            currency="USD",
            start_date=date(2026, 1, 1),
            end_date=date(2027, 1, 1),
            lines=[{"key": "platform", "product": "platform", "unit_price": f"{100 + i}.00"}],
        )
        for i in range(n)
    ]


def test_a_bulk_activation_sends_one_job_per_actor_after_the_commit(
    catalog, make_user, sent, settings, django_capture_on_commit_callbacks
):
    settings.REVREC_SCHEDULE_BATCH_SIZE = 2
    maker = make_user("maker", "finance")
    drafts = _draft(5)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            for contract in drafts[:3]:
                contract_activate(contract=contract, actor=maker)
            contract_activate(contract=drafts[3], actor="import")
            assert sent == []  # nothing before the commit
    ids = sorted(c.pk for c in drafts[:3])
    # Three contracts are more than one batch: two workers over the same ids (SKIP LOCKED); the
    # import's one contract: one worker.
    assert sorted(sent) == sorted(
        [
            ("revrec.generate_schedules_many", (ids, maker.pk)),
            ("revrec.generate_schedules_many", (ids, maker.pk)),
            ("revrec.generate_schedules_many", ([drafts[3].pk], None)),
        ]
    )
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the next transaction: its own job
        contract_activate(contract=drafts[4], actor=maker)
    assert sent == [("revrec.generate_schedules_many", ([drafts[4].pk], maker.pk))]


def test_an_activation_rolled_back_sends_nothing(catalog, sent, django_capture_on_commit_callbacks):
    drafts = _draft(2)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            contract_activate(contract=drafts[0], actor="import")
            raise RuntimeError("the import failed")
    assert sent == []
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            contract_activate(contract=drafts[1], actor="import")
    assert sent == [("revrec.generate_schedules_many", ([drafts[1].pk], None))]


def test_activated_contracts_get_their_schedules_from_the_job(
    catalog, make_user, django_capture_on_commit_callbacks
):
    maker = make_user("maker", "finance")
    drafts = _draft(4)
    with django_capture_on_commit_callbacks(execute=True):  # the test settings run tasks in-process
        with transaction.atomic():
            for contract in drafts:
                contract_activate(contract=contract, actor=maker)
    schedules = RevenueSchedule.objects.filter(obligation__contract__in=drafts)
    assert schedules.count() == 4
    assert {s.prepared_by_id for s in schedules} == {maker.pk}
    assert Approval.objects.filter(kind="revenue_schedule", status="pending", requested_by=maker).count() == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_skip_each_others_batches(catalog, sent):
    """One worker holds a batch (its obligations locked, not committed) while another runs over the same
    contracts: the second skips the held batch, without waiting, and schedules the rest; the first then
    dies (its transaction rolls back, as when a worker is killed) and running again schedules exactly
    what it held."""
    import threading

    from revrec.services import schedule_batches as service

    with transaction.atomic():
        contracts = [contract_activate(contract=c, actor="import") for c in _draft(7, customer="skip")]
    ids = [c.pk for c in contracts]
    assert sent == [("revrec.generate_schedules_many", (sorted(ids), None))]  # recorded, not run
    assert RevenueSchedule.objects.count() == 0
    held, holding, release = {}, threading.Event(), threading.Event()

    def killed_worker():
        try:
            with transaction.atomic():
                locked, pos = service._claim({"contract_id__in": ids}, 3)
                held["pos"] = [po.pk for po in pos]
                holding.set()
                release.wait(30)
                raise RuntimeError("worker killed")
        except RuntimeError:
            pass
        finally:
            connection.close()

    thread = threading.Thread(target=killed_worker)
    thread.start()
    try:
        assert holding.wait(30)
        assert schedules_generate_many(contract_ids=ids, batch_size=2) == 4  # the 3 held are skipped
        scheduled = set(RevenueSchedule.objects.values_list("obligation_id", flat=True))
    finally:
        release.set()
        thread.join(30)
    assert len(held["pos"]) == 3 and not scheduled & set(held["pos"])
    assert schedules_generate_many(contract_ids=ids, batch_size=2) == 3
    assert schedules_generate_many(contract_ids=ids) == 0
    _exactly_one_each(contracts)


def _exactly_one_each(contracts) -> None:
    versions = PerformanceObligation.objects.filter(contract__in=contracts).values_list(
        "schedules__version", flat=True
    )
    assert sorted(versions) == [1] * len(contracts)
    schedules = RevenueSchedule.objects.filter(obligation__contract__in=contracts)
    requests = Approval.objects.filter(kind="revenue_schedule", status="pending")
    assert sorted(int(pk) for pk in requests.values_list("object_id", flat=True)) == sorted(
        schedules.values_list("pk", flat=True)
    )
    created = AuditEvent.objects.filter(action="schedule.created").values_list("object_id", flat=True)
    assert sorted(int(pk) for pk in created) == sorted(schedules.values_list("pk", flat=True))
    assert AuditEvent.objects.filter(
        action="approval.requested", changes__kind="revenue_schedule"
    ).count() == len(contracts)
    assert audit_verify_chain().valid


class WorkerKilled(BaseException):
    """A worker process dying mid-batch (SIGKILL): not an error the service could handle."""


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_dies_midway_writes_nothing_and_is_done_again(catalog, sent, monkeypatch):
    """A failure after a batch's schedules and lines were written (its approval requests not yet): the
    batch's transaction rolls back whole — the batches before it stay committed — and the next run
    schedules exactly what is missing: nothing lost, nothing twice."""
    from revrec.services import schedule_batches as service

    with transaction.atomic():
        contracts = [contract_activate(contract=c, actor="import") for c in _draft(5, customer="dies")]
    ids = [c.pk for c in contracts]
    real, calls = service.approval_request_many, {"n": 0}

    def dies_on_the_second_batch(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            calls["written"] = RevenueSchedule.objects.count()  # inside the dying batch
            raise WorkerKilled  # the process dies here: nothing after this line runs
        return real(**kwargs)

    monkeypatch.setattr(service, "approval_request_many", dies_on_the_second_batch)
    with pytest.raises(WorkerKilled):
        schedules_generate_many(contract_ids=ids, batch_size=2)
    assert calls["written"] == 4  # the second batch had written its schedules (and lines)…
    assert RevenueSchedule.objects.count() == 2  # …and only the first batch is committed
    assert ScheduleLine.objects.filter(schedule__obligation__contract=contracts[2]).count() == 0
    monkeypatch.setattr(service, "approval_request_many", real)
    assert schedules_generate_many(contract_ids=ids, batch_size=2) == 3
    _exactly_one_each(contracts)


def test_an_obligation_that_fails_is_parked_and_the_others_are_scheduled(catalog, sent, monkeypatch, caplog):
    """One obligation's schedule cannot be made: the batch is made again one obligation at a time, the
    failing one is left without a schedule (logged), every other one gets its schedule, and a second run
    tries it again."""
    from revops.errors import InvalidTransition
    from revrec.services import schedule_batches as service

    with transaction.atomic():
        contracts = [contract_activate(contract=c, actor="import") for c in _draft(5, customer="park")]
    bad = PerformanceObligation.objects.get(contract=contracts[2])
    real = service.schedule_lines_for

    def refuses_one(po):
        if po.pk == bad.pk:
            raise InvalidTransition("terms the recognition functions refuse")
        return real(po)

    monkeypatch.setattr(service, "schedule_lines_for", refuses_one)
    assert schedules_generate_many(contract_ids=[c.pk for c in contracts], batch_size=10) == 4
    assert not RevenueSchedule.objects.filter(obligation=bad).exists()
    assert f"obligation {bad.pk}" in caplog.text
    assert audit_verify_chain().valid
    monkeypatch.setattr(service, "schedule_lines_for", real)
    assert schedules_generate_many(contract_ids=[c.pk for c in contracts]) == 1
    _exactly_one_each(contracts)
