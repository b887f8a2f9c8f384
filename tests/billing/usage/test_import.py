"""manage.py import_events: NDJSON and CSV through the same service as the API, idempotent."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.models import IngestionBatch, QuarantinedEvent, UsageEvent
from revops.core.models import Job
from tests.billing.usage.conftest import event

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_events", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_ndjson_import_with_summary_progress_and_job(tmp_path, customer, tokens_meter):
    lines = [json.dumps(event(f"nd-{n}", tokens=n + 1)) for n in range(25)]
    lines.insert(10, "{not json")
    lines.append(json.dumps(event("nd-x", customer="ghost")))
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(lines) + "\n")
    out, err = run(str(path), "--batch-size", "7")
    assert "27 events — 25 accepted, 0 duplicates, 2 rejected" in out
    assert "event 10 (no id): event: an event must be a JSON object" in out
    assert "event 26 (nd-x): customer: unknown customer 'ghost'" in out
    assert "[" in err and "100%" in err  # the progress bar
    assert UsageEvent.objects.count() == 25
    assert QuarantinedEvent.objects.filter(payload="{not json").exists()
    assert set(IngestionBatch.objects.values_list("source", flat=True)) == {"import"}
    assert IngestionBatch.objects.count() == 4  # 27 events in batches of 7
    job = Job.objects.get(kind="usage_import")
    assert job.status == "completed" and job.result == {"accepted": 25, "duplicates": 0, "rejected": 2}

    again, _ = run(str(path), "--quiet")
    assert "0 accepted, 25 duplicates" in again
    assert UsageEvent.objects.count() == 25


def test_csv_import_with_property_columns(tmp_path, customer, tokens_meter):
    path = tmp_path / "events.csv"
    path.write_text(
        "transaction_id,customer,code,timestamp,properties.tokens,properties.model\n"
        "c-1,acme,llm_tokens,2026-03-31T16:30:00Z,1500,gpt-large\n"
        "c-2,acme,llm_tokens,2026-03-31T17:30:00+09:00,0.25,gpt-small\n"
        "c-3,acme,llm_tokens,2026-03-31T18:00:00,10,gpt-small\n"
    )
    out, _ = run(str(path))
    assert "3 events — 2 accepted, 0 duplicates, 1 rejected" in out
    assert "timestamp: must include a UTC offset" in out
    stored = dict(UsageEvent.objects.values_list("transaction_id", "properties"))
    assert stored["c-1"] == {"tokens": "1500", "model": "gpt-large"}
    assert str(UsageEvent.objects.get(transaction_id="c-2").value.normalize()) == "0.25"
    out, _ = run(str(path))
    assert "0 accepted, 2 duplicates, 1 rejected" in out
    assert UsageEvent.objects.count() == 2


def test_csv_import_with_a_properties_json_column(tmp_path, customer, tokens_meter):
    path = tmp_path / "events.csv"
    path.write_text(
        'transaction_id,customer,code,timestamp,properties\nj-1,acme,llm_tokens,2026-03-01T00:00:00Z,"{""tokens"": 5}"\n'
    )
    out, _ = run(str(path), "--format", "csv")
    assert "1 accepted" in out
    assert UsageEvent.objects.get().properties == {"tokens": 5}


def test_missing_file_is_a_clear_error():
    with pytest.raises(CommandError, match="Cannot read"):
        run("/nonexistent/events.ndjson")
