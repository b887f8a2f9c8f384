"""The Celery application.

Reliability settings follow Celery's own guidance for work that must not be lost: acknowledge late,
re-queue when a worker dies, fetch one task at a time, JSON only. Without a broker (the quick start)
tasks run in-process (``task_always_eager``) so nothing else has to be installed.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings.base")

app = Celery("revops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _in_memory_transport_when_eager(sender, **kwargs) -> None:
    """Eager tasks still take a producer from the pool (Celery's apply_async); with no broker configured
    kombu would build an AMQP connection object for 'localhost' (never opened, but logged). The
    in-memory transport is what an in-process run means."""
    if sender.conf.task_always_eager and not sender.conf.broker_url:
        sender.conf.broker_url = "memory://localhost/"
