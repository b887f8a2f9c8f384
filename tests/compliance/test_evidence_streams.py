"""The evidence pack streams (issue 15 §5): each file is written into the zip as it is read from the
database, so the memory a pack takes does not grow with the period's journal; the manifest still
verifies every file, and a download is streamed back from a file."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
import tracemalloc
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from compliance.evidence import evidence_pack_manifest, evidence_pack_write

pytestmark = pytest.mark.django_db

PERIOD = "2026-03"


def _post_entries(count: int, start: int) -> None:
    """``count`` balanced journal entries in March (a debit and a credit line each), written in bulk."""
    from revrec.models import Account, JournalEntry, JournalLine
    from revrec.services.ledger import ensure_chart

    ensure_chart()
    ar, revenue = Account.objects.get(role="ar"), Account.objects.get(role="revenue")
    entries = JournalEntry.objects.bulk_create(
        JournalEntry(
            date=date(2026, 3, 15),
            period=PERIOD,
            source="correction",
            source_type="test",
            source_id=str(n),
            source_key=f"stream-{n}",
            memo=f"Streamed entry {n} with a memo long enough to weigh something in memory",
            currency="USD",
        )
        for n in range(start, start + count)
    )
    JournalLine.objects.bulk_create(
        line
        for entry in entries
        for line in (
            JournalLine(entry=entry, account=ar, debit=Decimal("12.34")),
            JournalLine(entry=entry, account=revenue, credit=Decimal("12.34")),
        )
    )


def _peak_writing_pack() -> tuple[int, dict]:
    with tempfile.TemporaryFile() as out:
        tracemalloc.start()
        try:
            manifest = evidence_pack_write(period=PERIOD, out=out)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        out.seek(0)
        _verify(zipfile.ZipFile(out), manifest)
    return peak, manifest


def _verify(archive: zipfile.ZipFile, manifest: dict) -> None:
    """``sha256sum -c MANIFEST.sha256`` and the manifest's sizes and row counts, by hand."""
    sums = archive.read("MANIFEST.sha256").decode().splitlines()
    assert [line.split("  ", 1)[1] for line in sums] == list(manifest["files"])
    for line in sums:
        digest, name = line.split("  ", 1)
        data = archive.read(name)
        assert hashlib.sha256(data).hexdigest() == digest == manifest["files"][name]["sha256"], name
        assert len(data) == manifest["files"][name]["bytes"], name
        if name.endswith(".csv"):
            assert manifest["files"][name]["rows"] == len(list(csv.reader(io.StringIO(data.decode())))) - 1


def test_pack_memory_does_not_grow_with_the_journal():
    _post_entries(1_000, 0)
    small, small_manifest = _peak_writing_pack()
    _post_entries(9_000, 1_000)
    large, large_manifest = _peak_writing_pack()

    journal = large_manifest["files"]["journal_entries.csv"]
    assert small_manifest["files"]["journal_entries.csv"]["rows"] == 2_000
    assert journal["rows"] == 20_000 and journal["controls"]["entries"] == 10_000
    assert journal["controls"]["debits"] == journal["controls"]["credits"] == "123400.0000"
    assert journal["bytes"] > 9 * small_manifest["files"]["journal_entries.csv"]["bytes"]
    # Ten times the journal, not ten times the memory: the peak is one chunk of rows, not the file.
    assert large < 2 * small, (small, large)


def test_the_preview_manifest_hashes_the_same_bytes_as_the_zip():
    _post_entries(50, 0)
    with tempfile.TemporaryFile() as out:
        written = evidence_pack_write(period=PERIOD, out=out)
    preview = evidence_pack_manifest(period=PERIOD)
    stable = {name for name in written["files"] if name not in ("policy.json", "audit_checkpoints.json")}
    assert {n: written["files"][n] for n in stable} == {n: preview["files"][n] for n in stable}


def test_download_streams_the_pack_from_a_file_and_audits_its_hashes(api_for):
    from django.http import FileResponse

    from revops.core.audit.models import AuditEvent

    _post_entries(20, 0)
    response = api_for("auditor").get(f"/api/v1/evidence?period={PERIOD}")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert isinstance(response, FileResponse) and response.streaming
    assert response["Content-Disposition"] == f'attachment; filename="concord-evidence-{PERIOD}.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    manifest = json.loads(archive.read("manifest.json"))
    _verify(archive, manifest)
    audited = AuditEvent.objects.filter(action="evidence.downloaded").latest("seq")
    assert audited.changes["files"] == {k: v["sha256"] for k, v in manifest["files"].items()}
