"""The task-enqueue seam: the one way services send work to Celery.

A service names a task by its stable Celery name (``name=`` on the task), so no service imports a task
module and no import circle runs between services and tasks: task modules import services (inside the
task body), services never import tasks. Work is sent only once the service's transaction commits
(house-style: side effects only ``on_commit``; a worker must never look for a row that is not there
yet), and a broker that is down never fails the request that recorded the work: the error is logged
and the beat job that owns the work (the stalled-run resumer, the webhook sweeper, the outbox catch-up)
sends it again.
"""

from __future__ import annotations

import logging
from functools import partial

from celery import Task
from django.db import transaction

log = logging.getLogger(__name__)


def task_named(task: str | Task) -> Task:
    """The registered task of that name (task modules are imported on first use, as a worker does)."""
    if not isinstance(task, str):
        return task
    from revops.celery import app

    if task not in app.tasks:
        app.loader.import_default_modules()  # autodiscovery and CELERY_IMPORTS
    return app.tasks[task]


def enqueue(task: str | Task, *args, countdown: int | None = None, **kwargs) -> bool:
    """Send ``task(*args, **kwargs)`` now; ``countdown`` seconds later if given. Returns whether the
    broker took it. A broker error is logged, never raised: the beat job that owns the work resends it."""
    target = task_named(task)
    try:
        if countdown is None:
            target.delay(*args, **kwargs)
        else:
            options = {"args": list(args), "countdown": countdown}
            target.apply_async(**options, **({"kwargs": kwargs} if kwargs else {}))
    except Exception:  # noqa: BLE001 - a broker outage must not fail what recorded the work
        log.warning(
            "Could not queue %s%s; the beat job that owns it will send it again.",
            target.name,
            args,
            exc_info=True,
        )
        return False
    return True


def enqueue_on_commit(task: str | Task, *args, countdown: int | None = None, **kwargs) -> None:
    """:func:`enqueue` once the current transaction commits (at once outside a transaction); nothing is
    sent if it rolls back."""
    transaction.on_commit(partial(enqueue, task, *args, countdown=countdown, **kwargs))
