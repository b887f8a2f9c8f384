"""The revenue waterfall report over a year of ledger data, next to the same cells computed by one SQL
statement, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/concord_bench .venv/bin/python -m bench waterfall

Seeding (in ``concord_bench_waterfall``; not measured): a ``platform`` product, one customer and a
one-year 2026 contract through the services (activation creates its performance obligation), then
``BENCH_WATERFALL_CONTRACTS - 1`` copies (``bench._common.clone_contracts``); the chart of accounts
and the twelve 2026 accounting periods; then a year of journal entries written directly with
``INSERT … SELECT … FROM generate_series`` (what ``revrec.services.postings`` would post, without the
invoices behind them), each entry balanced, one side per line, a unique ``source_key``:

- three contracts in four are billed quarterly in advance (Dr AR / Cr deferred revenue on the 1st of
  January, April, July and October) and recognize monthly (Dr deferred / Cr revenue at each month end);
- the fourth is billed monthly in arrears: revenue recognized at each month end goes to unbilled
  receivables (Dr unbilled / Cr revenue) and is billed the next month (Dr AR / Cr unbilled), so
  December's revenue is still unbilled at the end of the year;
- the monthly amount varies by contract (100 to 590).

Measured, warm (one call first, then the best of ``BENCH_WATERFALL_ROUNDS``=5):

1. the baseline: one SQL statement over the journal lines that computes the waterfall's cells itself:
   billed and recognized amounts per obligation and period (GROUP BY), each turned into a segment of a
   cumulative axis (window sums), the cells being the overlaps of billed and recognized segments of the
   same obligation, summed by (billed period, recognized period) — first-in, first-out in SQL;
2. ``revrec.reports.waterfall(start="2026-01", end="2027-01", currency="USD")``: the report function the
   page and the API call.

Also shown: the plain ``GROUP BY period`` of recognition lines (recognized revenue per month). Checked:
every cell of the report equals the SQL cell, and the report's billed and recognized totals equal the
ledger's.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from decimal import Decimal

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

DB = "concord_bench_waterfall"
PREFIX = "wf"
START, END = "2026-01", "2027-01"
TARGET_SECONDS = 1.0

# Cells (billed period × recognized period) of the FIFO waterfall, for postings before END.
BASELINE_SQL = """
WITH flows AS (
    SELECT l.obligation_id AS po, e.period,
           sum(CASE WHEN a.role IN ('deferred', 'unbilled')
                     AND e.source_type IN ('billing.invoice', 'billing.creditnote')
                    THEN l.credit - l.debit ELSE 0 END) AS billed,
           sum(CASE WHEN a.role IN ('revenue', 'revenue_sub') THEN l.credit - l.debit ELSE 0 END) AS recognized
    FROM revrec_journalline AS l
    JOIN revrec_journalentry AS e ON e.id = l.entry_id
    JOIN revrec_account AS a ON a.id = l.account_id
    WHERE e.currency = %(currency)s AND e.period < %(end)s AND l.obligation_id IS NOT NULL
      AND a.role IN ('deferred', 'unbilled', 'revenue', 'revenue_sub')
    GROUP BY 1, 2
), billed AS (
    SELECT po, period, sum(billed) OVER w - billed AS lo, sum(billed) OVER w AS hi
    FROM flows WHERE billed > 0 WINDOW w AS (PARTITION BY po ORDER BY period)
), recognized AS (
    SELECT po, period, sum(recognized) OVER w - recognized AS lo, sum(recognized) OVER w AS hi
    FROM flows WHERE recognized > 0 WINDOW w AS (PARTITION BY po ORDER BY period)
)
SELECT b.period, r.period, sum(least(b.hi, r.hi) - greatest(b.lo, r.lo))
FROM billed AS b JOIN recognized AS r ON r.po = b.po AND r.lo < b.hi AND b.lo < r.hi
GROUP BY 1, 2
"""
RECOGNIZED_SQL = """
SELECT e.period, sum(l.credit - l.debit) FROM revrec_journalline AS l
JOIN revrec_journalentry AS e ON e.id = l.entry_id JOIN revrec_account AS a ON a.id = l.account_id
WHERE a.role IN ('revenue', 'revenue_sub') AND e.currency = %(currency)s AND e.period >= %(start)s
  AND e.period < %(end)s
GROUP BY e.period
"""

# Entries: one row per (contract, month, kind); lines join back on the unique source_key.
ENTRIES_SQL = """
INSERT INTO revrec_journalentry (date, period, source, source_type, source_id, source_key, memo, currency,
                                 contract_id, correction_for_period, created_at)
SELECT x.day, to_char(x.day, 'YYYY-MM'), x.source, x.source_type, x.source_id, x.key, x.memo, 'USD', c.id, '',
       now()
