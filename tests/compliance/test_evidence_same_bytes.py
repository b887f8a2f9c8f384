"""The evidence pack's record files are read as plain rows (no model instances) in an explicit order,
and stay byte for byte what the model-instance builders wrote: the builders as they were (commit
940af0e) are kept below as the reference, and every CSV of the pack is compared with theirs over a
varied book — three customers in two currencies, a contract amended (a second schedule version of
each obligation, the first superseded), a contract whose schedules wait for approval, revenue posted
for some periods and not others, several periods (before, inside and after the book)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

import pytest
from django.db.models import Sum

from compliance.evidence import BUILDERS
from compliance.evidence.registry import CSV_CHUNK_ROWS, Pack, _pack, csv_file
from revops.money import stored_sum
from tests.builders import day

pytestmark = pytest.mark.django_db

PERIODS = ["2025-12", "2026-01", "2026-02", "2026-04", "2026-06", "2027-03"]


# --- the reference: the builders as they were, one model instance per related row ------------------


def reference_allocations(pack: Pack):
    from revrec.models import PerformanceObligation

    pos = (
        PerformanceObligation.objects.filter(start__lt=pack.end)
        .select_related("contract", "product")
        .order_by("contract_id", "id")
    )
    return csv_file(
        (
            [
                p.contract.number,
                p.key,
                p.product.code,
                p.currency,
                p.ssp,
                p.ssp_source,
                p.fixed_price,
                p.allocated_amount,
                p.variable,
                p.recognition,
                p.start,
                p.end,
                p.status,
            ]
            for p in pos.iterator(chunk_size=CSV_CHUNK_ROWS)
        ),
        [
            "contract",
            "po",
            "product",
            "currency",
            "ssp",
            "ssp_source",
            "fixed_price",
            "allocated",
            "variable",
            "method",
            "start",
            "end",
            "status",
        ],
        controls={
            "rows": pos.count(),
            "allocated_total": str(stored_sum(pos.aggregate(s=Sum("allocated_amount"))["s"])),
        },
    )


def reference_schedules(pack: Pack):
    from revrec.models import RevenueSchedule, ScheduleLine

    found = RevenueSchedule.objects.filter(lines__period=pack.period).values("pk")
    lines = (
        ScheduleLine.objects.filter(schedule__in=found)
        .select_related("schedule__obligation__contract")
        .order_by("schedule__obligation", "-schedule__version", "schedule_id", "period", "id")
    )
    return csv_file(
        (
            [
                ln.schedule.obligation.contract.number,
                ln.schedule.obligation.key,
                ln.schedule.version,
                ln.schedule.status,
                ln.schedule.treatment,
                ln.period,
                ln.amount,
                ln.posted_entry_id or "",
            ]
            for ln in lines.iterator(chunk_size=CSV_CHUNK_ROWS)
        ),
        ["contract", "po", "version", "status", "treatment", "period", "amount", "posted_entry"],
    )


def reference_audit_trail(pack: Pack):
    from revops.core.audit.models import AuditEvent

    events = AuditEvent.objects.filter(occurred_at__date__gte=pack.start).order_by("seq")
    return csv_file(
        (
            [
                e.seq,
                e.occurred_at.isoformat(),
                e.actor_label,
                e.action,
                e.object_type,
                e.object_id,
                json.dumps(e.changes, sort_keys=True),
                e.prev_hash,
                e.hash,
            ]
            for e in events.iterator(chunk_size=CSV_CHUNK_ROWS)
        ),
        ["seq", "occurred_at", "actor", "action", "object_type", "object_id", "changes", "prev_hash", "hash"],
    )


REFERENCE = {
    "allocations.csv": reference_allocations,
    "schedules.csv": reference_schedules,
    "audit_trail.csv": reference_audit_trail,
}


def _bytes(built) -> bytes:
    return b"".join(built.iter_bytes())


# --- the book ---------------------------------------------------------------------------------------


def _project(key: str, amount: str, **fields) -> dict:
    return {"key": key, "product": "build", "billing": "one_time", "amount": amount, **fields}


@pytest.fixture
def varied_book(scenario, catalog):
    s = scenario.product("build", "ratable_monthly")
    # USD, the hybrid plan and a one-time setup, schedules approved, usage in January and February.
    s.customer("alpha", name="Alpha Inc").contract(
        "2026-01-01",
        "2027-01-01",
        [
            {"key": "platform", "product": "platform", "plan": "hybrid"},
            {"key": "setup", "product": "onboarding", "amount": "1200.00", "billing": "one_time"},
        ],
        key="alpha",
        approved_by="approver",
    )
    s.usage(
        [
            {"code": "api_calls", "timestamp": day(date(2026, m, 10)), "transaction_id": f"a{m}-{i}"}
            for m in (1, 2)
            for i in range(1000 + 50 * m)
        ],
        received_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    # EUR, two projects over different spans, amended on 1 April (a re-priced, c added): each
    # obligation gets a second schedule version and the first is superseded.
    s.customer("beta", name="Beta GmbH", currency="EUR").contract(
        "2026-01-01",
        "2027-01-01",
        [_project("a", "12000.00"), _project("b", "6000.00", service_end="2026-07-01")],
        key="beta",
        currency="EUR",
        approved_by="approver",
    )
    s.bill("2026-01-01", "2026-02-01", "2026-03-01").finalize(through_api=True)
    s.recognize("2026-01", "2026-02", "2026-03")
    s.amend(
        {
            "effective_date": "2026-04-01",
            "changes": [{"line": "a", "amount": "15000.00"}, {"add": _project("c", "3000.00")}],
        }
    )
    s.approve_as("approver")
    s.recognize("2026-04")
    # USD again, a project starting in February whose schedule waits for its approver.
    s.customer("gamma", name='=Gamma, "quoted" Ltd').contract(
        "2026-02-01", "2026-08-01", [_project("g", "3600.00")], key="gamma"
    )
    return s


def test_every_record_file_is_byte_identical_to_the_model_instance_builders(varied_book):
    from revrec.models import RevenueSchedule

    # The book is varied: two currencies, superseded and second versions, a pending schedule.
    assert set(RevenueSchedule.objects.values_list("currency", flat=True)) == {"USD", "EUR"}
    assert set(RevenueSchedule.objects.values_list("status", flat=True)) >= {
        "approved",
        "superseded",
        "pending_approval",
    }
    assert RevenueSchedule.objects.filter(version=2).exists()

    seen_rows = {}
    for period in PERIODS:
        pack = _pack(period)
        for name, reference in REFERENCE.items():
            expected = _bytes(reference(pack))
            built = BUILDERS[name](pack)
            assert _bytes(built) == expected, (period, name)
            assert built.controls == reference(pack).controls, (period, name)
            seen_rows[period, name] = expected.count(b"\n") - 1
    # Each file has rows in the periods of the book (so the comparisons compare something).
    assert seen_rows["2026-04", "schedules.csv"] > 20
    assert seen_rows["2026-02", "allocations.csv"] >= 5
    assert seen_rows["2026-01", "audit_trail.csv"] > 20
    assert seen_rows["2025-12", "schedules.csv"] == 0


def test_a_chunk_boundary_does_not_change_the_bytes(varied_book, monkeypatch):
    """The rows are read and written a chunk at a time: with a chunk of 7 rows the files are the
    same bytes as in one chunk."""
    pack = _pack("2026-04")
    whole = {name: _bytes(BUILDERS[name](pack)) for name in REFERENCE}
    monkeypatch.setattr("compliance.evidence.files.CSV_CHUNK_ROWS", 7)
    for name in REFERENCE:
        assert _bytes(BUILDERS[name](pack)) == whole[name], name
        assert (
            hashlib.sha256(whole[name]).hexdigest()
            == hashlib.sha256(_bytes(REFERENCE[name](pack))).hexdigest()
        )
