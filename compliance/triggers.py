"""Checks run by themselves after every billing run, revenue run and amendment (outbox topics), and
nightly (beat). The run is queued after the triggering transaction commits."""

from django.db import transaction

from revops.core.models import OutboxEvent

TOPICS = ("billing_run.completed", "revenue_run.completed", "contract.amended", "contract.terminated")


def handle(event: OutboxEvent) -> None:
    from compliance.tasks import run_checks

    trigger = event.topic.split(".")[0]
    transaction.on_commit(lambda: run_checks.delay(trigger))
