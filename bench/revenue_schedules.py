"""Revenue schedules for 10,000 contracts (``schedules_generate``) next to one ``INSERT … SELECT … FROM
generate_series`` computing the same monthly lines, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/concord_bench .venv/bin/python -m bench revenue_schedules

Seeding (in ``concord_bench_revrec_seed``; not measured): a ``platform`` product recognized ratably by
day; one customer and a one-year contract (a recurring line at 1,000.00 a month, anniversary billing,
so 12,000.00 of fixed consideration) through ``customer_create`` / ``contract_create`` /
``contract_activate`` — activation creates and allocates its performance obligation; the schedule
task it queues is not run, that is what is measured — then ``BENCH_CONTRACTS - 1`` copies with
``INSERT … SELECT`` (``bench._common.clone_contracts``), their start dates spread over the first 28
days of January 2026 (contract and obligation dates moved together) so the monthly amounts differ.

Each round starts from a fresh copy of the seeded database and measures:

1. the baseline: one ``INSERT INTO bench_sql_schedule_line … SELECT … FROM revrec_performanceobligation
   CROSS JOIN LATERAL generate_series(month, …)``: one line per obligation and month, the amount by
   days with cumulative rounding (round the cumulative amount at each month end, take differences),
   into a plain table with the same column types (best of 3, truncated in between);
2. the service: ``schedules_generate(contract=…)`` for every contract, one call (one transaction) each,
   in one process, as the ``revrec.generate_schedules`` task does after an activation: it computes the
   lines with ``revrec.recognition``, writes the schedule version and its lines, the audit events and
   the approval request.

Checked: one schedule per obligation, every schedule's lines summing to the obligation's allocation,
and every service line equal (period, dates, amount) to the SQL line. Tunables: BENCH_CONTRACTS
(10000), BENCH_REVREC_ROUNDS (1), BENCH_KEEP_DB=1.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date

from bench._common import (
    child,
    clone_contracts,
    create_db,
    drop_db,
    emit,
    load_average,
    manage,
    pg_version,
    server_url,
    settle,
    spread,
)

SEED_DB = "concord_bench_revrec_seed"
RUN_DB = "concord_bench_revrec"
PREFIX = "rev"
START, END = date(2026, 1, 1), date(2027, 1, 1)
MONTHLY = "1000.00"

BASELINE_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_sql_schedule_line (obligation_id bigint NOT NULL, "
    'period varchar(7) NOT NULL, start date NOT NULL, "end" date NOT NULL, amount numeric(20, 4) NOT NULL)'
)
# Cumulative rounding by days, like revrec.recognition._ratable("ratable_daily"): the cumulative amount
# at each month's end (or the obligation's end) is rounded once to cents (half away from zero, the
# same as ROUND_HALF_UP for these positive amounts); a month's amount is the difference of two cut-offs.
BASELINE_SQL = """
INSERT INTO bench_sql_schedule_line (obligation_id, period, start, "end", amount)
SELECT po.id, to_char(m, 'YYYY-MM'), s.first, s.stop,
       round(po.allocated_amount * (s.stop - po.start) / (po."end" - po.start), 2)
     - round(po.allocated_amount * (s.first - po.start) / (po."end" - po.start), 2)
FROM revrec_performanceobligation AS po
CROSS JOIN LATERAL generate_series(date_trunc('month', po.start), po."end" - 1, interval '1 month') AS m
CROSS JOIN LATERAL (SELECT greatest(m::date, po.start) AS first,
                           least((m + interval '1 month')::date, po."end") AS stop) AS s
