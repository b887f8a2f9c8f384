"""Celery discovers billing's tasks here; each feature keeps its own tasks module."""

from billing.usage.tasks import *  # noqa: F403