FROM contracts_contract AS c
CROSS JOIN generate_series(1, 12) AS m
CROSS JOIN LATERAL (VALUES
    -- quarterly in advance: an invoice on the 1st of months 1, 4, 7, 10
    (c.id %% 4 <> 0 AND m %% 3 = 1, make_date(2026, m, 1), 'invoice', 'billing.invoice',
     'bench-' || c.id || '-' || m, 'bench-invoice:' || c.id || ':' || m, 'Invoice (bench)'),
    -- monthly in arrears: the invoice for month m on the 1st of month m + 1 (within the year)
    (c.id %% 4 = 0 AND m < 12, (make_date(2026, m, 1) + interval '1 month')::date, 'invoice', 'billing.invoice',
     'bench-' || c.id || '-' || m, 'bench-invoice:' || c.id || ':' || m, 'Invoice (bench)'),
    -- revenue recognized at every month end
    (true, (make_date(2026, m, 1) + interval '1 month' - interval '1 day')::date, 'recognition',
     'contracts.contract', c.id::text, 'bench-recognition:' || c.id || ':' || m, 'Revenue recognized (bench)')
) AS x (wanted, day, source, source_type, source_id, key, memo)
WHERE x.wanted
"""
LINES_SQL = """
INSERT INTO revrec_journalline (entry_id, account_id, debit, credit, contract_id, obligation_id, product_id, memo)
SELECT e.id, acct.id, side.debit, side.credit, e.contract_id, po.id, po.product_id, ''
FROM revrec_journalentry AS e
JOIN revrec_performanceobligation AS po ON po.contract_id = e.contract_id
CROSS JOIN LATERAL (SELECT (100 + (e.contract_id %% 50) * 10)::numeric AS monthly,
                           e.contract_id %% 4 = 0 AS arrears) AS k
