"""bench/month_end.py: its options, the evidence pack verification, and — on PostgreSQL, at a tiny N,
in-process (tasks run eagerly instead of on two workers) — its seeding, every stage and every check,
including a check that catches a wrong result and stops the run."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest

import bench.__main__ as runner
from bench import month_end


def test_the_size_comes_from_the_options_then_the_environment(monkeypatch):
    monkeypatch.delenv("BENCH_MONTH_END_CONTRACTS", raising=False)
    assert month_end.options([])["contracts"] == 10_000
    assert month_end.options(["--large"])["contracts"] == 100_000
    assert month_end.options(["--contracts", "500"])["contracts"] == 500
    assert month_end.options(["--contracts=700"])["contracts"] == 700
    monkeypatch.setenv("BENCH_MONTH_END_CONTRACTS", "2500")
    assert month_end.options([])["contracts"] == 2500
    with pytest.raises(SystemExit, match="unknown option"):
        month_end.options(["--fast"])


def test_each_size_writes_its_own_section():
    assert month_end.section(10_000) == "month_end"
    assert month_end.section(100_000) == "month_end_large"
    assert month_end.section(500) == "month_end_500"


def test_the_runner_gives_a_benchmark_the_words_after_its_name():
    runs, unknown = runner.plan(["month_end", "--contracts", "100000", "billing_run"])
    assert runs == [("month_end", ["--contracts", "100000"]), ("billing_run", [])]
    assert unknown == []
    assert runner.plan(["--large"])[1] == ["--large"]  # an option before any benchmark is refused


def test_the_month_is_the_one_before_today():
    assert month_end.month(date(2026, 12, 7)) == ("2026-11", date(2026, 11, 1), date(2026, 12, 1))
    assert month_end.month(date(2027, 1, 1)) == ("2026-12", date(2026, 12, 1), date(2027, 1, 1))
    assert month_end.bounds("2026-12") == ("2026-12", date(2026, 12, 1), date(2027, 1, 1))


def test_the_plan_price_of_the_usage():
    assert month_end.expected_total(10) == Decimal("100.00")
    assert month_end.expected_total(20) == Decimal("100.50")


def _pack(files: dict[str, bytes]) -> bytes:
    import hashlib
    import json

    manifest = {
        "files": {
            name: {"sha256": hashlib.sha256(body).hexdigest(), "rows": body.count(b"\n") - 1}
            for name, body in files.items()
        }
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in files.items():
            archive.writestr(name, body)
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr(
            "MANIFEST.sha256", "".join(f"{m['sha256']}  {n}\n" for n, m in manifest["files"].items())
        )
    return buffer.getvalue()


def test_a_pack_verifies_and_a_changed_file_does_not():
    good = _pack({"a.csv": b"h\n1\n2\n", "b.csv": b"h\n"})
    assert month_end.verify_pack(good) == ([], 2)

    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["a.csv"] = b"h\n1\n3\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    failures, _files = month_end.verify_pack(buffer.getvalue())
    assert failures == ["a.csv: SHA-256 differs from the manifest"]


def _stages(contracts: int):
    from datetime import date as day

    finance, approver = month_end._users()
    key, start, end = month_end.month(day.today())
    return month_end.Stages(
        period=key,
        start=start,
        end=end,
        contracts=contracts,
        workers=None,
        finance=finance,
        approver=approver,
    )


def _connect():
    import psycopg

    from tests.workers import database_url

    return psycopg.connect(database_url(), autocommit=True)


@pytest.mark.postgres
@pytest.mark.real_books_clock
@pytest.mark.django_db(transaction=True)
def test_seeding_every_stage_and_every_check_at_a_tiny_size():
    contracts = 3
    key, _start, _end = month_end.month()
    seeded = month_end.seed(contracts=contracts, events=20, period=key)
    assert seeded["contracts"] == seeded["approved_schedules"] == seeded["fixed_obligations"] == contracts
    assert seeded["events"] == contracts * 20

    with _connect() as conn:
        results = month_end.run_stages(_stages(contracts), conn)

    assert [r["stage"] for r in results] == [name for name, _title in month_end.STAGES]
    assert [r["failures"] for r in results] == [[]] * len(month_end.STAGES)
    assert "3 draft invoices" in results[0]["work"]
    by_stage = {r["stage"]: r for r in results}
    assert "manifest verified" in by_stage["evidence"]["work"]
    # The documents are background work, waited for after the evidence pack and not on the critical path.
    assert [r["stage"] for r in results if r["background"]] == ["documents"] == [results[-1]["stage"]]
    assert "3 PDFs stored" in by_stage["documents"]["work"]


def test_the_background_documents_are_reported_apart_and_not_in_the_total():
    rss = {
        "bench": 1024,
        "workers": [{"main": 1024, "pool": 2048}],
        "backends": {"hwm": 1024, "anon": 1024},
        "load": 1.0,
        "reset": True,
    }
    stages = [
        {
            "stage": name,
            "title": title,
            "seconds": 10.0,
            "baseline": 1.0,
            "baseline_work": "",
            "work": "ok",
            "failures": [],
            "rss": rss,
            "background": name in month_end.BACKGROUND,
        }
        for name, title in month_end.STAGES
    ]
    stages[-1]["seconds"] = 500.0
    text = month_end.report(
        cfg={"contracts": 10_000, "events": 20},
        result={"stages": stages, "period": "2026-11"},
        pg="17",
        seed_seconds=1.0,
        loads=(1.0, 1.0),
    )
    table = text.split("| **Total** |")
    assert "**60.0**" in table[1].split("\n")[0]  # six critical stages of 10 s; not the 500 s of documents
    assert "Invoice documents (background)" in table[1] and "Invoice documents" not in table[0]
    assert "NOT in the total" in text and "**met**" in text


class _WrongUsage(month_end.Stages):
    """A billing run whose result is then made wrong: one invoice counts one call too many."""

    def billing(self):
        from billing.models import InvoiceLine

        outcome = super().billing()
        line = InvoiceLine.objects.filter(kind=InvoiceLine.Kind.USAGE).order_by("id").first()
        InvoiceLine.objects.filter(pk=line.pk).update(quantity=line.quantity + 1)
        return outcome


@pytest.mark.postgres
@pytest.mark.real_books_clock
@pytest.mark.django_db(transaction=True)
def test_a_stage_whose_result_is_wrong_fails_its_check_and_stops_the_run():
    contracts = 2
    key, _start, _end = month_end.month()
    month_end.seed(contracts=contracts, events=20, period=key)
    base = _stages(contracts)
    stages = _WrongUsage(
        period=base.period,
        start=base.start,
        end=base.end,
        contracts=contracts,
        workers=None,
        finance=base.finance,
        approver=base.approver,
    )

    with _connect() as conn:
        results = month_end.run_stages(stages, conn)

    assert [r["stage"] for r in results] == ["billing"]
    assert results[0]["failures"] == ["1 invoices' usage differs from the baseline's count"]


def test_a_process_peak_memory_is_read_and_reset():
    import os

    peak = month_end._status(os.getpid())
    assert peak["VmHWM"] >= peak["VmRSS"] > 0
    grown = bytearray(64 * 1024 * 1024)  # 64 MiB touched, then freed: the peak keeps it
    grown[::4096] = b"x" * len(grown[::4096])
    del grown
    high = month_end._status(os.getpid())["VmHWM"]
    assert high >= peak["VmRSS"] + 60 * 1024

    assert month_end._reset_peak(os.getpid())
    assert month_end._status(os.getpid())["VmHWM"] < high
