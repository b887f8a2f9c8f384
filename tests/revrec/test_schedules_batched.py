"""Schedules for bulk activations, batched (issue 15 §3): ``schedules_generate_many`` writes, per batch
and set-based, exactly what ``schedules_generate`` writes contract by contract — the same schedule
versions, lines, approval requests (content and hash) and audit events (sequence numbers and hashes of
the chain) — over varied contracts, for any batch size.

How the two paths are compared: on SQLite (``AUTOINCREMENT`` keys, restored by a rollback) the clock
is frozen, the single path runs inside a savepoint, every row it wrote is read, the savepoint is
rolled back, and the batched path runs from the same state: the rows must be equal field for field,
ids and hashes included."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from billing.contracts.services import contract_activate, contract_create
from revops.core.approvals.models import Approval
from revops.core.approvals.services import SelfApproval
from revops.core.audit.models import AuditChainHead, AuditEvent
from revops.core.audit.verify import audit_verify_chain
from revrec.models import PerformanceObligation, RevenueSchedule, ScheduleLine
from revrec.services.schedules import (
    _content,
    _content_many,
    schedule_decide,
    schedules_generate,
    schedules_generate_many,
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


def _both_paths(contracts, *, actor, batch_size, monkeypatch) -> tuple[dict, dict]:
    monkeypatch.setattr(timezone, "now", lambda: FROZEN)
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    with transaction.atomic():
        made = [s for c in contracts for s in schedules_generate(contract=c, actor=actor)]
        one = _written(seq)
        one["returned"] = len(made)
        transaction.set_rollback(True)
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