WHERE po.status = 'active' AND NOT po.variable AND po.recognition = 'ratable_daily'
"""


def _settings() -> dict:
    return {
        "contracts": int(os.environ.get("BENCH_CONTRACTS", "10000")),
        "rounds": max(1, int(os.environ.get("BENCH_REVREC_ROUNDS", "1"))),
    }


# --- seeding (a Django child process on the seed database) -------------------------------------------


def _seed_main(contracts: int) -> None:
    import django

    django.setup()
    from django.db import connection, transaction

    from billing.contracts.services import contract_activate, contract_create
    from revops.parties.services.customers import customer_create
    from revops.parties.services.products import product_create
    from revrec import tasks as revrec_tasks

    started = time.perf_counter()
    revrec_tasks.generate_schedules.delay = lambda *a, **k: None  # measured below, not at seeding
    with transaction.atomic():
        product_create(code="platform", name="Platform", recognition="ratable_daily")
        customer_create(external_id=f"{PREFIX}-00001", name="Bench customer 1", currency="USD")
        contract = contract_create(
            customer=f"{PREFIX}-00001",
            currency="USD",
            start_date=START,
            end_date=END,
            billing_anchor="anniversary",
            lines=[{"key": "platform", "product": "platform", "unit_price": MONTHLY}],
        )
        contract = contract_activate(contract=contract, actor="bench")
    with transaction.atomic(), connection.cursor() as cur:
        clone_contracts(cur, template_contract=contract.pk, count=contracts, prefix=PREFIX)
        # Spread the start dates (a year each, so the allocation is unchanged with anniversary billing).
        cur.execute(
            "UPDATE contracts_contract SET start_date = %s::date + (id %% 28)::int, end_date = %s::date + (id %% 28)::int",
            [START, END],
        )
        cur.execute(
            'UPDATE revrec_performanceobligation AS po SET start = c.start_date, "end" = c.end_date '
            "FROM contracts_contract AS c WHERE c.id = po.contract_id"
        )
        cur.execute(
            "SELECT count(*), count(DISTINCT allocated_amount) FROM revrec_performanceobligation "
            "WHERE NOT variable"
        )
        obligations, amounts = cur.fetchone()
    emit({"obligations": obligations, "amounts": amounts, "seconds": time.perf_counter() - started})


# --- the measured service (a Django child process) ------------------------------------------------------


def _run_main() -> None:
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count, F, Sum

    from billing.contracts.models import Contract
    from revrec.models import PerformanceObligation, RevenueSchedule, ScheduleLine
    from revrec.services.schedules import schedules_generate

    contracts = list(Contract.objects.order_by("pk"))
    started = time.perf_counter()
    cpu = time.process_time()
    created = 0
    for contract in contracts:
        created += len(schedules_generate(contract=contract, actor="revrec"))
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    off = (
        RevenueSchedule.objects.annotate(lines_total=Sum("lines__amount"))
        .exclude(lines_total=F("amount"))
        .count()
    )
    unallocated = (
        PerformanceObligation.objects.filter(variable=False)
        .annotate(n=Count("schedules"))
        .exclude(n=1)
        .count()
    )
    wrong_amount = RevenueSchedule.objects.exclude(amount=F("obligation__allocated_amount")).count()
    with connection.cursor() as cur:
        # Every service line next to the SQL line of the same obligation and month.
        cur.execute(
            "SELECT count(*) FILTER (WHERE b.obligation_id IS NULL OR l.id IS NULL), "
            'count(*) FILTER (WHERE b.amount <> l.amount OR b.start <> l.start OR b."end" <> l."end"), '
            "count(l.id) "
            "FROM (revrec_scheduleline AS l JOIN revrec_revenueschedule AS s ON s.id = l.schedule_id) "
            "FULL JOIN bench_sql_schedule_line AS b ON b.obligation_id = s.obligation_id AND b.period = l.period"
        )
        unmatched, different, lines = cur.fetchone()
    emit(
        {
            "seconds": seconds,
            "cpu": cpu,
            "contracts": len(contracts),
            "schedules": created,
            "lines": ScheduleLine.objects.count(),
            "sql_lines_compared": lines,
            "unmatched": unmatched,
            "different": different,
            "schedules_not_summing": off,
            "schedules_not_allocation": wrong_amount,
            "obligations_without_one_schedule": unallocated,
            "total": RevenueSchedule.objects.aggregate(t=Sum("amount"))["t"],
        }
    )


# --- the benchmark ------------------------------------------------------------------------------------


def _baseline(url: str, rounds: int = 3) -> tuple[list[float], int]:
    import psycopg

    times, rows = [], 0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(BASELINE_TABLE)
        for _ in range(rounds):
            conn.execute("TRUNCATE bench_sql_schedule_line")
            started = time.perf_counter()
            with conn.transaction():
                rows = conn.execute(BASELINE_SQL).rowcount
            times.append(time.perf_counter() - started)
    return times, rows


def run() -> str | None:
    url = server_url("revenue_schedules")
    if url is None:
        return None
    cfg = _settings()
    load_before = load_average()
    seed_url = create_db(url, SEED_DB)
    runs, baselines, sql_rows = [], [], 0
    try:
        print("migrating the seed database…", flush=True)
        manage(seed_url, "migrate", "--noinput")
        print(f"seeding {cfg['contracts']:,} contracts…", flush=True)
        seeded = child("bench.revenue_schedules", "seed", str(cfg["contracts"]), url=seed_url)
        assert seeded["obligations"] == cfg["contracts"], seeded
        settle(seed_url)
        pg = pg_version(seed_url)
        for round_no in range(1, cfg["rounds"] + 1):
            run_url = create_db(url, RUN_DB, template=SEED_DB)
            try:
                settle(run_url)
                times, sql_rows = _baseline(run_url)
                baselines.extend(times)
                print(
                    f"round {round_no}/{cfg['rounds']}: baseline {spread(times, 3)} s; service…", flush=True
                )
                result = child("bench.revenue_schedules", "run", url=run_url)
                print(f"round {round_no}: {result}", flush=True)
                assert result["schedules"] == cfg["contracts"], result
                assert result["lines"] == result["sql_lines_compared"] == sql_rows, (result, sql_rows)
                for key in (
                    "unmatched",
                    "different",
                    "schedules_not_summing",
                    "schedules_not_allocation",
                    "obligations_without_one_schedule",
                ):
                    assert result[key] == 0, (key, result)
                runs.append(result)
            finally:
                drop_db(url, RUN_DB)
    finally:
        drop_db(url, SEED_DB)
    load_after = load_average()

    base = min(baselines)
    best = min(runs, key=lambda r: r["seconds"])
    ratio = best["seconds"] / base
    n = cfg["contracts"]
    lines = [
        "## Revenue schedules (`bench/revenue_schedules.py`)",
        "",
        f"`DATABASE_URL=postgres://… python -m bench revenue_schedules` · PostgreSQL {pg} on the same "
        f"machine · {n:,} one-year contracts (12,000.00 each, start dates spread over 1–28 January 2026), "
        f"one ratable-by-day performance obligation each, {best['lines']:,} monthly schedule lines. "
        f"{len(runs)} round(s), each on a fresh copy of the seeded database; the baseline is the best of 3 "
        "in every round.",
        "",
        "| Path | Work | Seconds (best) | Per contract | vs SQL baseline | All rounds (s) |",
        "|---|---|---:|---:|---:|---|",
        f"| SQL baseline: one `INSERT … SELECT … CROSS JOIN LATERAL generate_series(…)` (day-based "
        f"amounts, cumulative rounding) | {sql_rows:,} lines | {base:.3f} | {base / n * 1e6:,.0f} µs | 1× | "
        f"{spread(baselines, 3)} |",
        f"| `schedules_generate` per contract (one process, one transaction per contract: schedule "
        f"version, lines, audit events, approval request) | {best['schedules']:,} schedules, "
        f"{best['lines']:,} lines | {best['seconds']:.1f} | {best['seconds'] / n * 1000:.2f} ms | "
        f"{ratio:,.0f}× | {spread([r['seconds'] for r in runs], 1)} |",
        "",
        f"- The service used {best['cpu']:.1f} s of CPU in its own process ({best['cpu'] / n * 1000:.2f} ms "
        "per contract); the rest of its wall time is PostgreSQL and the round trips (about a dozen "
        "statements and one commit per contract).",
        f"- Checked: one schedule per obligation; every schedule's lines sum to its allocation; all "
        f"{best['lines']:,} service lines equal the SQL lines (same obligation, month, dates and amount "
        f"to the cent); total scheduled {best['total']}.",
        "- The ratio compares writing bare rows in one statement with the product's unit of work per "
        "contract (its own transaction, a versioned schedule awaiting maker-checker approval, a hash-"
        "chained audit trail); there is no target for it in issue 8.",
        "- Seeding (not measured): one contract through the services, the others copied with "
        "`INSERT … SELECT`; see the module docstring.",
        f"- Load average (1 min) {load_before:.1f} before, {load_after:.1f} after.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "seed":
        _seed_main(int(sys.argv[2]))
    elif command == "run":
        _run_main()
    else:
        print("usage: python -m bench revenue_schedules   (internal commands: seed, run)")
        sys.exit(2)
