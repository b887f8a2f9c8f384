"""The partition beat task is registered under its stable name and safe to run anywhere."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection


def test_beat_runs_the_partition_task_daily():
    from revops.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["usage-ensure-partitions"]
    assert entry["task"] == "billing.ensure_event_partitions"
    app.loader.import_default_modules()
    assert "billing.ensure_event_partitions" in app.tasks


@pytest.mark.django_db
def test_partition_task_is_idempotent():
    from billing.usage.tasks import ensure_event_partitions

    ensure_event_partitions.delay()  # eager in tests: runs here
    assert ensure_event_partitions() == []  # everything exists now (and SQLite has no partitions)
    if connection.vendor == "sqlite":
        assert ensure_event_partitions(months_ahead=6) == []
