"""The usage explorer as a list (issue 16 §5): date-range presets, a day that opens its events, a CSV
of the days shown, and filter changes that replace the browser's history entry."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from billing.usage.ingest import ingest_events
from billing.views.usage import date_presets
from tests.billing.usage.conftest import event

pytestmark = pytest.mark.django_db


def test_presets_are_whole_ranges_end_exclusive():
    presets = {key: (start, end) for key, _, start, end in date_presets(date(2026, 5, 20))}
    assert presets == {
        "last30": (date(2026, 4, 21), date(2026, 5, 21)),
        "this_month": (date(2026, 5, 1), date(2026, 6, 1)),
        "last_month": (date(2026, 4, 1), date(2026, 5, 1)),
        "quarter": (date(2026, 4, 1), date(2026, 7, 1)),
    }
    assert dict((k, (s, e)) for k, _, s, e in date_presets(date(2026, 1, 3)))["last_month"] == (
        date(2025, 12, 1),
        date(2026, 1, 1),
    )


def _at(day: date, hour: int) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


@pytest.fixture
def used(customer, tokens_meter):
    ingest_events(
        events=[
            event("d1-a", ts=_at(date(2026, 5, 3), 9), tokens="1200.5", model="gpt", token_type="input"),
            event("d1-b", ts=_at(date(2026, 5, 3), 17), tokens=34, model="=mini", token_type="input"),
            event("d2-a", ts=_at(date(2026, 5, 4), 1), tokens=7, model="gpt", token_type="input"),
        ],
        source="api",
    )


def test_a_day_opens_its_events_and_the_csv_is_the_days_shown(ui_for, used):
    client = ui_for("finance")
    query = {"customer": "acme", "meter": "llm_tokens", "start": "2026-05-01", "end": "2026-06-01"}
    html = client.get("/usage/", query).content.decode()
    assert 'hx-replace-url="true"' in html and "hx-push-url" not in html
    assert 'data-preset="last30"' in html and 'data-day="2026-05-03"' in html
    opened = client.get("/usage/", {**query, "day": "2026-05-03"}).content.decode()
    assert 'id="day-events"' in opened and "d1-a" in opened and "d1-b" in opened and "d2-a" not in opened
    assert "2 events" in opened
    response = client.get("/usage/", {**query, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 31 and rows[2] == {"date": "2026-05-03", "value": "1234.5"}
    assert rows[3] == {"date": "2026-05-04", "value": "7"}


def test_a_day_outside_the_range_opens_nothing(ui_for, used):
    client = ui_for("finance")
    query = {"customer": "acme", "meter": "llm_tokens", "start": "2026-05-01", "end": "2026-05-02"}
    html = client.get("/usage/", {**query, "day": "2026-05-03"}).content.decode()
    assert 'id="day-events"' not in html
    assert (
        client.get(
            "/usage/", {**query, "day": (date(2026, 5, 1) - timedelta(days=1)).isoformat()}
        ).status_code
        == 200
    )
