"""Writing a batch of journal entries and their lines with one statement per table (``INSERT …
SELECT FROM unnest`` on PostgreSQL, ``bulk_create`` elsewhere)."""

from __future__ import annotations

from collections import defaultdict

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from revrec.models import (
    JournalEntry,
    JournalLine,
    ScheduleLine,
)
from revrec.services.ledger import (
    entry_lines,
)


def write_entries(recs: list, entries: list[JournalEntry]) -> list:
    """Insert ``entries`` (one per rec, in order) with one statement; sets ``rec.entry`` of those
    written and returns those recs (an entry whose key was posted meanwhile is left out)."""
    if connection.vendor == "postgresql":
        ids = _insert_entries_pg(entries)
        written = []
        for rec, entry in zip(recs, entries, strict=True):
            if entry.source_key in ids:
                entry.pk = ids[entry.source_key]
                entry._state.adding = False
                rec.entry = entry
                written.append(rec)
        return written
    try:
        with transaction.atomic():
            JournalEntry.objects.bulk_create(entries)
    except IntegrityError:
        written = []
        for rec, entry in zip(recs, entries, strict=True):
            entry.pk = None
            try:
                with transaction.atomic():
                    entry.save()
            except IntegrityError:
                continue
            rec.entry = entry
            written.append(rec)
        return written
    for rec, entry in zip(recs, entries, strict=True):
        rec.entry = entry
    return recs


_ENTRY_COLUMNS = (
    ("date", "date"),
    ("period", "text"),
    ("source", "text"),
    ("source_type", "text"),
    ("source_id", "text"),
    ("source_key", "text"),
    ("memo", "text"),
    ("currency", "text"),
    ("contract_id", "bigint"),
    ("correction_for_period", "text"),
    ("business_date", "date"),
)


_LINE_COLUMNS = (
    ("entry_id", "bigint"),
    ("account_id", "bigint"),
    ("debit", "numeric"),
    ("credit", "numeric"),
    ("contract_id", "bigint"),
    ("obligation_id", "bigint"),
    ("product_id", "bigint"),
    ("memo", "text"),
)


def unnest_insert(table: str, columns, rows: list[tuple], *, extra: str = "", returning: str = ""):
    """``INSERT INTO table (columns) SELECT * FROM unnest(arrays)`` — one statement, the values sent as
    one array per column (PostgreSQL), without a model instance per row."""
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(table)} ({names}) "  # noqa: S608 - names are ours
        f"SELECT * FROM unnest({arrays}) {extra} {returning}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(column) for column in zip(*rows, strict=True)])
        return cursor.fetchall() if returning else None


def _insert_entries_pg(entries: list[JournalEntry]) -> dict[str, int]:
    """{source key: id} of the entries inserted (a key already posted is skipped)."""
    now = timezone.now()
    for entry in entries:
        entry.created_at = now
    columns = (*_ENTRY_COLUMNS, ("created_at", "timestamptz"))
    rows = [(*(getattr(entry, name) for name, _ in _ENTRY_COLUMNS), now) for entry in entries]
    returned = unnest_insert(
        JournalEntry._meta.db_table,
        columns,
        rows,
        extra="ON CONFLICT (source_key) DO NOTHING",
        returning="RETURNING id, source_key",
    )
    return {key: pk for pk, key in returned}


def insert_lines(written: list) -> None:
    """The entries' lines (netted per account and dimensions, as ``journal_entry_post`` writes them)."""
    merged = [(rec.entry, ln) for rec in written for ln in entry_lines(rec.draft)]
    if not merged:
        return
    if connection.vendor != "postgresql":
        JournalLine.objects.bulk_create([JournalLine(entry=entry, **ln) for entry, ln in merged])
        return

    def pk(obj):
        return obj.pk if obj is not None else None

    rows = [
        (
            entry.pk,
            ln["account"].pk,
            ln["debit"],
            ln["credit"],
            pk(ln.get("contract")),
            pk(ln.get("obligation")),
            pk(ln.get("product")),
            ln.get("memo", ""),
        )
        for entry, ln in merged
    ]
    unnest_insert(JournalLine._meta.db_table, _LINE_COLUMNS, rows)


def mark_schedule_lines(marks: list[tuple[int, int]]) -> None:
    """Set ``posted_entry`` of each (schedule line, entry) with one UPDATE."""
    if not marks:
        return
    if connection.vendor != "postgresql":
        for entry_id, group in _group_marks(marks).items():
            ScheduleLine.objects.filter(pk__in=group).update(posted_entry_id=entry_id)
        return
    table = connection.ops.quote_name(ScheduleLine._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS s SET posted_entry_id = u.entry_id "  # noqa: S608
            "FROM unnest(%s::bigint[], %s::bigint[]) AS u (id, entry_id) "
            "WHERE s.id = u.id AND s.posted_entry_id IS NULL",
            [[line for line, _ in marks], [entry for _, entry in marks]],
        )


def _group_marks(marks: list[tuple[int, int]]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for line, entry in marks:
        out[entry].append(line)
    return out