CROSS JOIN LATERAL (VALUES
    (e.source = 'invoice', 'ar', CASE WHEN k.arrears THEN k.monthly ELSE 3 * k.monthly END, 0::numeric),
    (e.source = 'invoice', CASE WHEN k.arrears THEN 'unbilled' ELSE 'deferred' END, 0::numeric,
     CASE WHEN k.arrears THEN k.monthly ELSE 3 * k.monthly END),
    (e.source = 'recognition', CASE WHEN k.arrears THEN 'unbilled' ELSE 'deferred' END, k.monthly, 0::numeric),
    (e.source = 'recognition', 'revenue', 0::numeric, k.monthly)
) AS side (wanted, role, debit, credit)
JOIN revrec_account AS acct ON acct.role = side.role
WHERE side.wanted AND e.source_key LIKE 'bench-%%'
"""


def _settings() -> dict:
    return {
        "contracts": int(os.environ.get("BENCH_WATERFALL_CONTRACTS", "2000")),
        "rounds": max(1, int(os.environ.get("BENCH_WATERFALL_ROUNDS", "5"))),
    }


def _seed_main(contracts: int) -> None:
    import django

    django.setup()
    from django.db import connection, transaction

    from billing.contracts.services import contract_activate, contract_create
    from revops.parties.services.customers import customer_create
    from revops.parties.services.products import product_create
    from revrec import tasks as revrec_tasks
    from revrec.services.ledger import ensure_chart
    from revrec.services.periods import ensure_period

    started = time.perf_counter()
    revrec_tasks.generate_schedules.delay = lambda *a, **k: None  # the ledger is seeded directly
    revrec_tasks.generate_schedules_many.delay = lambda *a, **k: None
    with transaction.atomic():
        product_create(code="platform", name="Platform", recognition="ratable_daily")
        customer_create(external_id=f"{PREFIX}-00001", name="Bench customer 1", currency="USD")
        contract = contract_create(
            customer=f"{PREFIX}-00001",
            currency="USD",
            start_date=date(2026, 1, 1),
            end_date=date(2027, 1, 1),
            lines=[{"key": "platform", "product": "platform", "unit_price": "100.00"}],
        )
        contract = contract_activate(contract=contract, actor="bench")
        ensure_chart()
        for month in range(1, 13):
            ensure_period(f"2026-{month:02d}")
    with transaction.atomic(), connection.cursor() as cur:
        clone_contracts(cur, template_contract=contract.pk, count=contracts, prefix=PREFIX)
        cur.execute(ENTRIES_SQL, [])
        entries = cur.rowcount
        cur.execute(LINES_SQL, [])
        lines = cur.rowcount
        cur.execute(
            "SELECT count(*) FROM (SELECT entry_id FROM revrec_journalline GROUP BY entry_id "
            "HAVING sum(debit) <> sum(credit)) AS x"
        )
        unbalanced = cur.fetchone()[0]
    emit(
        {
            "entries": entries,
            "lines": lines,
            "unbalanced": unbalanced,
            "seconds": time.perf_counter() - started,
        }
    )


def _measure_main(rounds: int) -> None:
    import django

    django.setup()
    from django.db import connection

    from revrec.reports import waterfall

    params = {"currency": "USD", "start": START, "end": END}

    def sql(query):
        with connection.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def best(fn):
        result = fn()  # warm: connection, catalog, caches, plans
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - started)
        return times, result

    base_times, cells = best(lambda: sql(BASELINE_SQL))
    group_times, recognized = best(lambda: sql(RECOGNIZED_SQL))
    report_times, report = best(lambda: waterfall(start=START, end=END, currency="USD"))

    sql_cells = {(bp, rp): Decimal(amount) for bp, rp, amount in cells if amount}
    report_cells = {
        (row["billed_period"], cell["period"]): cell["amount"]
        for row in report["rows"]
        if row["billed_period"] in report["months"]  # not the "before" and "not yet billed" rows
        for cell in row["cells"]
        if cell["amount"]
    }
    in_range = {k: v for k, v in sql_cells.items() if START <= k[1] < END and START <= k[0] < END}
    mismatched = sum(1 for k in set(in_range) | set(report_cells) if in_range.get(k) != report_cells.get(k))
    recognized_total = sum((Decimal(v) for _, v in recognized), Decimal(0))
    with connection.cursor() as cur:
        cur.execute(
            "SELECT sum(l.credit - l.debit) FROM revrec_journalline l JOIN revrec_journalentry e "
            "ON e.id = l.entry_id JOIN revrec_account a ON a.id = l.account_id "
            "WHERE a.role IN ('deferred', 'unbilled') AND e.source_type = 'billing.invoice'"
        )
        billed_total = cur.fetchone()[0]
    emit(
        {
            "baseline": base_times,
            "group_by": group_times,
            "report": report_times,
            "cells": len(report_cells),
            "mismatched_cells": mismatched,
            "billed_in_range": report["billed_in_range"],
            "billed_ledger": billed_total,
            "recognized_in_range": report["recognized_in_range"],
            "recognized_ledger": recognized_total,
            "not_yet_billed": report["rows"][-1]["total"],
            "deferred": report["totals"]["deferred"],
        }
    )


def run() -> str | None:
    url = server_url("waterfall")
    if url is None:
        return None
    cfg = _settings()
    load_before = load_average()
    db_url = create_db(url, DB)
    try:
        print("migrating the scratch database…", flush=True)
        manage(db_url, "migrate", "--noinput")
        print(f"seeding {cfg['contracts']:,} contracts and a year of journal entries…", flush=True)
        seeded = child("bench.waterfall", "seed", str(cfg["contracts"]), url=db_url)
        assert seeded["unbalanced"] == 0, seeded
        settle(db_url)
        pg = pg_version(db_url)
        result = child("bench.waterfall", "measure", str(cfg["rounds"]), url=db_url)
        print(result, flush=True)
    finally:
        drop_db(url, DB)
    load_after = load_average()
    assert result["mismatched_cells"] == 0, result
    assert Decimal(str(result["billed_in_range"])) == Decimal(str(result["billed_ledger"])), result
    assert Decimal(str(result["recognized_in_range"])) == Decimal(str(result["recognized_ledger"])), result

    report, base, group = min(result["report"]), min(result["baseline"]), min(result["group_by"])
    lines = [
        "## Revenue waterfall (`bench/waterfall.py`)",
        "",
        f"`DATABASE_URL=postgres://… python -m bench waterfall` · PostgreSQL {pg} on the same machine · "
        f"{cfg['contracts']:,} contracts with a year (2026) of ledger data: {seeded['entries']:,} journal "
        f"entries, {seeded['lines']:,} lines (quarterly billing in advance for three contracts in four, "
        "monthly billing in arrears for the rest, revenue recognized monthly). Warm: one call first, then "
        f"the best of {cfg['rounds']}.",
        "",
        "| Path | Result | Seconds (best) | vs SQL baseline | All rounds (s) |",
        "|---|---|---:|---:|---|",
        f"| SQL baseline: one statement computing the FIFO cells (GROUP BY obligation × period, window sums, "
        f"overlap join, GROUP BY billed × recognized period) | {result['cells']} cells | {base:.3f} | 1× | "
        f"{spread(result['baseline'], 3)} |",
        f'| `revrec.reports.waterfall(start="{START}", end="{END}", currency="USD")` | billed month × '
        f"recognized month, {result['cells']} cells, deferred and not yet billed | "
        f"{report:.3f} | {report / base:.1f}× | {spread(result['report'], 3)} |",
        f"| For scale: plain `GROUP BY period` of the revenue lines (recognized per month, no attribution) "
        f"| 12 rows | {group:.3f} | {group / base:.2f}× | {spread(result['group_by'], 3)} |",
        "",
        f"- Target under {TARGET_SECONDS:.0f} s: **{'met' if report < TARGET_SECONDS else 'missed'}** "
        f"({report:.3f} s).",
        f"- Checked: each of the report's {result['cells']} cells equals the SQL cell; billed in range "
        f"{result['billed_in_range']} and recognized in range {result['recognized_in_range']} equal the "
        f"ledger's totals; not yet billed {result['not_yet_billed']}, still deferred {result['deferred']}.",
        "- Seeding (not measured): contracts through the services and copied with `INSERT … SELECT`, "
        "journal entries written directly (balanced, one side per line, unique source keys), without the "
        "invoices behind them; see the module docstring.",
        f"- Load average (1 min) {load_before:.1f} before, {load_after:.1f} after.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "seed":
        _seed_main(int(sys.argv[2]))
    elif command == "measure":
        _measure_main(int(sys.argv[2]))
    else:
        print("usage: python -m bench waterfall   (internal commands: seed, measure)")
        sys.exit(2)
