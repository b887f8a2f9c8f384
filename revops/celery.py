"""The Celery application.

Reliability settings follow Celery's own guidance for work that must not be lost: acknowledge late,
re-queue when a worker dies, fetch one task at a time, JSON only. Without a broker (the quick start)
tasks run in-process (``task_always_eager``) so nothing else has to be installed.
"""

import os

from celery import Celery
from celery.signals import celeryd_after_setup

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


def documents_queue(default_queue: str) -> str:
    """The queue of background delivery work (customer documents) next to a default queue."""
    return f"{default_queue}.documents"


def route_task(name, args, kwargs, options, task=None, **kw):
    """Task router (``CELERY_TASK_ROUTES``): the tasks named in ``settings.DOCUMENT_TASKS`` go to the
    documents queue of the current default queue; every other task to the default queue."""
    from django.conf import settings

    if name in settings.DOCUMENT_TASKS:
        return {"queue": documents_queue(app.conf.task_default_queue)}
    return None


@celeryd_after_setup.connect
def _consume_documents_after_default(sender, instance, **kwargs) -> None:
    """Every worker also consumes the documents queue, after the queues it was started with: with the
    broker's ``queue_order_strategy = "priority"`` a worker takes a document task only when its
    default queue is empty, so renders never hold up finalization, billing or revenue-run work."""
    instance.app.amqp.queues.select_add(documents_queue(instance.app.conf.task_default_queue))
