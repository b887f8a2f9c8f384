"""Checks run by themselves after every billing run, revenue run and amendment (outbox topics), and
nightly (beat). The run is queued after the triggering transaction commits."""

from revops.core.enqueue import enqueue_on_commit
from revops.core.models import OutboxEvent

TOPICS = ("billing_run.completed", "revenue_run.completed", "contract.amended", "contract.terminated")


def handle(event: OutboxEvent) -> None:
    enqueue_on_commit("compliance.run_checks", event.topic.split(".")[0])
