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


COALESCE_TTL_SECONDS = 300  # a lost flag only delays the work until its beat job runs


def _flags():
    """The broker's Redis (one client per process), or None when tasks run in-process (nothing waits in
    a queue: the task runs as it is sent) or the broker is not Redis: then every request is sent, as
    :func:`enqueue_on_commit` does."""
    from django.conf import settings

    from revops.celery import app

    url = settings.CELERY_BROKER_URL or ""
    if app.conf.task_always_eager or not url.startswith(("redis://", "rediss://")):
        return None
    global _client
    if _client is None or _client[0] != url:
        import redis

        _client = (url, redis.Redis.from_url(url))
    return _client[1]


_client: tuple | None = None


def _flag_key(task: Task) -> str:
    """Per queue: the workers of one queue (a deployment, or a test's private queue) share the flag."""
    from revops.celery import app

    return f"concord:queued:{app.conf.task_default_queue}:{task.name}"


def enqueue_coalesced_on_commit(task: str | Task) -> None:
    """Queue an argument-less sweep task (one that reads its work from the database, e.g. the outbox
    dispatch) once the transaction commits — unless one is already queued and has not started: that one
    will read this transaction's rows when it starts. A month end that commits 2,000 finalization
    batches queues one dispatch, not 2,000 that each scan the outbox. The task calls
    :func:`coalesced_task_started` first thing, so rows committed after it started queue a new one."""
    target = task_named(task)

    def send() -> None:
        flags = _flags()
        try:
            if flags is not None and not flags.set(_flag_key(target), 1, nx=True, ex=COALESCE_TTL_SECONDS):
                return
        except Exception:  # noqa: BLE001 - no flag store: queue it, as without coalescing
            log.warning("Could not read the queued flag of %s; queueing it.", target.name, exc_info=True)
        enqueue(target)

    transaction.on_commit(send)


def coalesced_task_started(task: str | Task) -> None:
    """Clear the queued flag of a coalesced task as it starts (before it reads its work)."""
    flags = _flags()
    if flags is None:
        return
    try:
        flags.delete(_flag_key(task_named(task)))
    except Exception:  # noqa: BLE001 - the flag expires by itself
        log.warning("Could not clear the queued flag of %s.", task, exc_info=True)
