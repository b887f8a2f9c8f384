"""Celery discovers billing's tasks here; each feature keeps its own tasks module."""

from billing.invoicing.tasks import *  # noqa: F403
from billing.invoicing.tasks import plan_billing_run, work_billing_run  # noqa: F401
from billing.usage.tasks import *  # noqa: F403
from billing.webhooks.tasks import *  # noqa: F403
