"""Concord project package: settings, the shared kernel and the contracts app."""

from .celery import app as celery_app

__all__ = ["celery_app"]
