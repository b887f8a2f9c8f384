"""The posting period's lock (revrec.services.periods.lock_posting_period) on PostgreSQL: postings into
one period hold it shared, so two workers' batches post side by side; a close (``FOR UPDATE``) waits
for every posting holding it, and a posting that waited for a close reads the period as closed and
posts into the next open one."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from revrec.models import AccountingPeriod
from revrec.services.periods import ensure_period, lock_posting_period, next_key, period_key

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _lock_timeout(ms: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{ms}ms'")


def _holding(work, holding: threading.Event, release: threading.Event) -> threading.Thread:
    """Run ``work`` in its own transaction on another connection, keep it open until ``release``."""

    def run():
        try:
            with transaction.atomic():
                work()
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert holding.wait(30)
    return thread


def test_postings_share_the_period_and_a_close_waits_for_them():
    day = timezone.localdate()
    key = period_key(day)
    ensure_period(key)
    holding, release = threading.Event(), threading.Event()
    thread = _holding(lambda: lock_posting_period(day), holding, release)  # another worker's batch
    try:
        with transaction.atomic():
            _lock_timeout(2000)
            period, correction_for = lock_posting_period(day)  # does not wait for the other posting
            assert (period.period, period.status, correction_for) == (key, "open", "")
        with pytest.raises(OperationalError), transaction.atomic():
            _lock_timeout(300)
            AccountingPeriod.objects.select_for_update().get(period=key)  # the close's lock waits
    finally:
        release.set()
        thread.join(30)
    with transaction.atomic():
        _lock_timeout(2000)
        assert AccountingPeriod.objects.select_for_update().get(period=key).status == "open"


def test_a_posting_waits_for_a_close_under_way_and_posts_into_the_next_period():
    day = timezone.localdate()
    key = period_key(day)
    ensure_period(key)
    holding, release = threading.Event(), threading.Event()

    def close():
        period = AccountingPeriod.objects.select_for_update().get(period=key)
        period.status = AccountingPeriod.Status.CLOSED
        period.save(update_fields=["status"])

    thread = _holding(close, holding, release)
    threading.Timer(0.5, release.set).start()  # the close commits while the posting waits
    try:
        started = time.monotonic()
        with transaction.atomic():
            period, correction_for = lock_posting_period(day)
        assert time.monotonic() - started >= 0.4
    finally:
        release.set()
        thread.join(30)
    assert (period.period, period.status, correction_for) == (next_key(key), "open", key)
