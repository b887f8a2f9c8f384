"""Month-end page in a real browser (issue 15 §6): while a revenue run is under way the stage board
polls itself and shows the run's progress; once the run is done the board shows it done and stops
polling — no request to the live partial after that."""

import time

import pytest
from playwright.sync_api import expect

from revops.core.models import Job
from revrec.models import RevenueRun

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

KEY = "2026-10"


def test_the_board_follows_a_running_run_then_stops_polling(login, shot):
    job = Job.objects.create(kind="revenue_run", status="running", progress_done=30, progress_total=120)
    run = RevenueRun.objects.create(period=KEY, status="running", job=job)
    page = login("finance")
    polls: list[float] = []
    page.on("request", lambda r: polls.append(time.monotonic()) if "/month-end/live/" in r.url else None)
    page.goto(f"/compliance/periods/{KEY}/month-end/")
    stage = page.locator("#stage-revenue_run")
    expect(stage.locator(".badge").first).to_have_text("Running")
    expect(stage.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "25")
    with page.expect_request(lambda r: "/month-end/live/" in r.url):
        pass  # the board asks for itself again
    shot("running")

    Job.objects.filter(pk=job.pk).update(status="completed", progress_done=120)
    RevenueRun.objects.filter(pk=run.pk).update(status="completed", entries_created=120)
    # No billing run yet: a finished revenue run waits for the stages before it (never a green tick
    # over work not done), and nothing runs any more.
    expect(stage.locator(".badge").first).to_have_text("Waiting")
    expect(page.locator("#month-end-board")).to_have_attribute("data-running", "false")
    settled = len(polls)
    page.wait_for_timeout(5_000)  # more than two polling intervals
    assert len(polls) == settled, "the board kept polling after the run was done"
    shot("done")
