"""Planner statistics for batch jobs that read what the step before them just wrote.

A month end writes hundreds of thousands of rows in minutes (a billing run's invoices and lines, the
finalization's journal entries), faster than PostgreSQL's autovacuum re-analyzes them. The planner then
plans the next job's per-batch queries on the table sizes of before: at 100,000 contracts it believed
the journal held 170,000 lines when it held over a million, and read a whole account's lines (or the
whole table) for each batch of 200 obligations — work that grew with the ledger, batch after batch. A
job that is about to read such tables in many small batches refreshes their statistics once, when it
is planned (``ANALYZE`` samples a fixed number of rows: a fraction of a second, and it blocks neither
reads nor writes). Elsewhere (SQLite) there is nothing to do.
"""

from __future__ import annotations

from django.db import connection


def planner_statistics_refresh(*models) -> None:
    """``ANALYZE`` the tables of ``models`` on PostgreSQL (inside or outside a transaction)."""
    if connection.vendor != "postgresql" or not models:
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")
